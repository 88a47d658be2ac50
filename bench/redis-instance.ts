/**
 * One API instance of {@link benchRedisMax} in a worker thread: a RedisReader feeding a bus
 * with one subscriber. In production every instance is a process of its own; run on the
 * bench's thread, two instances and the appender would share one event loop and the
 * figure would measure three processes' work on one core.
 */
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

const data = workerData as InstanceData;
const counts = new Int32Array(data.counts);
const lastAt = new Float64Array(data.lastAt);
const now = () => performance.timeOrigin + performance.now();
const bus = new EventBus();
const reader = new RedisReader(bus, { url: data.url, stream: data.stream, log: () => undefined, backfill: 0 });
const sub = bus.subscribe();
// Every 50th id and when it arrived, as pairs: the bench pairs them with publish times.
const timed: number[] = [];
parentPort!.once('message', () => {
  sub.close();
  void reader.close().then(() => parentPort!.postMessage(timed));
});
parentPort!.postMessage('ready');
for await (const item of sub) {
  if (isGap(item)) continue;
  const at = now();
  Atomics.add(counts, data.index, 1);
  lastAt[data.index] = at;
  if (item.id % 50 === 0) timed.push(item.id, at);
}
