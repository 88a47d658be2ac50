import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGap, type LogEntry } from '../../src/bus/types.js';
import { record } from '../../src/cli/record.js';
import { readRecording, replay } from '../../src/cli/replay.js';
import { parseTailArgs } from '../../src/cli/args.js';
import { sampleEvents } from '../events/fixtures.js';
import { startTestServer, until, type TestServer } from '../server/harness.js';

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

  it('stops a replay at a bad line, naming it', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ id: '1', type: 'RunnerStarted', data: { runnerId: 'a', symbol: 'X', timestamp: 1 } })}\n{"id":"2","type":"Nope","data":{}}\n`);
    await expect(readRecording(file)).rejects.toThrow(/bad\.jsonl:2: unknown event type "Nope"/);
  });
});
