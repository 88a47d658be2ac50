import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { EventBus } from '../log/bus.js';
import { decodeEvent, EventDecodeError } from '../events/codec.js';
import { timestampOf } from '../events/helpers.js';
import type { RunnerEvent } from '../events/types.js';
import { DEFAULT_DASHBOARD_DIR } from '../app/config.js';
import { startServer, type TickwireServer } from '../app/server.js';
import { RecordedRunners } from './recorded-runners.js';

/** One recorded event, decoded strictly, with its log id and the symbol its runner traded. */
export interface Recorded {
  readonly id: number;
  readonly event: RunnerEvent;
  readonly symbol: string;
}

/**
 * Reads a recording: every line decoded strictly with the codec, its id a whole number
 * above the previous line's. A bad line stops the replay with its line number; nothing
 * half-read is published.
 */
export async function readRecording(path: string): Promise<Recorded[]> {
  const out: Recorded[] = [];
  const symbols = new Map<string, string>();
  let line = 0;
  let lastId = 0;
  for await (const text of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let event: RunnerEvent;
    let id: number;
    try {
      const { id: recordedId, ...wire } = JSON.parse(text) as Record<string, unknown>;
      event = decodeEvent(wire);
      id = idOf(recordedId, lastId);
    } catch (err) {
      const why = err instanceof EventDecodeError || err instanceof SyntaxError || err instanceof RecordingError ? err.message : String(err);
      throw new Error(`${path}:${line}: ${why}`);
    }
    lastId = id;
    if (event.type === 'RunnerStarted' || event.type === 'TickReceived') symbols.set(event.runnerId, event.symbol);
    out.push({ id, event, symbol: symbols.get(event.runnerId) ?? event.runnerId });
  }
  return out;
}

/** A line whose id is not one a log could have written. */
class RecordingError extends Error {}

/**
 * The log id of a record: the clients' resume cursors and the gaps they are told of
 * are in these ids, so they must be what a log could have given, in order.
 */
function idOf(value: unknown, after: number): number {
  const id = typeof value === 'string' && /^[1-9][0-9]*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(id)) throw new RecordingError(`id ${JSON.stringify(value)}: must be an event id (a whole number above 0, as a string)`);
  if (id <= after) throw new RecordingError(`id ${value}: must be above the previous line's ${after}`);
  return id;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  readonly port: number;
  readonly host: string;
  /** 1 = recorded pace, 10 = ten times faster, Infinity = as fast as possible. */
  readonly speed: number;
  /** The dashboard's build to serve at / (default dist/dashboard, as `npm start`); null: none. */
  readonly dashboardDir?: string | null;
  /** How `runners` describes the feed of the recorded runners (default `recording`). */
  readonly source?: string;
}

/**
 * Serves a recording: a server with its own bus, into which the recorded events are
 * published again with their recorded ids and spacing (scaled by `speed`), and the
 * dashboard at /. Clients see the recorded ids (a hole between two of them reaches them
 * as a StreamGap: the recorder missed those events); those that join late can ask for
 * `replay: N` or `after` (the bus keeps history). `runners` lists the recorded runners
 * as the events published so far describe them; starting or stopping one is refused.
 * Returns the listening server; `start()` plays the recording and resolves at its end.
 */
export async function replay(
  recording: readonly Recorded[],
  options: ReplayOptions,
  progress: (done: number, total: number) => void = () => undefined,
): Promise<{ server: TickwireServer; bus: EventBus; runners: RecordedRunners; start(): Promise<void> }> {
  const bus = new EventBus();
  const runners = new RecordedRunners(options.source ?? 'recording');
  const server = await startServer({
    engine: runners,
    bus,
    port: options.port,
    host: options.host,
    dashboardDir: options.dashboardDir === undefined ? DEFAULT_DASHBOARD_DIR : options.dashboardDir,
  });
  // The recording starts where it starts: the ids before its first are no gap.
  if (recording[0] !== undefined) bus.advanceTo(recording[0].id - 1);
  const start = async () => {
    const first = recording[0] === undefined ? 0 : timestampOf(recording[0].event);
    const began = Date.now();
    for (let i = 0; i < recording.length; i++) {
      const { id, event, symbol } = recording[i]!;
      if (Number.isFinite(options.speed)) {
        const due = began + (timestampOf(event) - first) / options.speed;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      } else if (i % 1000 === 999) {
        await new Promise((r) => setImmediate(r));
      }
      // The runners first: a client told of the event and asking `runners` sees it applied.
      runners.apply(event, symbol);
      bus.publishEntry({ id, symbol, event });
      if (i % 100 === 99 || i === recording.length - 1) progress(i + 1, recording.length);
    }
  };
  return { server, bus, runners, start };
}
