import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { EventBus } from '../bus/bus.js';
import { TradingEngine } from '../engine/engine.js';
import { decodeEvent, EventDecodeError } from '../events/codec.js';
import { timestampOf } from '../events/helpers.js';
import type { RunnerEvent } from '../events/types.js';
import { startServer, type TickwireServer } from '../server/server.js';

/** One recorded event, decoded strictly, with the symbol its runner traded. */
interface Recorded {
  readonly event: RunnerEvent;
  readonly symbol: string;
}

/**
 * Reads a recording: every line decoded strictly with the codec. A bad line stops the
 * replay with its line number; nothing half-read is published.
 */
export async function readRecording(path: string): Promise<Recorded[]> {
  const out: Recorded[] = [];
  const symbols = new Map<string, string>();
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let event: RunnerEvent;
    try {
      const { id: _id, ...wire } = JSON.parse(text) as Record<string, unknown>;
      event = decodeEvent(wire);
    } catch (err) {
      const why = err instanceof EventDecodeError || err instanceof SyntaxError ? err.message : String(err);
      throw new Error(`${path}:${line}: ${why}`);
    }
    if (event.type === 'RunnerStarted' || event.type === 'TickReceived') symbols.set(event.runnerId, event.symbol);
    out.push({ event, symbol: symbols.get(event.runnerId) ?? event.runnerId });
  }
  return out;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  readonly port: number;
  readonly host: string;
  /** 1 = recorded pace, 10 = ten times faster, Infinity = as fast as possible. */
  readonly speed: number;
}

/**
 * Serves a recording: a server with its own bus, into which the recorded events are
 * published again with their recorded spacing (scaled by `speed`), so any client sees
 * what happened (clients that join late can ask for `replay: N`: the bus keeps history).
 * Returns the listening server; `start()` plays the recording and resolves at its end.
 */
export async function replay(
  recording: readonly Recorded[],
  options: ReplayOptions,
  progress: (done: number, total: number) => void = () => undefined,
): Promise<{ server: TickwireServer; bus: EventBus; start(): Promise<void> }> {
  const bus = new EventBus();
  const server = await startServer({ engine: new TradingEngine(bus), bus, port: options.port, host: options.host });
  const start = async () => {
    const first = recording[0] === undefined ? 0 : timestampOf(recording[0].event);
    const began = Date.now();
    for (let i = 0; i < recording.length; i++) {
      const { event, symbol } = recording[i]!;
      if (Number.isFinite(options.speed)) {
        const due = began + (timestampOf(event) - first) / options.speed;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      } else if (i % 1000 === 999) {
        await new Promise((r) => setImmediate(r));
      }
      bus.publish(event, symbol);
      if (i % 100 === 99 || i === recording.length - 1) progress(i + 1, recording.length);
    }
  };
  return { server, bus, start };
}
