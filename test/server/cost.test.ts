import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema/index.js';
import { historyCost } from '../../src/graphql/cost.js';
import { HISTORY_SCAN_ROWS } from '../../src/store/store.js';

const cost = (query: string, variables?: Record<string, unknown>, scoped = false) => historyCost(schema, parse(query), { variables, scoped });

describe('history cost: recentEvents and Runner.candles count their `last`', () => {
  it('counts literals, defaults, variables and the operation\'s variable defaults', () => {
    expect(cost('{ recentEvents(last: 7) { __typename } }')).toBe(7);
    expect(cost('{ recentEvents { __typename } }')).toBe(100);
    expect(cost('query($n: Int) { recentEvents(last: $n) { __typename } }', { n: 10_000 })).toBe(10_000);
    expect(cost('query($n: Int = 9000) { recentEvents(last: $n) { __typename } }')).toBe(9000);
    expect(cost('{ runner(id: "a") { candles { start } } }')).toBe(900);
    expect(cost('{ runners { id } }')).toBe(0);
  });

  it('counts every alias and every spread of a fragment', () => {
    expect(cost('{ a: recentEvents(last: 10) { __typename } b: recentEvents(last: 20) { __typename } }')).toBe(30);
    const spread = 'fragment C on Runner { candles(last: 5) { start } } query { runners { ...C } runner(id: "x") { ...C ... on Runner { x: candles(last: 1) { start } } } }';
    expect(cost(spread)).toBe(11);
  });

  it('counts the rows an eventHistory may read when a filter no index follows tests them: where, minSeverity, a scope', () => {
    const page = '{ pageInfo { hasNextPage } }';
    // Indexed filters only: the rows read are the rows returned (GraphQL Armor counts `first`).
    expect(cost(`{ eventHistory(types: [ERROR], first: 1000) ${page} }`)).toBe(0);
    expect(cost(`{ eventHistory(where: { statsUpdate: { ticksProcessed: { lt: 0 } } }, first: 1) ${page} }`)).toBe(HISTORY_SCAN_ROWS);
    expect(cost(`{ eventHistory(minSeverity: CRITICAL) ${page} }`)).toBe(HISTORY_SCAN_ROWS);
    // From variables, and a null one does not count.
    const withVars = `query($w: EventWhere, $s: ErrorSeverity) { eventHistory(where: $w, minSeverity: $s) ${page} }`;
    expect(cost(withVars, { w: { runnerError: { severity: { eq: 'CRITICAL' } } } })).toBe(HISTORY_SCAN_ROWS);
    expect(cost(withVars, { w: null })).toBe(0);
    // A scoped reader's every eventHistory tests its scope on each row.
    expect(cost(`{ eventHistory ${page} }`, undefined, true)).toBe(HISTORY_SCAN_ROWS);
    // Every alias counts: 13 where-reads are over the default MAX_COST of 100,000, 10 are not.
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: eventHistory(where: { statsUpdate: { ticksProcessed: { lt: 0 } } }, first: 1000) ${page}`).join(' ')} }`;
    expect(cost(aliases(13))).toBe(13 * HISTORY_SCAN_ROWS);
    expect(cost(aliases(13))).toBeGreaterThan(100_000);
    expect(cost(aliases(10))).toBeLessThanOrEqual(100_000);
  });
});
