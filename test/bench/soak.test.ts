import { describe, expect, it } from 'vitest';
import { runSoak } from '../../bench/soak.js';
import { StreamCheck, type Item } from '../../bench/soak-clients.js';

const event = (id: number): Item => ({ kind: 'event', id, runnerId: 'r', type: 'TICK_RECEIVED' });

describe("the soak's stream checks", () => {
  it('count loss no StreamGap announced on an unfiltered stream, and none that one did', () => {
    const check = new StreamCheck('s', true);
    for (const id of [1, 2, 3, 5]) check.add(event(id));
    expect(check.counts.unannounced).toBe(1);
    // A range announced: nothing lost without notice.
    check.add({ kind: 'gap', missed: 4, fromId: 6, toId: 9 });
    check.add(event(10));
    // A count without a range (conflation by age): the next jumps may use it up.
    check.add({ kind: 'gap', missed: 3, fromId: null, toId: null });
    check.add(event(12));
    check.add(event(15));
    expect(check.counts).toMatchObject({ unannounced: 1, announced: 7, gaps: 2, events: 7 });
    // A batch's dropped count works the same way: 2 announced, 16..18 skipped.
    check.dropped(2);
    check.add(event(19));
    expect(check.counts).toMatchObject({ unannounced: 2, announced: 9 });
  });

  it('count duplicates and events out of order, also on streams whose order is not the log\'s', () => {
    const ordered = new StreamCheck('o', false);
    for (const id of [1, 4, 4, 3, 9]) ordered.add(event(id));
    expect(ordered.counts).toMatchObject({ duplicates: 1, outOfOrder: 1, events: 3, unannounced: 0 });
    const throttled = new StreamCheck('t', false, { ordered: false, keepIds: true });
    for (const id of [5, 3, 9, 3]) throttled.add(event(id));
    expect(throttled.counts).toMatchObject({ duplicates: 1, outOfOrder: 0, events: 3 });
    expect([throttled.first, throttled.last]).toEqual([3, 9]);
  });
});

describe('npm run soak', () => {
  it('a 1-minute soak of the default server: nothing lost, duplicated or reordered, no stream leaked, fds bounded', async () => {
    const lines: string[] = [];
    const result = await runSoak({ minutes: 1, warmupMinutes: 0.5, sampleSeconds: 10, subscribers: 2, log: (line) => lines.push(line) });
    expect(result.failures, lines.join('\n')).toEqual([]);
    // The load ran: every kind of work happened.
    expect(result.streams['ws-all-0']!.events).toBeGreaterThan(1000);
    expect(result.churn.cleanCloses).toBeGreaterThan(10);
    expect(result.churn.abruptCloses).toBeGreaterThan(10);
    expect(result.resumes).toBeGreaterThan(0);
    expect(result.runners.stopped).toBeGreaterThan(0);
    expect(result.history.pages).toBeGreaterThan(3);
    // Generous bounds (a busy machine, a short run): fds do not pile up with the churn, RSS stays in hundreds of MB.
    const first = result.samples[0]!;
    const last = result.samples.at(-1)!;
    expect(last.totalFds).toBeLessThan(first.totalFds + 100);
    expect(Math.max(...result.samples.map((s) => s.totalRssMb))).toBeLessThan(600);
  }, 240_000);
});
