/**
 * `npm run bench [-- --json] [-- --quick]`: the in-process bus benchmark, then the
 * end-to-end runs over loopback (ours, the peer and the limit) under the same load in
 * this one invocation. Prints a table; with --json the last line is one JSON object.
 *
 * Environment:
 * - BENCH_FANOUT_SIZES=100,1000: the fan-out sizes instead of 100, 1,000 and 5,000 (100
 *   in --quick); the overload figures are taken only when 5,000 is among them (full run).
 *   To run the fan-out part alone: `npx tsx bench/fanout.ts [--quick] [sizes…]`.
 * - BENCH_PROFILE_DIR=<dir>: the fan-out servers (tickwire and both limits) run with
 *   `--cpu-prof --cpu-prof-dir=<dir>/<kind>-<subscribers>[-workers<n>]`, and each writes
 *   its CPU profiles there when it exits (bench/fanout.ts). Profiled runs are slower.
 */
import { cpus } from 'node:os';
import { runE2e, type E2eOptions, type E2eResult } from './e2e.js';
import { benchEngine } from './engine.js';
import { benchFailover } from './failover.js';
import { benchFanout, fanoutSizesFromEnv } from './fanout.js';
import { benchIdle } from './idle.js';
import { benchInProcess } from './in-process.js';
import { benchMemory } from './memory.js';
import { benchPageFlood } from './page-flood.js';
import { benchRedis, benchRedisMax } from './redis.js';
import { benchStartup } from './startup.js';
import { benchStore } from './store.js';
import { benchBatched, benchThrottled } from './streams.js';
import { benchTrustedDocuments } from './trusted-documents.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const flag = (name: string, fallback: number): number => {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
};

const load: E2eOptions = {
  runners: flag('runners', 100),
  subscribers: flag('subscribers', 10),
  eventsPerSec: flag('rate', quick ? 20_000 : 50_000),
  seconds: flag('seconds', quick ? 2 : 5),
};

const log = (line: string) => console.log(line);
log(`tickwire bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);

const inProcess = await benchInProcess(quick ? { events: 50_000 } : {});
log(`\nin-process bus: ${inProcess.subscribers} subscribers, ${inProcess.eventsPerSec.toLocaleString()} deliveries/s, p50 ${inProcess.p50Ms} ms, p99 ${inProcess.p99Ms} ms`);

log(
  `\nend to end over loopback: ${load.runners} runners, ${load.subscribers} subscribers (half unfiltered, half on one runner), ` +
    `${load.eventsPerSec.toLocaleString()} ticks/s offered for ${load.seconds} s`,
);
const runs: [string, E2eResult][] = [];
const run = async (name: string, f: () => Promise<E2eResult>) => {
  const r = await f();
  runs.push([name, r]);
  log(
    `${name.padEnd(20)} ${r.eventsPerSec.toLocaleString().padStart(10)} ev/s  delivered ${(r.deliveredRatio * 100).toFixed(1).padStart(5)} %  ` +
      `p50 ${String(r.p50Ms).padStart(7)} ms  p99 ${String(r.p99Ms).padStart(8)} ms  ${String(r.bytesPerEvent).padStart(6)} B/ev  ` +
      `cpu ${String(r.serverCpuPerEventUs).padStart(6)} µs/ev  rss ${r.serverRssPeakMb} MB`,
  );
  return r;
};
const limit = await run('limit (plain ws)', () => runE2e('limit', 'full', load));
const ours = await run('graphqlWs full', () => runE2e('ours', 'full', load));
const oursMinimal = await run('graphqlWs minimal', () => runE2e('ours', 'minimal', load));
const peer = await run('peer (createPubSub)', () => runE2e('peer', 'full', load));

// A light load that every contender should keep up with: latency without queueing.
const light: E2eOptions = { ...load, eventsPerSec: flag('light-rate', 5_000), seconds: quick ? 2 : 3 };
log(`\nlight load for latency: ${light.eventsPerSec.toLocaleString()} ticks/s offered for ${light.seconds} s`);
const limitLight = await run('limit light', () => runE2e('limit', 'full', light));
const oursLight = await run('graphqlWs light', () => runE2e('ours', 'full', light));
const peerLight = await run('peer light', () => runE2e('peer', 'full', light));

const throttled = await benchThrottled(quick ? 2 : 3);
log(
  `\nthrottleMs 100, one runner at 1,000 ticks/s: ${throttled.throttled.bytesPerSec.toLocaleString()} B/s, ${throttled.throttled.messagesPerSec} msg/s ` +
    `against ${throttled.unthrottled.bytesPerSec.toLocaleString()} B/s, ${throttled.unthrottled.messagesPerSec} msg/s unthrottled (${(throttled.bytesRatio * 100).toFixed(2)} % of the bytes)`,
);
const batched = await benchBatched(quick ? 20_000 : 50_000, quick ? 2 : 3);
log(
  `eventBatches (50 ms, ≤ 1000) at ${(quick ? 20_000 : 50_000).toLocaleString()} ticks/s: ${batched.batched.eventsPerSec.toLocaleString()} events/s in ${batched.batched.messagesPerSec} msg/s; ` +
    `single events: ${batched.single.eventsPerSec.toLocaleString()} events/s in ${batched.single.messagesPerSec.toLocaleString()} msg/s`,
);

const storeWindow = { rate: 5000, seconds: quick ? 1.5 : 3 };
const store = await benchStore(quick ? 50_000 : 200_000, storeWindow);
const storeLine = (name: string, r: { eventsPerSec: number; p99Ms: number; events: number } | null) =>
  r === null ? `${name}: not available` : `${name}: ${r.eventsPerSec.toLocaleString()} events/s written (${r.events.toLocaleString()} events, p99 wait between batches ${r.p99Ms} ms)`;
log(`\nevent store: ${storeLine('PostgreSQL', store.postgres)}; ${storeLine('PGlite in memory', store.pglite)}`);
const lossLine = (name: string, r: { lossWindowMs: number; lossWindowEvents: number; lossWindowMaxMs: number; lossWindowMaxEvents: number } | null) =>
  r === null
    ? `${name}: not available`
    : `${name}: p99 ${r.lossWindowMs} ms (${r.lossWindowEvents.toLocaleString()} events), max ${r.lossWindowMaxMs} ms (${r.lossWindowMaxEvents.toLocaleString()} events)`;
log(
  `event store loss window (published, not yet written: what a crash loses) at ${storeWindow.rate.toLocaleString()} events/s: ` +
    `${lossLine('PostgreSQL', store.postgres)}; ${lossLine('PGlite on disk', store.pglite)}`,
);

const redisRate = quick ? 10_000 : 20_000;
const redis = await benchRedis(redisRate, quick ? 2 : 3);
log(
  redis === null
    ? 'redis: not available'
    : `redis (appender → stream → 2 instances) at ${redisRate.toLocaleString()} events/s: ${redis.eventsPerSec.toLocaleString()} events/s per instance, ` +
        `p50 ${redis.p50Ms} ms, p99 ${redis.p99Ms} ms (${redis.delivered.toLocaleString()} of ${(redis.published * redis.instances).toLocaleString()} delivered)`,
);

// The ceiling: the offered rate stepped up until an instance falls behind (full run only).
const redisMax = quick ? null : await benchRedisMax(2);
if (redisMax !== null) log(`redis ceiling: each instance (a worker thread) keeps up with ${redisMax.maxEventsPerSec.toLocaleString()} events/s offered (p99 ${redisMax.p99Ms} ms)`);

// Failover: SIGKILL of the active engine to the standby's first tick, median of 5 rounds at
// ENGINE_LEASE_MS's default (3 rounds with a 1 s lease in --quick, to stay within its budget).
const failover = await benchFailover(quick ? 3 : 5, quick ? 1000 : 5000);
log(
  failover === null
    ? 'failover: Redis not available'
    : `failover (SIGKILL of the active engine → first tick on the standby, ENGINE_LEASE_MS ${failover.leaseMs}): median ${failover.seconds} s of ${failover.rounds.join(', ')} s`,
);

// One runner at 1,000 ticks/s (the compiled server in its own process) to N graphql-ws
// subscribers of the full TickReceived, all with the same variables (shared) or each with
// its own (distinct), and the limit: N plain ws sockets sent frames serialized once.
// 1,000 and 5,000 subscribers, and the overload figures, in the full run only: --quick
// must stay under 2 minutes.
log('\nfan-out: one runner at 1,000 ticks/s, server in a child process, subscribers in two client processes');
const fanoutRun = await benchFanout({
  sizes: fanoutSizesFromEnv() ?? (quick ? [100] : [100, 1000, 5000]),
  seconds: quick ? 2 : 3,
  warmUpSeconds: quick ? 1 : 2,
  overloadAt: quick ? null : 5000,
  workers: { subscribers: quick ? 200 : 1000, counts: [0, 1, 2] },
  log,
});
const fanoutRatios = Object.fromEntries(Object.entries(fanoutRun.sizes).map(([n, r]) => [n, r.ratios]));
for (const [n, r] of Object.entries(fanoutRatios)) {
  log(
    `fan-out ${n} subscribers: distinct ${r.distinctVsShared}× shared, ours (distinct) ${r.oursVsLimit}× the limit ` +
      `and ${r.oursVsLimitCorked}× the corked limit, shared ${r.sharedVsLimit}× the limit (deliveries/s)`,
  );
}
const workers =
  fanoutRun.workers === null
    ? null
    : {
        subscribers: fanoutRun.workers.subscribers,
        /** Deliveries/s of the `distinct` run, by WORKERS (0: the server process serves the sockets). */
        deliveredPerSec: Object.fromEntries(Object.entries(fanoutRun.workers.runs).map(([n, r]) => [n, r.deliveredPerSec])),
        runs: fanoutRun.workers.runs,
      };
if (workers !== null) {
  log(
    `socket workers, ${workers.subscribers.toLocaleString()} distinct subscribers: ` +
      Object.entries(workers.deliveredPerSec).map(([n, d]) => `WORKERS=${n} ${d.toLocaleString()} deliveries/s`).join(', '),
  );
}
log(`fan-out took ${(fanoutRun.tookMs / 1000).toFixed(1)} s`);

const idle = await benchIdle(quick ? 500 : 1000);
// The same with the connections on one socket worker (WORKERS=1): its RSS is counted, its heap is not collected first.
const idleOnWorker = await benchIdle(quick ? 500 : 1000, 1);
log(
  `\nidle subscribers (server in a child process): ${idle.connections.toLocaleString()} graphql-ws connections with one subscription each ` +
    `that receives nothing: ${idle.idleMemoryPerSubscriberKb} KB RSS per subscriber (${idle.rssBeforeMb} → ${idle.rssAfterMb} MB), ${idle.heapPerSubscriberKb} KB heap; ` +
    `on one socket worker (WORKERS=1): ${idleOnWorker.idleMemoryPerSubscriberKb} KB RSS per subscriber (${idleOnWorker.rssBeforeMb} → ${idleOnWorker.rssAfterMb} MB, server and worker)`,
);

// 100 and 1,000 runners at 100 ticks/s each, on one engine thread (ENGINE_THREADS's
// default). Shorter in --quick: the quick run is close to its 2-minute budget.
const engine: Record<string, Awaited<ReturnType<typeof benchEngine>>> = {};
for (const runners of [100, 1000]) {
  const e = await benchEngine(quick ? 1 : 3, quick ? 500 : 1000, { runners, threads: 1 });
  engine[String(runners)] = e;
  log(
    `engine (${e.setup}, no subscriber): ${e.runners} runners, ${e.offeredPerSec.toLocaleString()} ticks/s offered, ` +
      `${e.publishedPerSec.toLocaleString()} TickReceived/s published (${e.allEventsPerSec.toLocaleString()} events/s of every type), ` +
      `event-loop lag p99 ${e.loopLagP99Ms} ms (max ${e.loopLagMaxMs} ms), all runners ticking ${e.readyMs} ms after the first start`,
  );
}

const startup = await benchStartup(quick ? 3 : 5);
log(
  `\nstart-up (median of ${startup.runs}): npm start to /ready ${startup.startMs} ms (node dist/main.js ${startup.nodeStartMs} ms), ` +
    `a bad configuration refused in ${startup.badConfigMs} ms, tickwire --help ${startup.cliHelpMs} ms`,
);

// Issue 27: the default server's memory, all processes, 30 s after /ready with a fresh
// DATA_DIR (the compiled server, built by the start-up part), and per runner started.
const memory = await benchMemory();
log(
  `\nmemory (node dist/main.js, defaults, fresh DATA_DIR): ${memory.startRssMb} MB RSS 30 s after /ready, all processes ` +
    `(${memory.startProcesses.map((p) => `${p.role} ${p.rssMb}`).join(', ')}); ${memory.perRunnerKb} KB more per runner ` +
    `(${memory.runners} started at 1 tick/s: ${memory.beforeRunnersMb} → ${memory.afterRunnersMb} MB)`,
);

// The GraphiQL page flood of issue 21: 20 clients re-fetching the page from one address
// while /health is polled every 100 ms (the compiled server, built by the start-up part).
const pageFlood = await benchPageFlood({ seconds: quick ? 3 : 7 });
log(
  `\nGraphiQL page flood (20 clients from one address, server in a child process): /health p99 ${pageFlood.flood.p99Ms} ms ` +
    `(p50 ${pageFlood.flood.p50Ms} ms, ${pageFlood.flood.polls} polls, ${pageFlood.flood.timeouts} unanswered) against ${pageFlood.quiet.p99Ms} ms without; ` +
    `answers ${JSON.stringify(pageFlood.statuses)}, server CPU ${pageFlood.serverCpuMsPerSec} ms/s`,
);

// Issue 26: what the typed client's subscribe costs on the wire by hash, against the full document.
const trustedDocuments = await benchTrustedDocuments(quick ? 5 : 20);
log(
  `\ntrusted documents: events() subscribe message ${trustedDocuments.subscribeBytes.hash} bytes by hash, ` +
    `${trustedDocuments.subscribeBytes.fullDocument} bytes with the full document (${trustedDocuments.subscribeBytes.ratio}×); ` +
    `first event after ${trustedDocuments.firstEventMs.hash} ms by hash, ${trustedDocuments.firstEventMs.fullDocument} ms by text (median, new connection each)`,
);

const ratio = (a: number, b: number) => Number((a / b).toPrecision(3));
const ratios = {
  throughputVsPeer: ratio(ours.eventsPerSec, peer.eventsPerSec),
  throughputVsLimit: ratio(ours.eventsPerSec, limit.eventsPerSec),
  cpuPerEventVsPeer: ratio(ours.serverCpuPerEventUs, peer.serverCpuPerEventUs),
  cpuPerEventVsLimit: ratio(ours.serverCpuPerEventUs, limit.serverCpuPerEventUs),
  p99VsLimit: ratio(ours.p99Ms, limit.p99Ms),
  lightP99VsLimit: ratio(oursLight.p99Ms, limitLight.p99Ms),
  lightP99VsPeer: ratio(oursLight.p99Ms, peerLight.p99Ms),
  bytesVsLimit: ratio(ours.bytesPerEvent, limit.bytesPerEvent),
  minimalBytesVsFull: ratio(oursMinimal.bytesPerEvent, ours.bytesPerEvent),
  /** Per fan-out size: distinct / shared, distinct / limit, distinct / limitCorked and shared / limit, in deliveries/s. */
  fanout: fanoutRatios,
  /** Per runner count: TickReceived published / offered by the engine (the goal is ≥ 0.98). */
  engine: Object.fromEntries(Object.entries(engine).map(([n, e]) => [n, ratio(e.publishedPerSec, e.offeredPerSec)])),
};
log(
  `\nours vs peer: ${ratios.throughputVsPeer}× events/s, ${ratios.cpuPerEventVsPeer}× server CPU per event` +
    `\nours vs limit: ${ratios.throughputVsLimit}× events/s, ${ratios.cpuPerEventVsLimit}× server CPU per event, ${ratios.p99VsLimit}× p99, ${ratios.bytesVsLimit}× bytes` +
    `\nlight load p99: ${ratios.lightP99VsLimit}× the limit's, ${ratios.lightP99VsPeer}× the peer's` +
    `\nminimal selection: ${ratios.minimalBytesVsFull}× the bytes of the full one`,
);

if (json) {
  console.log(
    JSON.stringify({
      load,
      inProcess,
      graphqlWs: { ...ours, minimal: oursMinimal, light: oursLight },
      peer: { ...peer, light: peerLight },
      limit: { ...limit, light: limitLight },
      throttled: { ...throttled.throttled, unthrottled: throttled.unthrottled, bytesRatio: throttled.bytesRatio },
      batched: { ...batched.batched, single: batched.single },
      store: { ...(store.postgres ?? { eventsPerSec: null, p99Ms: null, lossWindowMs: null, lossWindowEvents: null }), pglite: store.pglite },
      redis: { ...(redis ?? { eventsPerSec: null, p99Ms: null }), maxEventsPerSec: redisMax?.maxEventsPerSec ?? null, max: redisMax },
      startup,
      /** Seconds from the SIGKILL of the active engine to the first tick on the standby (median); null without Redis. */
      failover: failover?.seconds ?? null,
      failoverRun: failover,
      fanout: fanoutRun.sizes,
      fanoutSetup: {
        seconds: fanoutRun.seconds,
        warmUpSeconds: fanoutRun.warmUpSeconds,
        clientProcesses: fanoutRun.clientProcesses,
        tookMs: fanoutRun.tookMs,
      },
      overload: fanoutRun.overload,
      workers,
      idleMemoryPerSubscriberKb: idle.idleMemoryPerSubscriberKb,
      idle: { ...idle, onWorker: idleOnWorker },
      engine,
      pageFlood,
      trustedDocuments,
      memory,
      ratios,
    }),
  );
}
