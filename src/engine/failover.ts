import { Redis } from 'ioredis';
import { appendOnce, fenceKeyOf, ready } from '../log/redis.js';
import type { RunnerEvent } from '../events/types.js';
import { DEFAULT_ENGINE_LEASE_MS } from '../runtime/settings.js';
import type { RunnerConfig } from './config.js';
import type { RunnerInfo } from './engine.js';

/**
 * Engines in Redis mode: the lease that makes one engine process the active one (with a
 * fencing token every append carries), the liveness key every process that hosts runners
 * renews, the report of a lost engine's runners, and the runners' desired state, kept in
 * Redis so that the next engine resumes them.
 */

/** The reason of the RunnerStopped (and PositionClosed) published for the runners of an engine that is gone. */
export const ENGINE_LOST_REASON = 'engine lost';

/** Keys of the failover machinery, beside the shared log's stream. */
export function failoverKeys(stream: string) {
  return {
    /** Hash runner id → JSON {@link RegistryEntry}: every host's runners, refreshed by their hosts. */
    registry: `${stream}:runners`,
    /** The active engine's lease: "<owner> <token>", with a TTL. */
    lease: `${stream}:engine:lease`,
    /** The newest lease's token: a counter raised on every acquisition (the fencing token). */
    fence: fenceKeyOf(stream),
    /** The owner of the newest lease, without a TTL: who a new holder takes over from. */
    holder: `${stream}:engine:holder`,
    /** One per process that hosts runners, with a TTL: gone when that process is. */
    alive: (owner: string) => `${stream}:alive:${owner}`,
    /** Set by whoever reports an owner's runners lost: they are reported once. */
    lost: (owner: string) => `${stream}:lost:${owner}`,
    /** Hash runner id → JSON {@link DesiredRunner}: what the API asked of each runner. */
    desired: `${stream}:desired`,
  };
}

/** A runner as its host publishes it. */
export interface RegistryEntry {
  readonly owner: string;
  readonly at: number;
  readonly runner: RunnerInfo;
  /** Set once the runner was reported stopped because its owner is gone. */
  readonly lost?: true;
}

/** What the API last asked of a runner: its configuration, and whether it should run. */
export interface DesiredRunner {
  readonly config: RunnerConfig;
  readonly running: boolean;
  /** When it was asked (ms since the epoch). */
  readonly at: number;
}

/** A connection for the lease and the reports: commands fail at once while Redis is away (a renewal that waits is worse than none). */
export function leaseConnection(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: (times) => Math.min(1000, 50 * 2 ** Math.min(times, 5)) });
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Takes the lease when nobody holds it, with a new fencing token, or renews it for its
 * holder. Answers {token, previous holder} or {0, current holder}.
 */
const ACQUIRE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local owner, token = string.match(current, '^(%S+) (%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {tonumber(token), ''}
  end
  return {0, owner or ''}
end
local token = redis.call('INCR', KEYS[2])
local previous = redis.call('GET', KEYS[3]) or ''
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[1])
return {token, previous}`;

/** Extends the lease while ARGV[1] (owner and token) still holds it: 1, else 0. */
const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/** Gives the lease up when ARGV[1] holds it: a standby takes over at once. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Options of an {@link EngineLease}. */
export interface EngineLeaseOptions {
  readonly url: string;
  readonly stream: string;
  /** Who takes it (an EngineHost's owner id). */
  readonly owner: string;
  /** How long it lasts without a renewal (ENGINE_LEASE_MS); renewed every third of it. */
  readonly ttlMs?: number;
  /** Where its lines go. */
  readonly log: (line: string) => void;
}

/**
 * The lease that makes one engine process of a stream the active one. Taken with SET NX
 * PX in a script that also raises the fencing counter: each acquisition gets a token
 * above every earlier one, and the shared log refuses appends that carry an older one.
 * Renewed every third of its TTL; the holder counts it lost a TTL after the last renewal
 * it sent that Redis confirmed (before Redis itself can let it expire), or as soon as a
 * renewal finds another holder.
 */
export class EngineLease {
  /** The fencing token of this holder's lease (0 until it is taken). */
  token = 0;
  /** Who held the lease before this process took it ('' if nobody ever did). */
  previous = '';
  readonly ttlMs: number;
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof failoverKeys>;
  private renewTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private released = false;

  constructor(private readonly options: EngineLeaseOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_ENGINE_LEASE_MS;
    this.redis = leaseConnection(options.url);
    this.keys = failoverKeys(options.stream);
  }

  /** How often a standby asks for the lease: often enough to take over well within a second of its expiry. */
  get pollMs(): number {
    return Math.max(50, Math.min(250, Math.floor(this.ttlMs / 8)));
  }

  /** Takes the lease if nobody holds it: the holder's owner id when another does, or null when taken. */
  async tryAcquire(): Promise<string | null> {
    await ready(this.redis, this.ttlMs);
    const keys = this.keys;
    const [token, who] = (await this.redis.eval(ACQUIRE_SCRIPT, 3, keys.lease, keys.fence, keys.holder, this.options.owner, String(this.ttlMs))) as [number, string];
    if (token === 0) return who;
    this.token = token;
    this.previous = who;
    return null;
  }

  /** Waits as a standby until the lease is this process's; says so once, and when it takes it. */
  async acquire(): Promise<void> {
    let waiting = false;
    for (;;) {
      const holder = await this.tryAcquire().catch((err: Error) => `(unknown: ${err.message})`);
      if (holder === null) break;
      if (!waiting) this.options.log(`standby: engine ${holder} holds the lease of ${this.options.stream}; taking over when it lapses (ENGINE_LEASE_MS ${this.ttlMs})`);
      waiting = true;
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
    this.options.log(this.previous === '' ? `took the lease (fencing token ${this.token})` : `took over the lease from ${this.previous} (fencing token ${this.token})`);
  }

  /** Renews the lease until {@link release}; `onLost` is told once, when it lapsed or another engine holds it. */
  hold(onLost: (why: string) => void): void {
    let told = false;
    const lost = (why: string) => {
      if (told || this.released) return;
      told = true;
      this.stopTimers();
      onLost(why);
    };
    const expireAt = (sentAt: number) => {
      if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
      this.expiryTimer = setTimeout(() => lost(`no renewal reached Redis for ${this.ttlMs} ms (ENGINE_LEASE_MS)`), Math.max(0, sentAt + this.ttlMs - Date.now()));
    };
    expireAt(Date.now());
    const renew = async () => {
      const sentAt = Date.now();
      const held = await this.redis.eval(RENEW_SCRIPT, 1, this.keys.lease, `${this.options.owner} ${this.token}`, String(this.ttlMs)).catch(() => null);
      if (held === 1) expireAt(sentAt);
      else if (held === 0) lost('another engine holds the lease');
    };
    this.renewTimer = setInterval(() => void renew(), Math.floor(this.ttlMs / 3));
  }

  /** Stops renewing and gives the lease up (when still held), so that a standby takes over at once. */
  async release(): Promise<void> {
    this.released = true;
    this.stopTimers();
    await this.redis.eval(RELEASE_SCRIPT, 1, this.keys.lease, `${this.options.owner} ${this.token}`).catch(() => undefined);
    this.redis.disconnect();
  }

  private stopTimers(): void {
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.renewTimer = null;
    this.expiryTimer = null;
  }
}

/** Rewrites registry entries still owned by ARGV[1] (another host may own the id by now). */
const MARK_LOST_SCRIPT = `
for i = 2, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if current then
    local ok, entry = pcall(cjson.decode, current)
    if ok and type(entry) == 'table' and entry.owner == ARGV[1] then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  end
end
return 1`;

/** True for an entry whose runner its owner still ran, as far as the registry says. */
function runningEntry(entry: RegistryEntry): boolean {
  return entry.lost !== true && entry.runner.state !== 'Stopped';
}

/**
 * The events that say a runner is gone with its engine: its open position closed at the
 * last price its engine published (at the P&L it showed), then RunnerStopped.
 */
function lostEvents(entry: RegistryEntry, now: number): [string, RunnerEvent][] {
  const { runner } = entry;
  const events: [string, RunnerEvent][] = [];
  if (runner.position !== null) {
    const exitPrice = runner.stats.lastPrice ?? runner.position.entryPrice;
    events.push([runner.symbol, { type: 'PositionClosed', runnerId: runner.id, exitPrice, realizedPnl: runner.unrealizedPnl, reason: ENGINE_LOST_REASON, timestamp: now }]);
  }
  events.push([runner.symbol, { type: 'RunnerStopped', runnerId: runner.id, reason: ENGINE_LOST_REASON, timestamp: now }]);
  return events;
}

/** Every entry of the registry that parses. */
export async function registryEntries(redis: Redis, stream: string): Promise<RegistryEntry[]> {
  const all = await redis.hgetall(failoverKeys(stream).registry);
  const entries: RegistryEntry[] = [];
  for (const json of Object.values(all)) {
    try {
      entries.push(JSON.parse(json) as RegistryEntry);
    } catch {
      // A malformed entry is skipped; its host rewrites it.
    }
  }
  return entries;
}

/** Where a lost engine's runners are reported. */
export interface LostReportTarget {
  readonly stream: string;
  readonly maxLen?: number;
  /** The largest id the reporting process has seen (ids never go back). */
  readonly floor?: number;
}

/**
 * Reports the runners `owner` ran as stopped ("engine lost"): for each one the registry
 * shows running, its open position closed and a RunnerStopped, appended to the log in one
 * step and once whoever else reports the same owner; then the registry shows them
 * stopped. Resolves with how many runners this call reported (0 when another did).
 */
export async function reportLostEngine(redis: Redis, target: LostReportTarget, owner: string): Promise<number> {
  const keys = failoverKeys(target.stream);
  const now = Date.now();
  const theirs = (await registryEntries(redis, target.stream)).filter((e) => e.owner === owner && runningEntry(e));
  const events = theirs.flatMap((e) => lostEvents(e, now));
  const appended = await appendOnce(redis, { ...target, onceKey: keys.lost(owner) }, events);
  // Marked whoever appended: a reporter that died between the two steps leaves it to the next.
  const marks: string[] = [];
  for (const e of theirs) {
    const runner: RunnerInfo = { ...e.runner, state: 'Stopped', position: null, unrealizedPnl: 0, stoppedAt: now, stopReason: ENGINE_LOST_REASON };
    marks.push(runner.id, JSON.stringify({ owner, at: now, runner, lost: true } satisfies RegistryEntry));
  }
  if (marks.length > 0) await redis.eval(MARK_LOST_SCRIPT, 1, keys.registry, owner, ...marks);
  return appended ? theirs.length : 0;
}

/** Owners the registry shows running runners for whose liveness key is gone. */
export async function lostOwners(redis: Redis, stream: string, entries: readonly RegistryEntry[]): Promise<string[]> {
  const owners = [...new Set(entries.filter(runningEntry).map((e) => e.owner))];
  if (owners.length === 0) return [];
  const keys = failoverKeys(stream);
  const exists = await Promise.all(owners.map((o) => redis.exists(keys.alive(o))));
  return owners.filter((_, i) => exists[i] === 0);
}

/** Options of a {@link LostEngineWatch}. */
export interface LostEngineWatchOptions extends LostReportTarget {
  readonly url: string;
  /** ENGINE_LEASE_MS: the liveness keys' TTL; the registry is looked at every tenth of it (at most every 250 ms). */
  readonly leaseMs?: number;
  readonly log: (line: string) => void;
}

/**
 * Watches the registry for runners whose host is gone (its liveness key lapsed) and
 * reports them stopped ({@link reportLostEngine}). Every API instance runs one; the report
 * is made once whichever notices first.
 */
export class LostEngineWatch {
  private readonly redis: Redis;
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;

  constructor(private readonly options: LostEngineWatchOptions) {
    this.redis = leaseConnection(options.url);
    const every = Math.max(50, Math.min(250, Math.floor((options.leaseMs ?? DEFAULT_ENGINE_LEASE_MS) / 10)));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  /** Looks once; what fails is tried again at the next look. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const { stream } = this.options;
      for (const owner of await lostOwners(this.redis, stream, await registryEntries(this.redis, stream))) {
        const reported = await reportLostEngine(this.redis, this.options, owner);
        if (reported > 0) this.options.log(`tickwire: engine ${owner} is gone (its lease lapsed): reported its ${reported} runners stopped ("${ENGINE_LOST_REASON}")`);
      }
    } catch {
      // Redis away: the next look tries again.
    } finally {
      this.sweeping = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.redis.disconnect();
  }
}

/** Records what the API asked of a runner, for the engine that runs next. */
export async function recordDesired(redis: Redis, stream: string, config: RunnerConfig, running: boolean): Promise<void> {
  await redis.hset(failoverKeys(stream).desired, config.id, JSON.stringify({ config, running, at: Date.now() } satisfies DesiredRunner));
}

/** The configurations of the runners the API last asked to run. */
export async function desiredRunning(redis: Redis, stream: string): Promise<RunnerConfig[]> {
  const all = await redis.hgetall(failoverKeys(stream).desired);
  const out: RunnerConfig[] = [];
  for (const json of Object.values(all)) {
    try {
      const desired = JSON.parse(json) as DesiredRunner;
      if (desired.running) out.push(desired.config);
    } catch {
      // Not ours to fix: skipped.
    }
  }
  return out;
}
