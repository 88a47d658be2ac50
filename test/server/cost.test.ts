import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { historyCost } from '../../src/server/cost.js';

const cost = (query: string, variables?: Record<string, unknown>) => historyCost(schema, parse(query), undefined, variables);

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
});
