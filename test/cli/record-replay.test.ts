import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGap, type LogEntry } from '../../src/log/types.js';
import { record } from '../../src/cli/record.js';
import { readRecording, replay } from '../../src/cli/replay.js';
import { parseTailArgs } from '../../src/cli/args.js';
import { REPLAY_REFUSAL } from '../../src/cli/recorded-runners.js';
import { sampleEvents } from '../events/fixtures.js';
import { publishScript, SCRIPT, startTestServer, until, type TestServer } from '../server/harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

const dir = mkdtempSync(join(tmpdir(), 'tickwire-rec-'));

describe('tickwire record and replay', () => {
  it('records every variant in the wire form and replays exactly those events to clients', async () => {
    const file = join(dir, 'run.jsonl');
    const abort = new AbortController();
    let written = 0;
    const recording = record(parseTailArgs(['--url', t.server.urls.ws], {}), file, abort.signal, (n) => (written = n));
    await until(() => t.bus.subscriberCount === 1, 'the recorder');
    const events = sampleEvents();
    for (const event of events) t.bus.publish(event, 'BTCUSDT');
    await until(() => written === events.length, 'every event written');
    abort.abort();
    expect(await recording).toEqual({ written: events.length, missed: 0 });

    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; type: string });
    expect(lines.map((l) => l.type)).toEqual(events.map((e) => e.type));
    expect(lines.every((l) => /^\d+$/.test(l.id))).toBe(true);
    // The recording decodes, strictly, to the very events that were published.
    const read = await readRecording(file);
    expect(read.map((r) => r.event)).toEqual(events);

    const played = await replay(read, { port: 0, host: '127.0.0.1', speed: Infinity });
    try {
      const seen: LogEntry[] = [];
      const sub = played.bus.subscribe();
      const reading = (async () => {
        for await (const item of sub) if (!isGap(item)) seen.push(item);
      })();
      await played.start();
      // Ends the subscription after what it has queued.
      played.bus.close();
      await reading;
      expect(seen.map((e) => e.event)).toEqual(events);
    } finally {
      await played.server.close();
    }
  });

  it('replays with the recorded ids, shows the recorded runners, refuses to drive them, and serves the dashboard', async () => {
    const file = join(dir, 'ids.jsonl');
    // Ids that do not start at 1: a recording joins a log part-way.
    for (const event of sampleEvents()) t.bus.publish(event, 'BTCUSDT');
    const abort = new AbortController();
    let written = 0;
    const recording = record(parseTailArgs(['--url', t.server.urls.ws], {}), file, abort.signal, (n) => (written = n));
    await until(() => t.bus.subscriberCount === 1, 'the recorder');
    const ids = publishScript(t.bus);
    await until(() => written === SCRIPT.length, 'every event written');
    abort.abort();
    await recording;
    expect(ids[0]).toBeGreaterThan(1);

    // The recorder missed one event (r3's first StateTransition): the replay tells its clients so, as the live stream would have.
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, `${[...lines.slice(0, 5), ...lines.slice(6)].join('\n')}\n`);
    const read = await readRecording(file);
    const kept = [...ids.slice(0, 5), ...ids.slice(6)];
    expect(read.map((r) => r.id)).toEqual(kept);

    const played = await replay(read, { port: 0, host: '127.0.0.1', speed: Infinity });
    try {
      const seen: { id?: number; missed?: number; fromId?: number | null; toId?: number | null }[] = [];
      const sub = played.bus.subscribe();
      const reading = (async () => {
        for await (const item of sub) seen.push(isGap(item) ? { missed: item.missed, fromId: item.fromId, toId: item.toId } : { id: (item as LogEntry).id });
      })();
      await played.start();
      played.bus.close();
      await reading;
      expect(seen).toEqual([
        ...kept.slice(0, 5).map((id) => ({ id })),
        { missed: 1, fromId: ids[5], toId: ids[5] },
        ...kept.slice(5).map((id) => ({ id })),
      ]);

      const graphql = async (query: string) => {
        const res = await fetch(played.server.urls.http, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
        return (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
      };
      const { data } = await graphql('{ runners { id symbol state stopReason lastPrice strategy stats { ticksProcessed errors } } }');
      expect(data?.['runners']).toEqual([
        { id: 'r1', symbol: 'AAA', state: 'IDLE', stopReason: null, lastPrice: 10.5, strategy: 'recorded', stats: { ticksProcessed: 1, errors: 1 } },
        { id: 'r2', symbol: 'BBB', state: 'IDLE', stopReason: null, lastPrice: 20.5, strategy: 'recorded', stats: { ticksProcessed: 0, errors: 1 } },
        { id: 'r3', symbol: 'r3', state: 'STOPPED', stopReason: 'done', lastPrice: null, strategy: 'recorded', stats: { ticksProcessed: 0, errors: 1 } },
      ]);
      for (const mutation of ['stopRunner(id: "r1") { id }', 'restartRunner(id: "r3") { id }', 'startRunner(input: { id: "x", symbol: "X" }) { id }']) {
        const { errors } = await graphql(`mutation { ${mutation} }`);
        expect(errors?.[0]?.message, mutation).toBe(REPLAY_REFUSAL);
      }

      const page = await fetch(played.server.urls.http.replace(/\/graphql$/, '/'));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toMatch(/<script type="module"/);
    } finally {
      await played.server.close();
    }
  });

  it('stops a replay at an id that does not go up, naming the line', async () => {
    const file = join(dir, 'order.jsonl');
    const line = (id: string, timestamp: number) => JSON.stringify({ id, type: 'RunnerStarted', data: { runnerId: 'a', symbol: 'X', timestamp } });
    writeFileSync(file, `${line('5', 1)}\n${line('5', 2)}\n`);
    await expect(readRecording(file)).rejects.toThrow(/order\.jsonl:2: id 5: must be above the previous line's 5/);
    writeFileSync(file, `${JSON.stringify({ type: 'RunnerStarted', data: { runnerId: 'a', symbol: 'X', timestamp: 1 } })}\n`);
    await expect(readRecording(file)).rejects.toThrow(/order\.jsonl:1: id undefined: must be an event id/);
  });

  it('stops a replay at a bad line, naming it', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ id: '1', type: 'RunnerStarted', data: { runnerId: 'a', symbol: 'X', timestamp: 1 } })}\n{"id":"2","type":"Nope","data":{}}\n`);
    await expect(readRecording(file)).rejects.toThrow(/bad\.jsonl:2: unknown event type "Nope"/);
  });
});
