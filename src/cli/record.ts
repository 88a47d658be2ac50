import { createWriteStream } from 'node:fs';
import { createEventsClient } from '../client/client.js';
import { toWireRecord } from '../client/wire.js';
import type { TailOptions } from './args.js';

/**
 * `tickwire record --out file.jsonl`: writes the stream, one wire record `{id, type, data}`
 * per line, until `signal` aborts. Gap notices are not events: they are counted and
 * reported, so a recording with holes says so. Returns what was written and missed.
 */
export async function record(
  options: TailOptions,
  out: string,
  signal?: AbortSignal,
  progress: (written: number) => void = () => undefined,
): Promise<{ written: number; missed: number }> {
  const file = createWriteStream(out, { flags: 'w' });
  const client = createEventsClient({ url: options.url, transport: options.sse ? 'sse' : 'ws', ...(options.token !== undefined ? { token: options.token } : {}) });
  let written = 0;
  let missed = 0;
  try {
    const events = client.events(
      {
        ...(options.runnerIds ? { runnerIds: options.runnerIds } : {}),
        ...(options.types ? { types: options.types } : {}),
        ...(options.minSeverity ? { minSeverity: options.minSeverity } : {}),
        ...(options.after !== undefined ? { after: options.after } : {}),
      },
      signal,
    );
    for await (const event of events) {
      const wire = toWireRecord(event);
      if (wire === null) {
        // A token scoped to some runners is not told counts of the shared log (null).
        if (event.__typename === 'StreamGap') missed += event.missed ?? 0;
        continue;
      }
      // Respect the disk: wait when the file's buffer is full instead of growing memory.
      if (!file.write(`${JSON.stringify(wire)}\n`)) await new Promise<void>((r) => file.once('drain', () => r()));
      progress(++written);
    }
  } finally {
    await client.close();
    await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  return { written, missed };
}
