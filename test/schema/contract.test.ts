import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLNamedType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema/index.js';

/** The names the GraphQL contract fixes; clients depend on them. */
describe('the GraphQL contract', () => {
  const type = (name: string): GraphQLNamedType => {
    const t = schema.getType(name);
    if (t === undefined || t === null) throw new Error(`missing type ${name}`);
    return t;
  };

  it('has the fixed enums in order', () => {
    const values = (name: string) => {
      const t = type(name);
      if (!isEnumType(t)) throw new Error(`${name} is not an enum`);
      return t.getValues().map((v) => v.name);
    };
    expect(values('EventType')).toEqual([
      'RUNNER_STARTED', 'RUNNER_STOPPED', 'TICK_RECEIVED', 'STATE_TRANSITION', 'ACTION_EXECUTED',
      'POSITION_OPENED', 'POSITION_UPDATED', 'POSITION_CLOSED', 'ERROR', 'STATS_UPDATE',
    ]);
    expect(values('ErrorSeverity')).toEqual(['WARNING', 'ERROR', 'CRITICAL']);
    expect(type('Timestamp').constructor.name).toBe('GraphQLScalarType');
  });

  it('has the Event interface, the ten members and the RunnerEvent union', () => {
    const event = type('Event');
    if (!isInterfaceType(event)) throw new Error('Event is not an interface');
    expect(Object.fromEntries(Object.entries(event.getFields()).map(([k, f]) => [k, String(f.type)]))).toEqual({
      id: 'ID!', runnerId: 'ID!', timestamp: 'Timestamp!', type: 'EventType!', snapshot: 'Boolean!',
    });
    const union = type('RunnerEvent');
    if (!isUnionType(union)) throw new Error('RunnerEvent is not a union');
    const members = union.getTypes().map((t) => t.name).sort();
    const events = [
      'ActionExecuted', 'PositionClosed', 'PositionOpened', 'PositionUpdated', 'RunnerError',
      'RunnerStarted', 'RunnerStopped', 'StateTransition', 'StatsUpdate', 'TickReceived',
    ];
    // The ten runner events implement Event; the stream notice (StreamGap) is the one other member.
    expect(members).toEqual([...events, 'StreamGap'].sort());
    for (const member of union.getTypes()) {
      if (events.includes(member.name)) expect(member.getInterfaces().map((i) => i.name)).toContain('Event');
    }
  });

  it('has Subscription.events, Query.runners/runner and the mutations with the fixed signatures', () => {
    const events = schema.getSubscriptionType()?.getFields()['events'];
    expect(String(events?.type)).toBe('RunnerEvent!');
    expect(Object.fromEntries(events!.args.map((a) => [a.name, String(a.type)]))).toMatchObject({
      runnerIds: '[ID!]', symbols: '[String!]', types: '[EventType!]', minSeverity: 'ErrorSeverity',
    });
    // Everything added around the fixed arguments is optional, so old clients keep working.
    expect(events!.args.every((a) => !isNonNullType(a.type))).toBe(true);
    const query = schema.getQueryType()!.getFields();
    expect(String(query['runners']?.type)).toBe('[Runner!]!');
    expect(String(query['runner']?.type)).toBe('Runner');
    expect(query['runner']?.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual(['id: ID!']);
    const mutation = schema.getMutationType()!.getFields();
    expect(mutation['startRunner']?.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual(['input: StartRunnerInput!']);
    expect(String(mutation['startRunner']?.type)).toBe('Runner!');
    expect(mutation['stopRunner']?.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual(['id: ID!', 'reason: String']);
    expect(String(mutation['stopRunner']?.type)).toBe('Runner!');
    const input = type('StartRunnerInput');
    if (!isInputObjectType(input)) throw new Error('StartRunnerInput is not an input');
    const required = Object.values(input.getFields()).filter((f) => isNonNullType(f.type)).map((f) => f.name);
    expect(required.sort()).toEqual(['id', 'symbol']);
  });

  it('describes every type, field, argument and enum value (GraphiQL shows them)', () => {
    const missing: string[] = [];
    for (const t of Object.values(schema.getTypeMap())) {
      if (t.name.startsWith('__') || ['String', 'Boolean', 'Int', 'Float', 'ID'].includes(t.name)) continue;
      if (!t.description) missing.push(t.name);
      if (isObjectType(t) || isInterfaceType(t) || isInputObjectType(t)) {
        for (const f of Object.values(t.getFields())) {
          if (!f.description) missing.push(`${t.name}.${f.name}`);
          if ('args' in f) for (const a of f.args) if (!a.description) missing.push(`${t.name}.${f.name}(${a.name})`);
        }
      }
      if (isEnumType(t)) for (const v of t.getValues()) if (!v.description) missing.push(`${t.name}.${v.name}`);
    }
    expect(missing).toEqual([]);
  });
});
