import { createEventsClient, type ClientEvent } from '../client/client.js';
import { describeEvent, type Tone } from '../client/describe.js';
import type { TailOptions } from './args.js';

const paint = (on: boolean, code: number, text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

/** Terminal colours of each tone (0: none). */
const TONE_COLOR: Record<Tone, number> = { plain: 0, lifecycle: 1, action: 35, profit: 32, loss: 31, warning: 33, error: 31, critical: 41, gap: 33 };

/** One readable line for an event. */
export function formatEvent(event: ClientEvent, color: boolean): string {
  const { label, text, tone } = describeEvent(event);
  const on = color && TONE_COLOR[tone] !== 0;
  if (event.__typename === 'StreamGap') return paint(on, TONE_COLOR[tone], `-- ${label}: ${text}`);
  const time = new Date(event.timestamp).toISOString().slice(11, 23);
  const head = `${paint(color, 2, `#${event.id}`)} ${time} ${paint(color, 36, event.runnerId.padEnd(12))}`;
  return `${head} ${paint(on, TONE_COLOR[tone], label.padEnd(10))} ${text}`;
}

/** Runs `tail` until the stream ends or `signal` aborts; writes lines to `out`. */
export async function tail(options: TailOptions, out: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const client = createEventsClient({
    url: options.url,
    transport: options.sse ? 'sse' : 'ws',
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
  try {
    const events = client.events(
      {
        ...(options.runnerIds ? { runnerIds: options.runnerIds } : {}),
        ...(options.types ? { types: options.types } : {}),
        ...(options.minSeverity ? { minSeverity: options.minSeverity } : {}),
        ...(options.throttleMs !== undefined ? { throttleMs: options.throttleMs } : {}),
        ...(options.after !== undefined ? { after: options.after } : {}),
      },
      signal,
    );
    for await (const event of events) out(options.json ? JSON.stringify(event) : formatEvent(event, options.color));
  } finally {
    await client.close();
  }
}
