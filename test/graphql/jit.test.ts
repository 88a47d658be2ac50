import fc from 'fast-check';
import {
  execute,
  getNamedType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  isUnionType,
  parse,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLField,
  type GraphQLNamedType,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { schema, type SchemaContext } from '../../src/graphql/schema/index.js';
import { COMPILE_AFTER, EventExecutor, loadCompiler, MAX_COMPILED_CHARS } from '../../src/graphql/jit.js';

// Compilation unbounded by time here, so that what is compiled does not depend on this machine's speed.
const executor = new EventExecutor({ budgetMs: Number.POSITIVE_INFINITY });
const executeEvent = (args: ExecutionArgs) => executor.execute(args);
const jitStats = executor.stats;
import { maskError } from '../../src/graphql/errors.js';
import { OPEN_PRINCIPAL } from '../../src/graphql/auth.js';
import { gapNotice, type StreamItem } from '../../src/log/types.js';
import type { EventBatch } from '../../src/delivery/batch.js';
import { eventArb, sampleEvents } from '../events/fixtures.js';

/** Every field reachable from `type` that takes no required argument, each object and union member expanded. */
function selectionOf(type: GraphQLNamedType, depth = 0): string {
  if (isLeafType(type)) return '';
  if (depth > 4) return '{ __typename }';
  if (isUnionType(type) || isInterfaceType(type)) {
    const members = isUnionType(type) ? type.getTypes() : schema.getPossibleTypes(type);
    return `{ __typename ${members.map((m) => `... on ${m.name} ${selectionOf(m, depth + 1)}`).join(' ')} }`;
  }
  if (!isObjectType(type)) return '';
  const fields = Object.values(type.getFields()).filter((f: GraphQLField<unknown, unknown>) => f.args.every((a) => a.defaultValue !== undefined || !a.type.toString().endsWith('!')));
  return `{ __typename ${fields.map((f) => `${f.name} ${selectionOf(getNamedType(f.type), depth + 1)}`).join(' ')} }`;
}

const eventType = getNamedType(schema.getSubscriptionType()!.getFields()['events']!.type);
const batchType = getNamedType(schema.getSubscriptionType()!.getFields()['eventBatches']!.type);
// One document per member of the union (each short enough to be compiled): every field,
// plus aliases, a fragment and directives fed by variables.
const members = isUnionType(eventType) ? eventType.getTypes() : [];
const memberDocument = (member: string, selection: string): DocumentNode =>
  parse(`
    subscription Every($withData: Boolean!, $skipId: Boolean = false) {
      events { __typename ... on ${member} ${selection} }
      again: events { ...Tick ... on Event { when: timestamp id @skip(if: $skipId) } }
    }
    fragment Tick on TickReceived { data @include(if: $withData) { c: close } symbol }
  `);
const documents = (): DocumentNode[] => members.map((m) => memberDocument(m.name, selectionOf(m, 1)));
const batchesDocument = (): DocumentNode =>
  parse(`subscription Batches { eventBatches { firstId lastId dropped items { __typename ... on TickReceived { id symbol data { close } } ... on StreamGap { missed reason } } } }`);

const context = { principal: OPEN_PRINCIPAL } as unknown as SchemaContext;

/** The JSON a group sends: errors masked as the delivery core masks them. */
function wire(result: ExecutionResult): unknown {
  const errors = result.errors?.map((e) => maskError(e, 'Unexpected error.', false));
  return JSON.parse(JSON.stringify(errors === undefined ? result : { ...result, errors }));
}

async function both(document: DocumentNode, rootValue: unknown, variableValues: Record<string, unknown>): Promise<[unknown, unknown]> {
  const args: ExecutionArgs = { schema, document, rootValue, contextValue: context, variableValues };
  const interpreted = wire(await execute(args));
  const compiled = wire(await executeEvent(args));
  return [interpreted, compiled];
}

/** Runs a document past the threshold so that `executeEvent` uses its compiled form. */
async function warm(document: DocumentNode, rootValue: unknown, variableValues: Record<string, unknown>): Promise<void> {
  const before = jitStats.compiled;
  for (let i = 0; i <= COMPILE_AFTER; i++) await executeEvent({ schema, document, rootValue, contextValue: context, variableValues });
  expect(jitStats.compiled, 'the document was compiled').toBe(before + 1);
}

const entries = (): StreamItem[] => [
  ...sampleEvents().map((event, i) => ({ id: i + 1, symbol: 'symbol' in event ? event.symbol : 'BTCUSDT', event })),
  { id: 99, symbol: 'BTCUSDT', event: sampleEvents()[2]!, snapshot: true } as StreamItem,
  gapNotice({ missed: 3, reason: 'slow subscriber', fromId: 4, toId: 6, timestamp: 1_700_000_000_000 }),
];

describe('loading graphql-jit', () => {
  it('waits for the first hot document, and compiles it once loaded', async () => {
    const lazy = new EventExecutor({ budgetMs: Number.POSITIVE_INFINITY });
    const document = parse('subscription Lazy { events { ... on Event { id } } }');
    const args = { schema, document, rootValue: entries()[0], contextValue: context };
    for (let i = 0; i <= COMPILE_AFTER; i++) await lazy.execute(args);
    expect(lazy.stats.compiled, 'not loaded before a document was hot').toBe(0);
    await loadCompiler();
    await lazy.execute(args);
    expect(lazy.stats.compiled).toBe(1);
  });
});

describe('compiled execution of subscription events (graphql-jit)', () => {
  // graphql-jit is loaded when the first document gets hot; here, before any.
  beforeAll(() => loadCompiler());

  it('starts with graphql-js and compiles a document once it has run its threshold', async () => {
    const document = parse('subscription Threshold { events { ... on Event { id } } }');
    const before = jitStats.compiled;
    const item = entries()[0]!;
    for (let i = 0; i < COMPILE_AFTER; i++) await executeEvent({ schema, document, rootValue: item, contextValue: context });
    expect(jitStats.compiled).toBe(before);
    await executeEvent({ schema, document, rootValue: item, contextValue: context });
    expect(jitStats.compiled).toBe(before + 1);
  });

  it('sends what graphql-js sends for every variant, field, notice and directive', async () => {
    expect(members.length, 'the union has its ten variants and StreamGap').toBe(11);
    for (const document of documents()) {
      expect(document.loc!.end, 'short enough to be compiled').toBeLessThanOrEqual(MAX_COMPILED_CHARS);
      await warm(document, entries()[0], { withData: true });
      for (const item of entries()) {
        for (const variables of [{ withData: true }, { withData: false, skipId: true }]) {
          const [interpreted, compiled] = await both(document, item, variables);
          expect(compiled).toEqual(interpreted);
        }
      }
    }
  });

  it('sends what graphql-js sends for batches', async () => {
    const items = entries();
    const batch: EventBatch = { kind: 'batch', items, firstId: 1, lastId: 99, dropped: 3 };
    const BATCHES = batchesDocument();
    await warm(BATCHES, batch, {});
    const [interpreted, compiled] = await both(BATCHES, batch, {});
    expect(compiled).toEqual(interpreted);
  });

  it('reports the same errors, masked, where a value cannot be sent', async () => {
    const EVENTS = memberDocument('TickReceived', selectionOf(members.find((m) => m.name === 'TickReceived')!, 1));
    await warm(EVENTS, entries()[0], { withData: true });
    const tick = sampleEvents()[2] as Extract<ReturnType<typeof sampleEvents>[number], { type: 'TickReceived' }>;
    const broken: unknown[] = [
      { id: 7, symbol: 'BTCUSDT', event: { ...tick, data: { ...tick.data, close: Number.NaN } } },
      { id: 8, symbol: 'BTCUSDT', event: { ...tick, timestamp: Number.POSITIVE_INFINITY, runnerId: undefined } },
      { id: 9, symbol: 'BTCUSDT', event: { type: 'NoSuchEvent', runnerId: 'x', timestamp: 1 } },
    ];
    let errors = 0;
    for (const item of broken) {
      const [interpreted, compiled] = await both(EVENTS, item, { withData: true });
      errors += ((interpreted as ExecutionResult).errors ?? []).length;
      expect(compiled).toEqual(interpreted);
    }
    expect(errors, 'the broken events were errors').toBeGreaterThanOrEqual(3);
  });

  it('leaves a document too long to compile to graphql-js, and compiles no more than its budget allows at once', async () => {
    const item = entries()[2]!;
    const long = parse(`subscription Long { ${Array.from({ length: 60 }, (_, i) => `a${i}: events { ... on Event { id } }`).join(' ')} }`);
    expect(long.loc!.end).toBeGreaterThan(MAX_COMPILED_CHARS);
    const before = jitStats.compiled;
    for (let i = 0; i <= COMPILE_AFTER * 2; i++) await executeEvent({ schema, document: long, rootValue: item, contextValue: context });
    expect(jitStats.compiled).toBe(before);
    // Many distinct documents, each hot at once: the window's budget (a tenth of a
    // millisecond here, in a window longer than this test) stops the compiling after the
    // first, and they still run, each on graphql-js.
    const budgeted = new EventExecutor({ budgetMs: 0.1, windowMs: 3_600_000 });
    const many = Array.from({ length: 5 }, (_, i) => memberDocument('TickReceived', `{ n${i}: id symbol data { open high low close volume bid ask } }`));
    for (const document of many) {
      for (let i = 0; i <= COMPILE_AFTER; i++) {
        const args = { schema, document, rootValue: item, contextValue: context, variableValues: { withData: true } };
        expect(wire(await budgeted.execute(args))).toEqual(wire(await execute(args)));
      }
    }
    expect(budgeted.stats.compiled).toBe(1);
  });

  it('agrees with graphql-js on random events, including values a field cannot serialize', async () => {
    const all = documents();
    for (const document of all) await warm(document, entries()[0], { withData: true });
    await fc.assert(
      fc.asyncProperty(eventArb, fc.integer({ min: 1, max: 2 ** 40 }), async (event, id) => {
        for (const document of all) {
          const [interpreted, compiled] = await both(document, { id, symbol: 'BTCUSDT', event }, { withData: true });
          expect(compiled).toEqual(interpreted);
        }
      }),
      { numRuns: 300 },
    );
  });
});
