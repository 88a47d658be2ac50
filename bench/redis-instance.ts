/**
 * One API instance of {@link benchRedisMax} in a worker thread: a RedisReader feeding a bus
 * with one subscriber. In production every instance is a process of its own; run on the
 * bench's thread, two instances and the appender would share one event loop and the
 * figure would measure three processes' work on one core.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { EventBus } from '../src/log/bus.js';
import { RedisReader } from '../src/log/redis.js';
import { isGap } from '../src/log/types.js';

/** What the bench hands an instance. */
export interface InstanceData {
  readonly url: string;
  readonly stream: string;
  /** This instance's slot in `counts` and `lastAt`. */
  readonly index: number;
  /** Int32 per instance: events received so far (read by the bench while it runs). */
  readonly counts: SharedArrayBuffer;
  /** Float64 per instance: when the last event arrived (ms since the epoch, fractional). */
  readonly lastAt: SharedArrayBuffer;
}

/** What an instance answers `stop` with. */
export interface InstanceReport {
  /** Every 50th id and when it arrived (ms since the epoch), as pairs. */
  readonly timed: readonly number[];
  /** This thread's CPU time from `ready` to `stop` (ms; Linux only, else null). */
  readonly cpuMs: number | null;
}

/** This thread's CPU time so far in ms, from /proc (clock ticks of 10 ms); null where there is none. */
function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name: state is the 3rd field, utime the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

const data = workerData as InstanceData;
const counts = new Int32Array(data.counts);
const lastAt = new Float64Array(data.lastAt);
const now = () => performance.timeOrigin + performance.now();
const bus = new EventBus();
const reader = new RedisReader(bus, { url: data.url, stream: data.stream, log: () => undefined, backfill: 0 });
const sub = bus.subscribe();
// Every 50th id and when it arrived, as pairs: the bench pairs them with publish times.
const timed: number[] = [];
const cpuAtReady = threadCpuMs();
parentPort!.once('message', () => {
  const cpuAtStop = threadCpuMs();
  sub.close();
  const report: InstanceReport = { timed, cpuMs: cpuAtReady === null || cpuAtStop === null ? null : cpuAtStop - cpuAtReady };
  void reader.close().then(() => parentPort!.postMessage(report));
});
parentPort!.postMessage('ready');
for await (const item of sub) {
  if (isGap(item)) continue;
  const at = now();
  Atomics.add(counts, data.index, 1);
  lastAt[data.index] = at;
  if (item.id % 50 === 0) timed.push(item.id, at);
}
