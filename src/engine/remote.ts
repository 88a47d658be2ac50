import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { EngineError, engineErrorFromWire, parseRunnerConfig, type EngineErrorCode, type RunnerConfig } from './config.js';
import { log as logger, warnTo } from '../runtime/log.js';
import { snapshotRunner, stoppedByItself, type EngineControl, type EventSink, type LocalEngine, type RunnerInfo } from './engine.js';
import { Channel } from '../runtime/channel.js';
import { DEFAULT_ENGINE_LEASE_MS } from '../runtime/settings.js';
import { ENGINE_LOST_REASON, failoverKeys, lostOwners, LostEngineWatch, recordDesired, registryEntries, type RegistryEntry } from './failover.js';

/** Keys of the control channel beside the shared log's stream. */
function keys(stream: string) {
  return {
    ...failoverKeys(stream),
    /** Start requests, taken by exactly one engine process that accepts starts. */
    starts: `${stream}:control:start`,
    /** Requests for the runners of one host. */
    host: (owner: string) => `${stream}:control:${owner}`,
    reply: (requestId: string) => `${stream}:reply:${requestId}`,
  };
}

/**
 * How long a stopped runner's registry entry is shown without a refresh (its host forgot
 * it, or is gone). A runner reported lost stays, stopped, until a host runs it again.
 */
const REGISTRY_STALE_MS = 30_000;
/** How long the API waits for an engine to answer a request (default). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** Requests a control list may hold (default): beyond it a request is refused. */
export const DEFAULT_MAX_QUEUED = 1000;

/**
 * Pushes a request unless the list already holds ARGV[2] of them: returns the new
 * length, or 0 when full. Checking and pushing in one step keeps the bound exact.
 */
const PUSH_BOUNDED_SCRIPT = `
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
return redis.call('LPUSH', KEYS[1], ARGV[1])`;

interface Request {
  readonly requestId: string;
  /**
   * When the asking API instance stops waiting (ms since the epoch, its clock): after it
   * the request is dropped, never executed, since its caller was already told it failed.
   */
  readonly deadline: number;
  readonly op: 'start' | 'stop';
  readonly input?: unknown;
  readonly id?: string;
  readonly reason?: string;
}

type Reply = { readonly ok: true; readonly runner: RunnerInfo } | { readonly ok: false; readonly code: EngineErrorCode | 'ENGINE_FAILED'; readonly message: string };

/** A reply's error, as it crosses. */
type ReplyError = Pick<Extract<Reply, { ok: false }>, 'code' | 'message'>;

/**
 * A request as the API instance makes it: its body, the control list it goes to, and what
 * it fails with when no engine answers in time.
 */
type ControlCall = Omit<Request, 'requestId' | 'deadline'> & { readonly queue: string; readonly unanswered: string };

/** What was thrown, as an Error. */
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** Both requests answer the runner started or stopped. */
interface ControlAnswers {
  readonly start: RunnerInfo;
  readonly stop: RunnerInfo;
}


/** An owner id no other process has: the pid, and random bytes against pids reused on other hosts. */
export function newOwnerId(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Where an {@link EngineHost} publishes its runners and what it takes. */
export interface EngineHostOptions {
  /** The Redis of the shared log. */
  readonly url: string;
  /** The shared log's stream: the registry and control keys are named after it. */
  readonly stream: string;
  /** True for the engine process: it takes startRunner requests. */
  readonly acceptStarts: boolean;
  /** Where its warnings go (default: the process log). */
  readonly log?: (line: string) => void;
  /**
   * ENGINE_LEASE_MS: the TTL of this host's liveness key, renewed (with the registry) every
   * third of it, at least every second. When it lapses the API reports the host's runners lost.
   */
  readonly leaseMs?: number;
  /** Records what start and stop requests ask in the runners' desired state (the engine process: true). */
  readonly recordDesired?: boolean;
  /** Its owner id (default: made up from the pid): the engine process passes the one its lease names. */
  readonly owner?: string;
}

/**
 * The engine's sink, with each RunnerStopped also told to the engine's host (once there
 * is one), so that a runner that stopped by itself is not resumed by the next engine.
 */
export function tellingHost(sink: EventSink, host: () => EngineHost | null): EventSink {
  return {
    publish: (event, symbol) => {
      const published = sink.publish(event, symbol);
      if (event.type === 'RunnerStopped') host()?.noteStopped(event.runnerId, event.reason);
      return published;
    },
  };
}

/**
 * Makes a local engine's runners visible and controllable from every API instance: it
 * writes their state into a Redis hash every second and executes start/stop requests
 * from the control lists, answering each on its own reply key.
 */
export class EngineHost {
  readonly owner: string;
  private readonly redis: Redis;
  private readonly blocking: Redis;
  private readonly timer: NodeJS.Timeout;
  private readonly keys: ReturnType<typeof keys>;
  private stopped = false;
  private readonly loop: Promise<void>;

  private readonly acceptStarts: boolean;
  private readonly log: (line: string) => void;
  private readonly leaseMs: number;
  private readonly recordsDesired: boolean;
  private readonly stream: string;

  constructor(
    private readonly engine: LocalEngine,
    options: EngineHostOptions,
  ) {
    const { url, stream } = options;
    this.owner = options.owner ?? newOwnerId();
    this.stream = stream;
    this.acceptStarts = options.acceptStarts;
    this.log = options.log ?? warnTo(logger);
    this.leaseMs = options.leaseMs ?? DEFAULT_ENGINE_LEASE_MS;
    this.recordsDesired = options.recordDesired ?? false;
    this.keys = keys(stream);
    this.redis = new Redis(url, { maxRetriesPerRequest: 1 });
    this.blocking = new Redis(url, { maxRetriesPerRequest: 1 });
    for (const r of [this.redis, this.blocking]) r.on('error', () => undefined);
    this.timer = setInterval(() => void this.publishRegistry(), Math.min(1000, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
    void this.publishRegistry();
    this.loop = this.serve();
  }

  /**
   * Told of each RunnerStopped its engine publishes: a runner that stopped by itself (its
   * feed ended, it failed) is recorded as not to run, so that the next engine does not
   * resume it. Commands on one connection keep their order, so a later start of the same
   * runner through the API is recorded after this. Returns the record's promise, or null
   * when there is nothing to record.
   */
  noteStopped(runnerId: string, reason: string): Promise<void> | null {
    if (!this.recordsDesired || this.stopped || !stoppedByItself(reason)) return null;
    const runner = this.engine.getRunner(runnerId);
    if (runner === undefined) return null;
    return recordDesired(this.redis, this.stream, runner.config, false).catch((err: Error) => this.log(`tickwire: cannot record that runner "${runnerId}" stopped by itself: ${err.message}`));
  }

  /**
   * Stops at once, publishing nothing more: this process lost its engine lease, another
   * engine may run these runners now, and what this one would write is stale.
   */
  async abandon(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.blocking.disconnect();
    this.redis.disconnect();
    // A request blocked on a connection that was already down when it was disconnected is
    // never settled by ioredis: the loop is not waited for beyond a moment.
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  /** Publishes a last registry update and stops serving requests. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.publishRegistry();
    this.blocking.disconnect();
    await this.loop;
    this.redis.disconnect();
  }

  /**
   * Puts a runner about to start in the registry, under this host, before its RunnerStarted
   * can be appended: if this process dies in between, the runner is still reported lost
   * (a RunnerStopped "engine lost"), never left with a RunnerStarted and nothing after it.
   * Unless it is running here already (a start that will be refused as a duplicate).
   */
  async announce(config: RunnerConfig): Promise<void> {
    if (this.engine.getRunner(config.id)?.state !== undefined && this.engine.getRunner(config.id)?.state !== 'Stopped') return;
    const at = Date.now();
    const runner: RunnerInfo = {
      id: config.id,
      symbol: config.symbol,
      strategy: config.strategy,
      params: config.params ?? {},
      config,
      feed: config.feed.kind,
      state: 'Idle',
      position: null,
      unrealizedPnl: 0,
      stats: { ticksProcessed: 0, ticksRejected: 0, actionsExecuted: 0, errors: 0, errorRate: 0, realizedPnl: 0, lastPrice: null },
      startedAt: at,
      stoppedAt: null,
      stopReason: null,
    };
    await this.redis.hset(this.keys.registry, config.id, JSON.stringify({ owner: this.owner, at, runner } satisfies RegistryEntry));
  }

  /** Undoes {@link announce} after a refused start: the entry of what this host knows of the id, or none. */
  private async withdraw(id: string): Promise<void> {
    if (this.engine.getRunner(id) === undefined) await this.redis.hdel(this.keys.registry, id).catch(() => undefined);
    else await this.publishRegistry();
  }

  private async publishRegistry(): Promise<void> {
    // This process is alive for as long as the key is: past it, the API reports its runners lost.
    await this.redis.set(this.keys.alive(this.owner), '1', 'PX', this.leaseMs).catch(() => undefined);
    const runners = this.engine.listRunners();
    if (runners.length === 0) return;
    const at = Date.now();
    const fields: string[] = [];
    for (const runner of runners) fields.push(runner.id, JSON.stringify({ owner: this.owner, at, runner: snapshotRunner(runner) } satisfies RegistryEntry));
    await this.redis.hset(this.keys.registry, ...fields).catch(() => undefined);
  }

  private async serve(): Promise<void> {
    const queues = this.acceptStarts ? [this.keys.host(this.owner), this.keys.starts] : [this.keys.host(this.owner)];
    while (!this.stopped) {
      let popped: [string, string] | null;
      try {
        popped = await this.blocking.brpop(...queues, 1);
      } catch {
        if (this.stopped) return;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (popped === null) continue;
      let request: Request;
      try {
        request = JSON.parse(popped[1]) as Request;
      } catch {
        this.log(`tickwire: ignored a control request that is not JSON`);
        continue;
      }
      // Whoever asked was told ENGINE_UNAVAILABLE at its deadline: running it now would
      // start or stop a runner nobody is waiting for (perhaps one retried meanwhile).
      if (typeof request.deadline !== 'number' || !(Date.now() <= request.deadline)) {
        const late = typeof request.deadline === 'number' ? `its deadline passed ${Date.now() - request.deadline} ms ago` : 'it has no deadline';
        this.log(`tickwire: dropped a ${String(request.op)} request${request.op === 'stop' ? ` for "${String(request.id)}"` : ''}: ${late}`);
        continue;
      }
      const reply = await this.execute(request);
      // A start that finished after the deadline was already answered ENGINE_UNAVAILABLE
      // (and may be retried): a runner nobody was told about must not keep running.
      if (request.op === 'start' && reply.ok && Date.now() > request.deadline) {
        const late = `its startRunner request was answered ENGINE_UNAVAILABLE: it started ${Date.now() - request.deadline} ms after the requester's deadline`;
        this.log(`tickwire: stopped runner "${reply.runner.id}": ${late}`);
        await this.engine.stopRunner(reply.runner.id, late).catch(() => undefined);
        await this.publishRegistry();
        continue;
      }
      // Recorded before the answer: a runner the API was told started is resumed by the next engine.
      if (reply.ok && this.recordsDesired) await recordDesired(this.redis, this.stream, reply.runner.config, request.op === 'start').catch((err: Error) => this.log(`tickwire: cannot record runner "${reply.runner.id}"'s desired state: ${err.message}`));
      await this.publishRegistry();
      const key = this.keys.reply(request.requestId);
      await this.redis.multi().lpush(key, JSON.stringify(reply)).expire(key, 60).exec().catch(() => undefined);
    }
  }

  private async execute(request: Request): Promise<Reply> {
    let announced: string | null = null;
    try {
      if (request.op === 'start') {
        const config = parseRunnerConfig(request.input);
        await this.announce(config);
        announced = config.id;
      }
      const runner =
        request.op === 'start' ? await this.engine.addRunner(request.input) : await this.engine.stopRunner(String(request.id), request.reason);
      return { ok: true, runner: snapshotRunner(runner) };
    } catch (err) {
      if (announced !== null) await this.withdraw(announced);
      if (err instanceof EngineError) return { ok: false, code: err.code, message: err.message };
      return { ok: false, code: 'ENGINE_FAILED', message: (err as Error).message };
    }
  }
}

/**
 * The engine as an API instance sees it when runners live elsewhere: runners are read
 * from the registry that hosts publish, and startRunner / stopRunner are sent to the
 * engine process (or the host that owns the runner) and wait for its answer.
 */
export class RemoteEngine implements EngineControl {
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof keys>;
  private readonly timeoutMs: number;
  private readonly maxQueued: number;
  /** Makes this instance's request ids (the channel's numbers) unique among every API instance's. */
  private readonly instance = randomBytes(8).toString('hex');
  private readonly calls: Channel<ControlCall, ControlAnswers, ReplyError>;
  private readonly stream: string;
  private readonly watch: LostEngineWatch;

  constructor(
    private readonly url: string,
    stream: string,
    options: {
      /** How long a request waits for an engine before ENGINE_UNAVAILABLE (default 5000 ms). */
      readonly timeoutMs?: number;
      /** Requests a control list may hold before new ones are refused (default 1000). */
      readonly maxQueued?: number;
      /** ENGINE_LEASE_MS: how often the registry is looked at for runners whose host is gone. */
      readonly leaseMs?: number;
      /** Where the report of a lost engine is logged (default: the process log). */
      readonly log?: (line: string) => void;
    } = {},
  ) {
    this.stream = stream;
    // Reports the runners of a host that is gone, whichever instance notices first.
    this.watch = new LostEngineWatch({ url, stream, leaseMs: options.leaseMs ?? DEFAULT_ENGINE_LEASE_MS, log: options.log ?? warnTo(logger) });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.keys = keys(stream);
    this.redis = new Redis(url, { maxRetriesPerRequest: 1 });
    this.redis.on('error', () => undefined);
    this.calls = new Channel({
      name: 'the engine',
      // What the exchange did not settle (a request that cannot be written as JSON) fails the call.
      post: (id, call, signal) => void this.exchange(id, call, signal).catch((err: unknown) => this.calls.take(id)?.fail(asError(err))),
      fromWire: engineErrorFromWire,
      // Redis itself may be away: the whole exchange is bounded, not only the wait.
      deadlineMs: this.timeoutMs + 2000,
      expired: (call) => new EngineError('ENGINE_UNAVAILABLE', call.unanswered),
    });
  }

  /** Disconnects; requests waiting fail with ENGINE_UNAVAILABLE. */
  close(): void {
    this.calls.close(new EngineError('ENGINE_UNAVAILABLE', 'the engine control is closed'));
    this.watch.close();
    this.redis.disconnect();
  }

  async listRunners(): Promise<readonly RunnerInfo[]> {
    return (await this.entries()).map((e) => e.runner).sort((a, b) => a.startedAt - b.startedAt);
  }

  async getRunner(id: string): Promise<RunnerInfo | undefined> {
    return (await this.entry(id))?.runner;
  }

  async addRunner(input: unknown): Promise<RunnerInfo> {
    // Refused here already when it cannot be valid: the engine would say the same.
    parseRunnerConfig(input);
    return this.calls.call({ op: 'start', input, queue: this.keys.starts, unanswered: 'no engine process took the request (is `npm run engine` running?)' });
  }

  async stopRunner(id: string, reason?: string): Promise<RunnerInfo> {
    const entry = await this.entry(id);
    if (entry === undefined) throw new EngineError('UNKNOWN_RUNNER', `no runner "${id}"`);
    // Gone with its engine, it is stopped already: stopping it means the next engine must not resume it.
    if (entry.runner.state === 'Stopped' && entry.runner.stopReason === ENGINE_LOST_REASON) {
      await recordDesired(this.redis, this.stream, entry.runner.config, false);
      return entry.runner;
    }
    return this.calls.call({ op: 'stop', id, ...(reason !== undefined ? { reason } : {}), queue: this.keys.host(entry.owner), unanswered: `the engine that owns "${id}" did not answer` });
  }

  /**
   * The registry as the API shows it: a runner whose host is gone (its liveness key lapsed)
   * is stopped ("engine lost") from that moment, even before the report of it is made;
   * one reported lost stays until a host runs it again, so that restartRunner finds it.
   */
  private async entries(): Promise<RegistryEntry[]> {
    const all = await registryEntries(this.redis, this.stream);
    const gone = new Set(await lostOwners(this.redis, this.stream, all));
    const now = Date.now();
    const shown: RegistryEntry[] = [];
    for (const entry of all) {
      if (gone.has(entry.owner) && entry.runner.state !== 'Stopped') {
        shown.push({ ...entry, runner: { ...entry.runner, state: 'Stopped', stoppedAt: entry.at, stopReason: ENGINE_LOST_REASON } });
      } else if (entry.lost === true || now - entry.at < REGISTRY_STALE_MS) {
        shown.push(entry);
      }
    }
    return shown;
  }

  private async entry(id: string): Promise<RegistryEntry | undefined> {
    return (await this.entries()).find((e) => e.runner.id === id);
  }

  /**
   * Call `id` in Redis's framing: pushed on its control list (unless the list is full),
   * then its reply awaited on its own reply key, on a connection of its own (BRPOP blocks
   * it). Settles the call; a call nobody waits for any more (`signal`: the deadline
   * passed, or this engine control closed) stops waiting on Redis.
   */
  private async exchange(id: number, call: ControlCall, signal: AbortSignal): Promise<void> {
    const requestId = `${this.instance}-${id}`;
    const { queue, unanswered, ...body } = call;
    const payload = JSON.stringify({ requestId, deadline: Date.now() + this.timeoutMs, ...body } satisfies Request);
    const waiter = new Redis(this.url, { maxRetriesPerRequest: 1 });
    waiter.on('error', () => undefined);
    const abandon = (): void => waiter.disconnect();
    signal.addEventListener('abort', abandon, { once: true });
    try {
      const queued = await this.redis.eval(PUSH_BOUNDED_SCRIPT, 1, queue, payload, String(this.maxQueued));
      if (queued === 0) {
        const message = `${unanswered}: ${this.maxQueued} requests are already waiting for it, so no more are queued`;
        this.calls.settle(id, { ok: false, error: { code: 'ENGINE_UNAVAILABLE', message } });
        return;
      }
      const popped = signal.aborted ? null : await waiter.brpop(this.keys.reply(requestId), this.timeoutMs / 1000);
      if (popped === null) {
        // Still queued when nobody took it in time: take it back. The engine would drop it
        // at its deadline anyway; this also covers an engine whose clock is behind.
        await this.redis.lrem(queue, 1, payload).catch(() => undefined);
        this.calls.settle(id, { ok: false, error: { code: 'ENGINE_UNAVAILABLE', message: unanswered } });
        return;
      }
      const reply = JSON.parse(popped[1]) as Reply;
      this.calls.settle(id, reply.ok ? { ok: true, value: reply.runner } : { ok: false, error: reply });
    } catch (err) {
      if (signal.aborted) await this.redis.lrem(queue, 1, payload).catch(() => undefined);
      else this.calls.take(id)?.fail(asError(err));
    } finally {
      signal.removeEventListener('abort', abandon);
      waiter.disconnect();
    }
  }
}
