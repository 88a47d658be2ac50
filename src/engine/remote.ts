import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { EngineError, parseRunnerConfig, type EngineErrorCode } from './config.js';
import { log as logger, warnTo } from '../runtime/log.js';
import { snapshotRunner, type EngineControl, type LocalEngine, type RunnerInfo } from './engine.js';

/** Keys of the control channel beside the shared log's stream. */
function keys(stream: string) {
  return {
    /** Hash runner id → JSON { owner, at, runner }: every host's runners, refreshed each second. */
    registry: `${stream}:runners`,
    /** Start requests, taken by exactly one engine process that accepts starts. */
    starts: `${stream}:control:start`,
    /** Requests for the runners of one host. */
    host: (owner: string) => `${stream}:control:${owner}`,
    reply: (requestId: string) => `${stream}:reply:${requestId}`,
  };
}

/** How long a host's registry entry counts as live without a refresh. */
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

interface RegistryEntry {
  readonly owner: string;
  readonly at: number;
  readonly runner: RunnerInfo;
}

/**
 * Makes a local engine's runners visible and controllable from every API instance: it
 * writes their state into a Redis hash every second and executes start/stop requests
 * from the control lists, answering each on its own reply key.
 */
export class EngineHost {
  readonly owner = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly redis: Redis;
  private readonly blocking: Redis;
  private readonly timer: NodeJS.Timeout;
  private readonly keys: ReturnType<typeof keys>;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly engine: LocalEngine,
    url: string,
    stream: string,
    /** True for the engine process: it takes startRunner requests. */
    private readonly acceptStarts: boolean,
    private readonly log: (line: string) => void = warnTo(logger),
  ) {
    this.keys = keys(stream);
    this.redis = new Redis(url, { maxRetriesPerRequest: 1 });
    this.blocking = new Redis(url, { maxRetriesPerRequest: 1 });
    for (const r of [this.redis, this.blocking]) r.on('error', () => undefined);
    this.timer = setInterval(() => void this.publishRegistry(), 1000);
    this.timer.unref();
    void this.publishRegistry();
    this.loop = this.serve();
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

  private async publishRegistry(): Promise<void> {
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
      await this.publishRegistry();
      const key = this.keys.reply(request.requestId);
      await this.redis.multi().lpush(key, JSON.stringify(reply)).expire(key, 60).exec().catch(() => undefined);
    }
  }

  private async execute(request: Request): Promise<Reply> {
    try {
      const runner =
        request.op === 'start' ? await this.engine.addRunner(request.input) : await this.engine.stopRunner(String(request.id), request.reason);
      return { ok: true, runner: snapshotRunner(runner) };
    } catch (err) {
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

  constructor(
    private readonly url: string,
    stream: string,
    options: {
      /** How long a request waits for an engine before ENGINE_UNAVAILABLE (default 5000 ms). */
      readonly timeoutMs?: number;
      /** Requests a control list may hold before new ones are refused (default 1000). */
      readonly maxQueued?: number;
    } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.keys = keys(stream);
    this.redis = new Redis(url, { maxRetriesPerRequest: 1 });
    this.redis.on('error', () => undefined);
  }

  /** Disconnects. */
  close(): void {
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
    return this.request(this.keys.starts, { op: 'start', input }, 'no engine process took the request (is `npm run engine` running?)');
  }

  async stopRunner(id: string, reason?: string): Promise<RunnerInfo> {
    const entry = await this.entry(id);
    if (entry === undefined) throw new EngineError('UNKNOWN_RUNNER', `no runner "${id}"`);
    return this.request(this.keys.host(entry.owner), { op: 'stop', id, ...(reason !== undefined ? { reason } : {}) }, `the engine that owns "${id}" did not answer`);
  }

  private async entries(): Promise<RegistryEntry[]> {
    const all = await this.redis.hgetall(this.keys.registry);
    const now = Date.now();
    const live: RegistryEntry[] = [];
    for (const json of Object.values(all)) {
      try {
        const entry = JSON.parse(json) as RegistryEntry;
        if (now - entry.at < REGISTRY_STALE_MS) live.push(entry);
      } catch {
        // A malformed entry is skipped; the host rewrites it within a second.
      }
    }
    return live;
  }

  private async entry(id: string): Promise<RegistryEntry | undefined> {
    return (await this.entries()).find((e) => e.runner.id === id);
  }

  private async request(queue: string, body: Omit<Request, 'requestId' | 'deadline'>, timeoutMessage: string): Promise<RunnerInfo> {
    const requestId = randomBytes(8).toString('hex');
    const payload = JSON.stringify({ requestId, deadline: Date.now() + this.timeoutMs, ...body } satisfies Request);
    // A connection of its own: BRPOP blocks it while waiting for the answer.
    const waiter = new Redis(this.url, { maxRetriesPerRequest: 1 });
    waiter.on('error', () => undefined);
    try {
      // Redis itself may be away: the whole exchange is bounded, not only the wait.
      const deadline = new Promise<null>((resolve) => setTimeout(() => resolve(null), this.timeoutMs + 2000).unref());
      const exchange = (async () => {
        const queued = await this.redis.eval(PUSH_BOUNDED_SCRIPT, 1, queue, payload, String(this.maxQueued));
        if (queued === 0) return 'full' as const;
        return waiter.brpop(this.keys.reply(requestId), this.timeoutMs / 1000);
      })();
      // If the deadline wins, a late failure of the exchange must not go unhandled.
      exchange.catch(() => undefined);
      const popped = await Promise.race([exchange, deadline]);
      if (popped === 'full') {
        throw new EngineError('ENGINE_UNAVAILABLE', `${timeoutMessage}: ${this.maxQueued} requests are already waiting for it, so no more are queued`);
      }
      if (popped === null) {
        // Still queued when nobody took it in time: take it back. The engine would drop it
        // at its deadline anyway; this also covers an engine whose clock is behind.
        await this.redis.lrem(queue, 1, payload).catch(() => undefined);
        throw new EngineError('ENGINE_UNAVAILABLE', timeoutMessage);
      }
      const reply = JSON.parse(popped[1]) as Reply;
      if (reply.ok) return reply.runner;
      throw new EngineError(reply.code === 'ENGINE_FAILED' ? 'ENGINE_UNAVAILABLE' : reply.code, reply.message);
    } finally {
      waiter.disconnect();
    }
  }
}
