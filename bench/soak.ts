/**
 * `npm run soak -- --minutes N [--warmup M] [--sample-seconds S] [--subscribers K] [--json]`:
 * the default server (`node dist/main.js`, fresh DATA_DIR, its three runners) under a
 * mixed load for N minutes (fractions allowed), with every stream checked and the
 * server's memory and file descriptors sampled:
 *
 * - long-lived subscribers, K of each kind (default 4): graphql-ws unfiltered, one
 *   runner's, the standard and critical types, `throttleMs`, `eventBatches`; graphql-sse
 *   (distinct connections) unfiltered; Yoga's SSE of one runner; and graphql-ws streams
 *   that drop their connection every 20 s and resume with `after` (the last id);
 * - churn: a new graphql-ws connection every 250 ms with 1-3 subscriptions for 1-4 s,
 *   closed cleanly (complete, close 1000) or abruptly (TCP dropped) in turn, and a
 *   graphql-sse stream every second, aborted after 1-3 s;
 * - a runner started every 15 s and stopped 30 s later; a page of history every 5 s,
 *   each after the last one's cursor.
 *
 * Checked: ids in order, no duplicate, no loss that no StreamGap (or a batch's `dropped`)
 * announced on unfiltered streams, every event of a filtered stream that the first
 * unfiltered one saw (standard and critical ones only, when either stream had a gap),
 * each soak runner's RunnerStarted and RunnerStopped seen, history pages in order, and no
 * subscription stream left open on the server after the churn. Every S seconds (default
 * 30) it prints the RSS and open fds of every process; at the end the slope (MB/min,
 * fds/min) of each after the warm-up (default 5 minutes, or half the run when shorter).
 * Exits 1 when a check fails. Needs a build (`npm run build`).
 */
import { build, buildIsStale } from '../scripts/build-state.mjs';
import { sampleTree, startDistServer, graphqlRequest, type DistServer, type TreeSample } from './memory.js';
import { HIGH_FREQUENCY, itemsOf, SELECTION, sseSubscribe, StreamCheck, WsConnection } from './soak-clients.js';

/** What {@link runSoak} takes. */
export interface SoakOptions {
  readonly minutes: number;
  /** Minutes before the slope is measured (default min(5, minutes / 2)). */
  readonly warmupMinutes?: number;
  readonly sampleSeconds?: number;
  /** Long-lived subscribers per kind. */
  readonly subscribers?: number;
  /** Environment over the server's defaults. */
  readonly env?: Record<string, string>;
  readonly log?: (line: string) => void;
}

/** One sample: every process, and the server's main-thread heap. */
export interface SoakSample extends TreeSample {
  readonly heapUsedMb: number | null;
  readonly heapTotalMb: number | null;
}

/** A least-squares slope per minute over samples. */
export interface Slope {
  readonly rssMbPerMin: number;
  readonly fdsPerMin: number;
}

/** What {@link runSoak} found. */
export interface SoakResult {
  readonly minutes: number;
  readonly warmupMinutes: number;
  readonly samples: readonly SoakSample[];
  /** Slope after the warm-up: all processes, each by role and pid, and the server's heap in use (MB/min). */
  readonly slope: { readonly total: Slope; readonly processes: Readonly<Record<string, Slope>>; readonly heapUsedMbPerMin: number | null };
  readonly streams: Readonly<Record<string, { readonly events: number; readonly gaps: number; readonly announced: number; readonly unannounced: number; readonly duplicates: number; readonly outOfOrder: number; readonly errors: number }>>;
  /** Events of a filtered stream the unfiltered reference saw and it did not. */
  readonly missingFromFiltered: number;
  readonly churn: { readonly wsConnections: number; readonly cleanCloses: number; readonly abruptCloses: number; readonly sseStreams: number; readonly failures: number };
  readonly resumes: number;
  readonly runners: { readonly started: number; readonly stopped: number; readonly startedSeen: number; readonly stoppedSeen: number };
  readonly history: { readonly pages: number; readonly events: number; readonly outOfOrder: number; readonly errors: number };
  /** Subscription streams the server still had open after the churn ended, beyond the long-lived ones. */
  readonly leakedStreams: number;
  /** Every check that failed, in words; empty when the soak passed. */
  readonly failures: readonly string[];
}

const EVENTS = `subscription($runnerIds: [ID!], $types: [EventType!], $throttleMs: Int, $after: ID) { events(runnerIds: $runnerIds, types: $types, throttleMs: $throttleMs, after: $after) { ${SELECTION} } }`;
const BATCHES = `subscription { eventBatches(intervalMs: 100, maxSize: 500) { dropped events { ${SELECTION} } } }`;
const HISTORY = 'query($after: ID) { eventHistory(first: 200, after: $after) { edges { cursor } pageInfo { endCursor } } }';
const NOT_HIGH_FREQUENCY = ['RUNNER_STARTED', 'RUNNER_STOPPED', 'STATE_TRANSITION', 'ACTION_EXECUTED', 'POSITION_OPENED', 'POSITION_CLOSED', 'ERROR', 'STATS_UPDATE'];
const RUNNER = 'btc_ema';

/** What the reference saw: every event, for the cross-check and the runner checks. */
interface Reference {
  readonly check: StreamCheck;
  readonly events: { id: number; runnerId: string; type: string }[];
}

/** A filtered long-lived stream and which reference events it should have had. */
interface Filtered {
  readonly check: StreamCheck;
  readonly accepts: (e: { runnerId: string; type: string }) => boolean;
}

/** Everything the soak's timers share. */
interface Soak {
  readonly server: DistServer;
  readonly log: (line: string) => void;
  readonly reference: Reference;
  readonly checks: StreamCheck[];
  readonly filtered: Filtered[];
  readonly closers: (() => void)[];
  readonly churn: { wsConnections: number; cleanCloses: number; abruptCloses: number; sseStreams: number; failures: number };
  readonly runners: { started: string[]; stopped: string[] };
  readonly history: { pages: number; events: number; outOfOrder: number; errors: number; cursor: string | null; last: number };
  resumes: number;
  stopping: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(items: readonly T[], i: number): T => items[i % items.length]!;

/** Feeds a stream's payloads into its check (and the reference's list). */
function feed(check: StreamCheck, payload: unknown, onEvent?: (e: { id: number; runnerId: string; type: string }) => void): void {
  const { items, dropped, errors } = itemsOf(payload);
  check.counts.errors += errors.length;
  check.dropped(dropped);
  for (const item of items) {
    const before = check.last;
    check.add(item);
    if (item.kind === 'event' && item.id > before) onEvent?.(item);
  }
}

/** The long-lived graphql-ws and SSE subscribers, K of each kind. */
async function startLongLived(soak: Soak, perKind: number): Promise<void> {
  const { server } = soak;
  const ws = async (name: string, query: string, variables: Record<string, unknown>, check: StreamCheck, onEvent?: (e: { id: number; runnerId: string; type: string }) => void) => {
    const conn = await WsConnection.open(server.ws);
    soak.checks.push(check);
    soak.closers.push(() => conn.close(true));
    conn.subscribe(query, variables, { onNext: (p) => feed(check, p, onEvent), onEnd: (why) => soak.stopping || why === 'connection closed' || (check.counts.errors++, soak.log(`${name} ended: ${why}`)) });
  };
  await ws('ws-all-0', EVENTS, {}, soak.reference.check, (e) => soak.reference.events.push(e));
  for (let i = 0; i < perKind; i++) {
    if (i > 0) await ws(`ws-all-${i}`, EVENTS, {}, new StreamCheck(`ws-all-${i}`, true));
    const runner = new StreamCheck(`ws-runner-${i}`, false, { keepIds: true });
    soak.filtered.push({ check: runner, accepts: (e) => e.runnerId === RUNNER });
    await ws(runner.name, EVENTS, { runnerIds: [RUNNER] }, runner);
    const standard = new StreamCheck(`ws-standard-${i}`, false, { keepIds: true });
    soak.filtered.push({ check: standard, accepts: (e) => !HIGH_FREQUENCY.has(e.type) });
    await ws(standard.name, EVENTS, { types: NOT_HIGH_FREQUENCY }, standard);
    const throttled = new StreamCheck(`ws-throttled-${i}`, false, { keepIds: true, ordered: false });
    soak.filtered.push({ check: throttled, accepts: (e) => !HIGH_FREQUENCY.has(e.type) });
    await ws(throttled.name, EVENTS, { throttleMs: 250 }, throttled);
    await ws(`ws-batches-${i}`, BATCHES, {}, new StreamCheck(`ws-batches-${i}`, true));
    startSse(soak, new StreamCheck(`sse-all-${i}`, true), `${server.http}/graphql/stream`, {});
    const yoga = new StreamCheck(`yoga-sse-runner-${i}`, false, { keepIds: true });
    soak.filtered.push({ check: yoga, accepts: (e) => e.runnerId === RUNNER });
    startSse(soak, yoga, `${server.http}/graphql`, { runnerIds: [RUNNER] });
    void resumer(soak, new StreamCheck(`ws-resumed-${i}`, true), i);
  }
}

/** A long-lived SSE stream; it ends only when the soak does. */
function startSse(soak: Soak, check: StreamCheck, url: string, variables: Record<string, unknown>): void {
  const abort = new AbortController();
  soak.checks.push(check);
  soak.closers.push(() => abort.abort());
  void sseSubscribe(url, EVENTS, variables, { signal: abort.signal, onNext: (p) => feed(check, p) }).then((why) => {
    if (!soak.stopping) {
      check.counts.errors++;
      soak.log(`${check.name} ended: ${why}`);
    }
  });
}

/** An unfiltered graphql-ws stream that drops its connection every 20 s and resumes after the last id it got. */
async function resumer(soak: Soak, check: StreamCheck, offset: number): Promise<void> {
  soak.checks.push(check);
  await sleep(offset * 2000);
  while (!soak.stopping) {
    const conn = await WsConnection.open(soak.server.ws).catch(() => null);
    if (conn === null) {
      check.counts.errors++;
      await sleep(1000);
      continue;
    }
    const variables = check.last > 0 ? { after: String(check.last) } : {};
    conn.subscribe(EVENTS, variables, { onNext: (p) => feed(check, p) });
    soak.closers.push(() => conn.close(true));
    await sleep(20_000);
    conn.close(false);
    soak.resumes++;
  }
}

/** One churning graphql-ws connection: 1-3 subscriptions for 1-4 s, then a clean or an abrupt close. */
async function churnOnce(soak: Soak, n: number): Promise<void> {
  const conn = await WsConnection.open(soak.server.ws).catch(() => null);
  if (conn === null) {
    soak.churn.failures++;
    return;
  }
  soak.churn.wsConnections++;
  const variables = [{}, { runnerIds: [RUNNER] }, { types: NOT_HIGH_FREQUENCY }, { throttleMs: 100 }];
  const checks: StreamCheck[] = [];
  for (let i = 0; i <= n % 3; i++) {
    const chosen = pick(variables, n + i);
    const check = new StreamCheck('churn', false, { ordered: !('throttleMs' in chosen) });
    checks.push(check);
    conn.subscribe(EVENTS, chosen, { onNext: (p) => feed(check, p) });
  }
  await sleep(1000 + (n % 4) * 1000);
  const clean = n % 2 === 0;
  conn.close(clean);
  if (clean) soak.churn.cleanCloses++;
  else soak.churn.abruptCloses++;
  // Counted with the churn's own check: order and duplicates (filtered and short: loss is the long-lived streams' business).
  for (const check of checks) soak.checks.push(check);
}

/** Starts the churn and the periodic runner and history work; returns when the soak stops. */
async function drive(soak: Soak, until: number): Promise<void> {
  const tasks: Promise<void>[] = [];
  const every = (ms: number, work: (n: number) => Promise<void>) =>
    tasks.push(
      (async () => {
        for (let n = 0; Date.now() < until; n++) {
          void work(n).catch((err: unknown) => soak.log(`soak: ${(err as Error).message}`));
          await sleep(Math.min(ms, Math.max(0, until - Date.now())));
        }
      })(),
    );
  every(250, (n) => churnOnce(soak, n));
  every(1000, async (n) => {
    const abort = new AbortController();
    soak.churn.sseStreams++;
    const check = new StreamCheck('churn-sse', false);
    setTimeout(() => abort.abort(), 1000 + (n % 3) * 1000);
    await sseSubscribe(`${soak.server.http}/graphql/stream`, EVENTS, pick([{}, { runnerIds: [RUNNER] }], n), { signal: abort.signal, onNext: (p) => feed(check, p) });
    soak.checks.push(check);
  });
  every(15_000, (n) => runnerTurn(soak, n));
  every(5000, () => historyPage(soak));
  await Promise.all(tasks);
}

/** Starts soak runner n (1 tick/s... 20 ticks/s) and stops the one started 30 s before. */
async function runnerTurn(soak: Soak, n: number): Promise<void> {
  const id = `soak_${n}`;
  await graphqlRequest(soak.server.http, 'mutation($input: StartRunnerInput!) { startRunner(input: $input) { id } }', { input: { id, symbol: `SOAK${n % 10}`, feed: { ticksPerSecond: 20 } } });
  soak.runners.started.push(id);
  if (n >= 2) {
    const old = `soak_${n - 2}`;
    await graphqlRequest(soak.server.http, 'mutation($id: ID!) { stopRunner(id: $id, reason: "soak") { id } }', { id: old });
    soak.runners.stopped.push(old);
  }
}

/** One page of history after the last one's cursor. */
async function historyPage(soak: Soak): Promise<void> {
  const { history } = soak;
  try {
    const data = await graphqlRequest<{ eventHistory: { edges: { cursor: string }[]; pageInfo: { endCursor: string | null } } }>(soak.server.http, HISTORY, { after: history.cursor });
    history.pages++;
    for (const edge of data.eventHistory.edges) {
      const id = Number(edge.cursor);
      if (id <= history.last) history.outOfOrder++;
      history.last = Math.max(history.last, id);
      history.events++;
    }
    history.cursor = data.eventHistory.pageInfo.endCursor ?? history.cursor;
  } catch (err) {
    history.errors++;
    soak.log(`history: ${(err as Error).message}`);
  }
}

/** Least-squares slope of `value` per minute. */
function slopeOf(points: readonly { at: number; value: number }[]): number {
  if (points.length < 2) return 0;
  const xs = points.map((p) => p.at / 60_000);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = points.reduce((a, p) => a + p.value, 0) / points.length;
  let num = 0;
  let den = 0;
  points.forEach((p, i) => {
    num += (xs[i]! - mx) * (p.value - my);
    den += (xs[i]! - mx) ** 2;
  });
  return den === 0 ? 0 : Math.round((num / den) * 1000) / 1000;
}

/** Slopes of the total and of each process after `from`. */
function slopes(samples: readonly SoakSample[], from: number): SoakResult['slope'] {
  const after = samples.filter((s) => s.at >= from);
  const total = { rssMbPerMin: slopeOf(after.map((s) => ({ at: s.at, value: s.totalRssMb }))), fdsPerMin: slopeOf(after.map((s) => ({ at: s.at, value: s.totalFds }))) };
  const keys = new Set(after.flatMap((s) => s.processes.map((p) => `${p.role} ${p.pid}`)));
  const processes: Record<string, Slope> = {};
  for (const key of keys) {
    const of = (s: TreeSample) => s.processes.find((p) => `${p.role} ${p.pid}` === key);
    const points = after.filter((s) => of(s) !== undefined);
    processes[key] = {
      rssMbPerMin: slopeOf(points.map((s) => ({ at: s.at, value: of(s)!.rssMb }))),
      fdsPerMin: slopeOf(points.map((s) => ({ at: s.at, value: of(s)!.fds }))),
    };
  }
  const heap = after.filter((s) => s.heapUsedMb !== null && Number.isFinite(s.heapUsedMb));
  return { total, processes, heapUsedMbPerMin: heap.length < 2 ? null : slopeOf(heap.map((s) => ({ at: s.at, value: s.heapUsedMb! }))) };
}

/** The server's main-thread V8 heap (from /metrics): RSS that grows while this does not is the heap's slack or memory outside it. */
async function serverHeap(http: string): Promise<{ usedMb: number; totalMb: number }> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  return { usedMb: mb(read('tickwire_nodejs_heap_size_used_bytes')), totalMb: mb(read('tickwire_nodejs_heap_size_total_bytes')) };
}

/** Subscription streams open on the server now, all transports (from /metrics). */
async function openStreams(http: string): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^tickwire_subscription_streams\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

/** Filtered streams against the reference: events it saw in their span that they did not get. */
function missingFromFiltered(soak: Soak): number {
  let missing = 0;
  const referenceGaps = soak.reference.check.counts.gaps > 0;
  for (const { check, accepts } of soak.filtered) {
    if (check.ids === null || check.first === 0) continue;
    const partial = referenceGaps || check.counts.gaps > 0;
    const got = new Set(check.ids);
    for (const e of soak.reference.events) {
      if (e.id < check.first || e.id > check.last || !accepts(e)) continue;
      if (partial && HIGH_FREQUENCY.has(e.type)) continue;
      if (!got.has(e.id)) missing++;
    }
  }
  return missing;
}

/** Runs the soak against a fresh default server; see the file's comment. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const warmupMinutes = options.warmupMinutes ?? Math.min(5, options.minutes / 2);
  const sampleMs = (options.sampleSeconds ?? 30) * 1000;
  const server = await startDistServer(options.env ?? {});
  const soak: Soak = {
    server,
    log,
    reference: { check: new StreamCheck('ws-all-0', true), events: [] },
    checks: [],
    filtered: [],
    closers: [],
    churn: { wsConnections: 0, cleanCloses: 0, abruptCloses: 0, sseStreams: 0, failures: 0 },
    runners: { started: [], stopped: [] },
    history: { pages: 0, events: 0, outOfOrder: 0, errors: 0, cursor: null, last: 0 },
    resumes: 0,
    stopping: false,
  };
  const samples: SoakSample[] = [];
  const started = Date.now();
  const sample = async () => {
    const s = sampleTree(server.pid);
    const heap = await serverHeap(server.http).catch(() => null);
    samples.push({ ...s, heapUsedMb: heap?.usedMb ?? null, heapTotalMb: heap?.totalMb ?? null });
    const each = s.processes.map((p) => `${p.role} ${p.pid} ${p.rssMb} MB ${p.fds} fds`).join(', ');
    const heapText = heap === null ? '' : `; server's V8 heap ${heap.usedMb} MB used of ${heap.totalMb} MB`;
    log(`soak ${((s.at - started) / 60_000).toFixed(1)} min: ${s.totalRssMb} MB, ${s.totalFds} fds (${each})${heapText}; reference ${soak.reference.check.counts.events} events`);
  };
  try {
    await sample();
    const sampler = setInterval(() => void sample(), sampleMs);
    await startLongLived(soak, options.subscribers ?? 4);
    await drive(soak, started + options.minutes * 60_000);
    clearInterval(sampler);
    await sample();
    return await finish(soak, { samples, started, warmupMinutes, minutes: options.minutes });
  } finally {
    soak.stopping = true;
    for (const close of soak.closers) close();
    await server.stop();
  }
}

/** After the load: waits for the churn's streams to be gone, then gathers the checks. */
async function finish(soak: Soak, run: { samples: SoakSample[]; started: number; warmupMinutes: number; minutes: number }): Promise<SoakResult> {
  // The churn's last connections close within 4 s; the server lets go of them soon after.
  const longLived = soak.checks.filter((c) => c.name !== 'churn' && c.name !== 'churn-sse' && !c.name.startsWith('ws-resumed')).length;
  const resumers = soak.checks.filter((c) => c.name.startsWith('ws-resumed')).length;
  let streams = await openStreams(soak.server.http);
  for (let i = 0; i < 60 && streams > longLived + resumers; i++) {
    await sleep(500);
    streams = await openStreams(soak.server.http);
  }
  const streamsOf: Record<string, StreamCheck['counts']> = {};
  for (const check of soak.checks) {
    const into = (streamsOf[check.name] ??= { events: 0, gaps: 0, announced: 0, unannounced: 0, duplicates: 0, outOfOrder: 0, errors: 0 });
    for (const key of Object.keys(into) as (keyof StreamCheck['counts'])[]) into[key] += check.counts[key];
  }
  const seen = (type: string) => new Set(soak.reference.events.filter((e) => e.type === type).map((e) => e.runnerId));
  const startedSeen = soak.runners.started.filter((id) => seen('RUNNER_STARTED').has(id)).length;
  const stoppedSeen = soak.runners.stopped.filter((id) => seen('RUNNER_STOPPED').has(id)).length;
  const missing = missingFromFiltered(soak);
  const failures: string[] = [];
  for (const [name, c] of Object.entries(streamsOf)) {
    if (c.unannounced > 0) failures.push(`${name}: ${c.unannounced} events lost without a StreamGap`);
    if (c.duplicates > 0) failures.push(`${name}: ${c.duplicates} duplicates`);
    if (c.outOfOrder > 0) failures.push(`${name}: ${c.outOfOrder} out of order`);
    if (c.errors > 0) failures.push(`${name}: ${c.errors} errors`);
  }
  if (missing > 0) failures.push(`filtered streams: ${missing} events the unfiltered reference got were missing`);
  if (startedSeen < soak.runners.started.length) failures.push(`RunnerStarted seen for ${startedSeen} of ${soak.runners.started.length} soak runners`);
  if (stoppedSeen < soak.runners.stopped.length) failures.push(`RunnerStopped seen for ${stoppedSeen} of ${soak.runners.stopped.length} soak runners`);
  if (soak.history.outOfOrder > 0 || soak.history.errors > 0) failures.push(`history: ${soak.history.outOfOrder} out of order, ${soak.history.errors} errors`);
  const leakedStreams = Math.max(0, streams - longLived - resumers);
  if (leakedStreams > 0) failures.push(`${leakedStreams} subscription streams still open after the churn`);
  if (soak.churn.failures > 0) failures.push(`${soak.churn.failures} churn connections failed to open`);
  const { history } = soak;
  return {
    minutes: run.minutes,
    warmupMinutes: run.warmupMinutes,
    samples: run.samples,
    slope: slopes(run.samples, run.started + run.warmupMinutes * 60_000),
    streams: streamsOf,
    missingFromFiltered: missing,
    churn: soak.churn,
    resumes: soak.resumes,
    runners: { started: soak.runners.started.length, stopped: soak.runners.stopped.length, startedSeen, stoppedSeen },
    history: { pages: history.pages, events: history.events, outOfOrder: history.outOfOrder, errors: history.errors },
    leakedStreams,
    failures,
  };
}

/** The command line: `npm run soak -- --minutes N …`. */
async function main(): Promise<void> {
  if (buildIsStale() && (await build()) !== 0) throw new Error('npm run build failed');
  const argv = process.argv.slice(2);
  const option = (name: string): number | undefined => {
    const at = argv.indexOf(`--${name}`);
    if (at < 0) return undefined;
    const value = Number(argv[at + 1]);
    if (!(value > 0)) throw new Error(`--${name} needs a positive number`);
    return value;
  };
  const minutes = option('minutes') ?? 10;
  const result = await runSoak({ minutes, warmupMinutes: option('warmup'), sampleSeconds: option('sample-seconds'), subscribers: option('subscribers') });
  const t = result.slope.total;
  console.log(`\nsoak of ${minutes} min: slope after ${result.warmupMinutes} min: ${t.rssMbPerMin} MB/min, ${t.fdsPerMin} fds/min (all processes)`);
  for (const [name, s] of Object.entries(result.slope.processes)) console.log(`  ${name}: ${s.rssMbPerMin} MB/min, ${s.fdsPerMin} fds/min`);
  console.log(`  the server's V8 heap in use: ${result.slope.heapUsedMbPerMin} MB/min`);
  console.log(
    `churn: ${result.churn.wsConnections} graphql-ws connections (${result.churn.cleanCloses} clean, ${result.churn.abruptCloses} abrupt closes), ${result.churn.sseStreams} SSE streams; ` +
      `${result.resumes} resumes; runners ${result.runners.started} started, ${result.runners.stopped} stopped; history ${result.history.pages} pages; leaked streams ${result.leakedStreams}`,
  );
  console.log(result.failures.length === 0 ? 'all checks passed' : `FAILED:\n- ${result.failures.join('\n- ')}`);
  if (argv.includes('--json')) console.log(JSON.stringify(result));
  process.exitCode = result.failures.length === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/soak.ts')) await main();
