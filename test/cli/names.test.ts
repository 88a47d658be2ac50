import { spawnSync } from 'node:child_process';
import { GraphQLEnumType, GraphQLUnionType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseTailArgs, TAIL_HELP, UsageError } from '../../src/cli/args.js';
import { EVENT_NAMES, EVENT_TYPE_VALUES, parseEventType, parseSeverity } from '../../src/cli/names.js';
import { EVENT_VARIANTS } from '../../src/events/types.js';
import { EVENT_TYPE_NAMES } from '../../src/graphql/schema/enums.js';
import { GRAPHQL_TYPE_NAMES } from '../../src/graphql/schema/events.js';
import { schema } from '../../src/graphql/schema/index.js';

// Read from the schema the server serves, so that a type added there without a name here fails.
const eventTypeEnum = schema.getType('EventType');
const severityEnum = schema.getType('ErrorSeverity');
const eventUnion = schema.getType('RunnerEvent');

describe('the names of event types a user may type', () => {
  it('reads the schema it checks against', () => {
    expect(eventTypeEnum).toBeInstanceOf(GraphQLEnumType);
    expect(severityEnum).toBeInstanceOf(GraphQLEnumType);
    expect(eventUnion).toBeInstanceOf(GraphQLUnionType);
  });

  it('accepts every EventType value of the schema, in any case, as itself', () => {
    const values = (eventTypeEnum as GraphQLEnumType).getValues().map((v) => v.name);
    expect([...EVENT_TYPE_VALUES].sort()).toEqual([...values].sort());
    for (const value of values) {
      expect(parseEventType(value)).toBe(value);
      expect(parseEventType(value.toLowerCase())).toBe(value);
    }
  });

  it('accepts every GraphQL type name of the RunnerEvent union and every wire variant, mapped to its EventType', () => {
    const members = (eventUnion as GraphQLUnionType).getTypes().map((t) => t.name).filter((name) => name !== 'StreamGap');
    expect(members.sort()).toEqual(Object.values(GRAPHQL_TYPE_NAMES).sort());
    for (const variant of EVENT_VARIANTS) {
      const type = EVENT_TYPE_NAMES[variant];
      expect(parseEventType(variant)).toBe(type);
      expect(parseEventType(GRAPHQL_TYPE_NAMES[variant])).toBe(type);
      expect(parseEventType(GRAPHQL_TYPE_NAMES[variant].toUpperCase())).toBe(type);
    }
  });

  it.each([
    ['ERROR', 'ERROR'],
    ['error', 'ERROR'],
    ['Error', 'ERROR'],
    ['RunnerError', 'ERROR'],
    ['RUNNER_ERROR', 'ERROR'],
    ['runner_error', 'ERROR'],
    ['runner-error', 'ERROR'],
    ['TickReceived', 'TICK_RECEIVED'],
    ['tick_received', 'TICK_RECEIVED'],
    ['STATS_UPDATE', 'STATS_UPDATE'],
  ])('maps %s to %s', (name, type) => {
    expect(parseEventType(name)).toBe(type);
  });

  it.each(['TICKS', 'ERRORS', 'Gap', 'StreamGap', ''])('knows no event type %j', (name) => {
    expect(parseEventType(name)).toBeUndefined();
  });

  it('accepts every ErrorSeverity of the schema in any case, and nothing else', () => {
    for (const { name } of (severityEnum as GraphQLEnumType).getValues()) {
      expect(parseSeverity(name)).toBe(name);
      expect(parseSeverity(name.toLowerCase())).toBe(name);
    }
    expect(parseSeverity('Critical')).toBe('CRITICAL');
    expect(parseSeverity('loud')).toBeUndefined();
  });

  it('tail --type takes every name, and a name it does not know is a usage error listing what it takes', () => {
    expect(parseTailArgs(['--type', 'RunnerError', '--type', 'Error', '--type', 'RUNNER_ERROR', '--type', 'tickreceived'], {}).types).toEqual(['ERROR', 'TICK_RECEIVED']);
    expect(parseTailArgs(['--min-severity', 'Warning'], {}).minSeverity).toBe('WARNING');
    expect(() => parseTailArgs(['--type', 'TICKS'], {})).toThrow(UsageError);
    expect(() => parseTailArgs(['--type', 'TICKS'], {})).toThrow(/--type TICKS: unknown event type; accepted: RUNNER_STARTED, .*STATS_UPDATE; or the GraphQL type names \(.*RunnerError.*\), the wire name Error, RUNNER_ERROR, or the word tail prints \(.*stats\)/);
    expect(() => parseTailArgs(['--min-severity', 'loud'], {})).toThrow(/--min-severity loud: unknown severity; accepted: WARNING, ERROR, CRITICAL/);
  });

  it('tail --type takes back the word tail prints before each event (tick, stats, error…)', () => {
    for (const { type, label } of Object.values(EVENT_NAMES)) expect(parseEventType(label), label).toBe(type);
    expect(parseTailArgs(['--type', 'stats', '--type', 'tick'], {}).types).toEqual(['STATS_UPDATE', 'TICK_RECEIVED']);
    expect(TAIL_HELP).toMatch(/stats/);
  });

  it('tail --min-severity alone asks for runner errors only; with --type, the types given', () => {
    // The server applies minSeverity to RunnerError and passes every other type: alone, it
    // would print every tick, which is not what anyone asking for errors means.
    expect(parseTailArgs(['--min-severity', 'ERROR'], {}).types).toEqual(['ERROR']);
    expect(parseTailArgs(['--min-severity', 'ERROR', '--type', 'tick', '--type', 'error'], {}).types).toEqual(['TICK_RECEIVED', 'ERROR']);
    expect(parseTailArgs([], {}).types).toBeUndefined();
  });

  it('tail --help names what --type accepts, RUNNER_ERROR included, and no name it would refuse', () => {
    for (const value of EVENT_TYPE_VALUES) expect(TAIL_HELP).toContain(value);
    expect(TAIL_HELP).toMatch(/RunnerError/);
    expect(TAIL_HELP).toMatch(/RUNNER_ERROR/);
    // Every upper-case word of the help's --type and --min-severity entries is a name they accept.
    const entries = TAIL_HELP.slice(TAIL_HELP.indexOf('--type'), TAIL_HELP.indexOf('--throttle'));
    for (const word of entries.match(/\b[A-Z][A-Z_]{2,}\b/g) ?? []) {
      expect(parseEventType(word) ?? parseSeverity(word), word).toBeDefined();
    }
  });

  it('exits 2 with the accepted names for an unknown --type, from npx tickwire', () => {
    const result = spawnSync(process.execPath, ['bin/tickwire.mjs', 'tail', '--type', 'RUNNER_ERRORS'], { encoding: 'utf8', timeout: 15_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/tickwire: --type RUNNER_ERRORS: unknown event type; accepted: .*RUNNER_ERROR/);
  });
});
