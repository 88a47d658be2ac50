import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/log/bus.js';
import { EventHistory, INDEX_BYTES_PER_RUNNER, estimateBytes, type HistoryQuery } from '../../src/log/history.js';
import type { LogEntry } from '../../src/log/types.js';
import { compileFilter, type EventFilter } from '../../src/events/filter.js';
import type { EventVariant, RunnerEvent } from '../../src/events/types.js';

const RUNNERS = ['a', 'b', 'c', 'd', 'e'];
const TYPES: EventVariant[] = ['TickReceived', 'Error', 'StateTransition', 'PositionUpdated'];

function eventOf(runner: number, type: number, n: number): RunnerEvent {
  const runnerId = RUNNERS[runner]!;
  switch (TYPES[type]) {
    case 'TickReceived':
      return { type: 'TickReceived', runnerId, symbol: 'X', data: { symbol: 'X', timestamp: n, open: 1, high: 1, low: 1, close: 1, volume: 1, bid: 1, ask: 1 } };
    case 'Error':
      return { type: 'Error', runnerId, error: 'e', severity: n % 2 === 0 ? 'Warning' : 'Critical', timestamp: n };
    case 'StateTransition':
      return { type: 'StateTransition', runnerId, from: 'Idle', to: 'Analyzing', reason: 'r', timestamp: n };
    default:
      return { type: 'PositionUpdated', runnerId, currentPrice: 1, unrealizedPnl: 0, timestamp: n };
  }
}

const publishes = fc.array(fc.record({ runner: fc.nat(RUNNERS.length - 1), type: fc.nat(TYPES.length - 1), symbol: fc.constantFrom('X', 'Y') }), { maxLength: 300 });
const subset = <T>(list: readonly T[]) => fc.option(fc.subarray([...list]), { nil: null });
const filters = fc.record({
  runnerIds: subset([...RUNNERS, 'nobody']),
  symbols: subset(['X', 'Y']),
  types: subset(TYPES),
  minSeverity: fc.constantFrom(null, 'Critical' as const),
});
const scopes = fc.option(fc.subarray(RUNNERS), { nil: null });

/** The definition: every kept entry, newest first, through the predicate. */
function naive(bus: EventBus, predicate: (entry: LogEntry) => boolean, count: number, lookup: (id: number) => LogEntry | undefined): number[] {
  const out: number[] = [];
  for (let id = bus.lastId; id >= bus.historyRange.oldestId && out.length < count; id--) {
    const entry = lookup(id);
    if (entry !== undefined && predicate(entry)) out.push(id);
  }
  return out.reverse();
}

describe('the history index', () => {
  it('gives what a scan of the whole history gives, for any filter, scope and count, after evictions', () => {
    fc.assert(
      fc.property(publishes, fc.integer({ min: 0, max: 40 }), filters, scopes, fc.integer({ min: 1, max: 60 }), fc.boolean(), (steps, size, filter, scope, count, tight) => {
        // `tight`: a byte bound that evicts before the size bound does.
        const bus = new EventBus({ historySize: size, ...(tight ? { historyBytes: 4000 } : {}) });
        const all: LogEntry[] = [];
        steps.forEach((s, n) => all.push(bus.publish(eventOf(s.runner, s.type, n), s.symbol)));
        const compiled = compileFilter(filter as EventFilter);
        const allowed = scope === null ? null : new Set(scope);
        const predicate = (e: LogEntry) => (allowed === null || allowed.has(e.event.runnerId)) && compiled(e.event, e.symbol);
        const options: HistoryQuery = { runnerIds: filter.runnerIds, types: filter.types, runnerAllowed: allowed === null ? null : (id) => allowed.has(id) };
        const expected = naive(bus, predicate, count, (id) => all[id - 1]);
        const before = bus.historyVisits;
        const got = bus.recent((e, symbol) => predicate({ id: 0, event: e, symbol }), count, options);
        expect(got.map((e) => e.id)).toEqual(expected);
        // Read no more entries than those its chains hold.
        const chainEntries = naive(bus, (e) => (filter.runnerIds === null || filter.runnerIds.includes(e.event.runnerId)) && (filter.types === null || filter.types.includes(e.event.type as EventVariant)) && (allowed === null || allowed.has(e.event.runnerId)), Infinity, (id) => all[id - 1]);
        expect(bus.historyVisits - before).toBeLessThanOrEqual(chainEntries.length);
        // With a predicate the index captures exactly, it reads what it returns.
        if (filter.symbols === null && filter.minSeverity === null && filter.runnerIds !== null) {
          expect(bus.historyVisits - before).toBe(got.length);
        }
        // And replay starts where the last `count` begin.
        const sub = bus.subscribe({ filter: (e, symbol) => predicate({ id: 0, event: e, symbol }), replay: count, index: options });
        const replayed: number[] = [];
        for (let i = 0; i < expected.length; i++) {
          const item = (sub as unknown as { readHistory(c: unknown): LogEntry | null }).readHistory((sub as unknown as { cursor: unknown }).cursor);
          if (item !== null) replayed.push(item.id);
        }
        sub.close();
        expect(replayed).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('stops at maxScan and says so', () => {
    const bus = new EventBus();
    for (let i = 0; i < 1000; i++) bus.publish(eventOf(i % 5, 0, i), 'X');
    const scan = bus.scanRecent(compileFilter({ symbols: ['Y'] }), 10, { maxScan: 300 });
    expect(scan).toMatchObject({ entries: [], scanned: 300, complete: false });
    expect(bus.scanRecent(compileFilter({ symbols: ['X'] }), 10, { maxScan: 300 })).toMatchObject({ scanned: 10, complete: true });
  });

  it('charges the per-runner heads to the byte bound and drops them with the runner\'s last entry', () => {
    const one = estimateBytes(eventOf(0, 0, 0));
    const h = new EventHistory(1000, 10 * (one + INDEX_BYTES_PER_RUNNER));
    for (let id = 1; id <= 100; id++) h.append({ id, symbol: 'X', event: eventOf(0, 0, id) });
    expect(h.runnerCount).toBe(1);
    for (let id = 101; id <= 200; id++) h.append({ id, symbol: 'X', event: { ...eventOf(0, 0, id), runnerId: `r${id}` } });
    // Every entry of its own runner now: the bound holds with the heads counted.
    expect(h.approximateBytes).toBeLessThanOrEqual(10 * (one + INDEX_BYTES_PER_RUNNER));
    expect(h.runnerCount).toBe(h.length);
    const own = estimateBytes({ ...eventOf(0, 0, 0), runnerId: 'r200' }) + INDEX_BYTES_PER_RUNNER;
    expect(h.length).toBe(Math.floor((10 * (one + INDEX_BYTES_PER_RUNNER)) / own));
    // A jump in ids keeps the index: the kept runners' heads stay, the new one's are charged.
    const kept = h.length;
    h.append({ id: 500, symbol: 'X', event: eventOf(1, 0, 500) });
    expect(h.runnerCount).toBe(h.length);
    expect(h.length).toBeGreaterThanOrEqual(kept - 1);
    expect(h.approximateBytes).toBeLessThanOrEqual(10 * (one + INDEX_BYTES_PER_RUNNER));
    expect(h.get(200)?.event.runnerId).toBe('r200');
    expect(h.get(500)?.event.runnerId).toBe('b');
  });
});
