import type { Position } from '../domain/position.js';
import type { RunnerState } from '../domain/state.js';
import { createStrategy, type Strategy } from '../domain/strategy.js';
import type { RunnerEvent } from '../events/types.js';
import {
  DEFAULT_MAX_RUNNERS,
  DEFAULT_MAX_TOTAL_TICKS_PER_SECOND,
  DEFAULT_REPLAY_TICKS_PER_SECOND,
  EngineError,
  parseRunnerConfig,
  type FeedConfig,
  type RunnerConfig,
} from './config.js';
import type { MarketFeed } from './feeds/feed.js';
import { replayFeed } from './feeds/replay.js';
import { checkReplayFile } from './feeds/replay-path.js';
import { simulatedFeed } from './feeds/simulated.js';
import { SymbolRunner, type RunnerStats } from './runner.js';

/** Where the engine publishes: the event bus, or anything shaped like it. */
export interface EventSink {
  publish(event: RunnerEvent, symbol: string): unknown;
  /**
   * True while what was published is still being handed to subscribers in later turns (the
   * bus's fan-out slices): a publisher with a backlog waits for it, instead of piling more
   * on, and its own backlog ages and sheds by its policy.
   */
  readonly handingOut?: boolean;
}

/** Why a runner stopped when its feed ran out. */
export const FEED_ENDED_REASON = 'feed ended';

/**
 * True for a RunnerStopped reason that the runner's own run gave: its feed ended, it
 * failed, or it stopped on an error (`stopOnError`). False for a stop somebody asked for
 * (stopRunner, the engine shutting down, an engine lost), after which a runner that
 * should run is resumed by the next engine.
 */
export function stoppedByItself(reason: string): boolean {
  return reason === FEED_ENDED_REASON || /^(runner failed|stopped on error|internal error): /.test(reason);
}

/** A live, read-only view of one runner the engine manages. */
export interface RunnerInfo {
  readonly id: string;
  readonly symbol: string;
  readonly strategy: string;
  /** The strategy's parameters with defaults filled in. */
  readonly params: Readonly<Record<string, number>>;
  readonly config: RunnerConfig;
  /** The feed in words, e.g. `simulated 100/s seed 7`. */
  readonly feed: string;
  readonly state: RunnerState;
  readonly position: Position | null;
  readonly unrealizedPnl: number;
  readonly stats: RunnerStats;
  readonly startedAt: number;
  readonly stoppedAt: number | null;
  readonly stopReason: string | null;
}

/**
 * What the API needs of an engine: the local {@link TradingEngine}, or one that lives in
 * another process and is reached over the shared log's control channel.
 */
export interface EngineControl {
  /** `reason` goes into the RunnerStarted (an engine resuming a runner says so). */
  addRunner(input: unknown, reason?: string): RunnerInfo | Promise<RunnerInfo>;
  stopRunner(id: string, reason?: string): Promise<RunnerInfo>;
  getRunner(id: string): RunnerInfo | undefined | Promise<RunnerInfo | undefined>;
  listRunners(): readonly RunnerInfo[] | Promise<readonly RunnerInfo[]>;
}

/** A plain copy of a runner's view at this moment (JSON-safe, for other processes). */
export function snapshotRunner(info: RunnerInfo): RunnerInfo {
  return {
    id: info.id,
    symbol: info.symbol,
    strategy: info.strategy,
    params: { ...info.params },
    config: info.config,
    feed: info.feed,
    state: info.state,
    position: info.position,
    unrealizedPnl: info.unrealizedPnl,
    stats: { ...info.stats },
    startedAt: info.startedAt,
    stoppedAt: info.stoppedAt,
    stopReason: info.stopReason,
  };
}

/** Options of a {@link TradingEngine}. */
export interface EngineOptions {
  /** Milliseconds since the epoch for event timestamps (default Date.now). */
  readonly clock?: () => number;
  /**
   * Most runners running at once (MAX_RUNNERS, default {@link DEFAULT_MAX_RUNNERS}); as
   * many stopped ones are remembered for `restartRunner`, the oldest forgotten first.
   */
  readonly maxRunners?: number;
  /**
   * Most ticks per second of all running runners together, each runner's configured rate
   * counted (MAX_TOTAL_TICKS_PER_SECOND, default {@link DEFAULT_MAX_TOTAL_TICKS_PER_SECOND}):
   * what keeps one runner from starving every client. Also the most one runner may ask for.
   */
  readonly maxTotalTicksPerSecond?: number;
}

/** The ticks per second a feed is paced at, defaults filled in. */
export function feedRate(feed: FeedConfig): number {
  return feed.kind === 'replay' ? (feed.ticksPerSecond ?? DEFAULT_REPLAY_TICKS_PER_SECOND) : feed.ticksPerSecond;
}

/** What a {@link ManagedRunner} holds from its start. */
interface ManagedRunnerParts {
  readonly runner: SymbolRunner;
  readonly config: RunnerConfig;
  readonly params: Readonly<Record<string, number>>;
  readonly source: MarketFeed;
  readonly startedAt: number;
}

class ManagedRunner implements RunnerInfo {
  readonly runner: SymbolRunner;
  readonly config: RunnerConfig;
  readonly params: Readonly<Record<string, number>>;
  readonly source: MarketFeed;
  readonly startedAt: number;
  readonly abort = new AbortController();
  stoppedAt: number | null = null;
  done: Promise<void> = Promise.resolve();
  statsTimer: NodeJS.Timeout | null = null;

  constructor(parts: ManagedRunnerParts) {
    this.runner = parts.runner;
    this.config = parts.config;
    this.params = parts.params;
    this.source = parts.source;
    this.startedAt = parts.startedAt;
  }

  get id(): string {
    return this.runner.id;
  }
  get symbol(): string {
    return this.runner.symbol;
  }
  get strategy(): string {
    return this.config.strategy;
  }
  get feed(): string {
    return this.source.description;
  }
  get state(): RunnerState {
    return this.runner.state;
  }
  get position(): Position | null {
    return this.runner.position;
  }
  get unrealizedPnl(): number {
    return this.runner.unrealizedPnl;
  }
  get stats(): RunnerStats {
    return this.runner.stats;
  }
  get stopReason(): string | null {
    return this.runner.stoppedBecause;
  }
}

/** A stable seed per runner id, so default runners differ but replay the same way. */
export function seedOf(id: string): number {
  let hash = 2166136261;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619);
  return hash >>> 0;
}

function createFeed(symbol: string, id: string, feed: FeedConfig): MarketFeed {
  if (feed.kind === 'replay') return replayFeed({ symbol, ...feed, ticksPerSecond: feedRate(feed) });
  return simulatedFeed({ symbol, ...feed, seed: feed.seed ?? seedOf(id) });
}

/** The limits an engine enforces (see {@link EngineOptions}). */
export interface EngineLimits {
  readonly maxRunners: number;
  readonly maxTotalTicksPerSecond: number;
}

/** Fills in and checks an engine's limits; throws RangeError naming the bad one. */
export function engineLimits(options: EngineOptions): EngineLimits {
  const maxRunners = options.maxRunners ?? DEFAULT_MAX_RUNNERS;
  const maxTotalTicksPerSecond = options.maxTotalTicksPerSecond ?? DEFAULT_MAX_TOTAL_TICKS_PER_SECOND;
  if (!Number.isInteger(maxRunners) || maxRunners < 1) throw new RangeError(`maxRunners must be a whole number ≥ 1, got ${maxRunners}`);
  if (!Number.isFinite(maxTotalTicksPerSecond) || maxTotalTicksPerSecond < 1) {
    throw new RangeError(`maxTotalTicksPerSecond must be a finite number ≥ 1, got ${maxTotalTicksPerSecond}`);
  }
  return { maxRunners, maxTotalTicksPerSecond };
}

/** What {@link vetRunner} needs to know of a runner the engine already has. */
export interface KnownRunner {
  readonly state: RunnerState;
  readonly config: RunnerConfig;
}

/**
 * Everything that can refuse a start, in the order the engine has always checked it:
 * the configuration, a duplicate id, the strategy and its parameters, the limits
 * (counted over `known`, the runners of every shard), a replay file that is not there.
 * Pure but for the replay file's `stat`, so an engine that runs its runners on other
 * threads refuses a start where it is asked, with the same {@link EngineError}.
 */
export function vetRunner(
  input: unknown,
  known: ReadonlyMap<string, KnownRunner>,
  limits: EngineLimits,
): { readonly config: RunnerConfig; readonly strategy: Strategy } {
  const config = parseRunnerConfig(input);
  const existing = known.get(config.id);
  if (existing !== undefined && existing.state !== 'Stopped') {
    throw new EngineError('DUPLICATE_RUNNER', `runner "${config.id}" is already running`);
  }
  let strategy;
  try {
    strategy = createStrategy(config.strategy, config.params ?? undefined);
  } catch (err) {
    throw new EngineError('INVALID_CONFIG', `runner "${config.id}": ${(err as Error).message}`);
  }
  admit(config, known, limits);
  if (config.feed.kind === 'replay') {
    const problem = checkReplayFile(config.feed.path);
    if (problem !== null) throw new EngineError('INVALID_CONFIG', `runner "${config.id}": feed.path: ${problem}`);
  }
  return { config, strategy };
}

/** Refuses a start that would take the engine over its runner count or its total tick rate. */
function admit(config: RunnerConfig, known: ReadonlyMap<string, KnownRunner>, limits: EngineLimits): void {
  const { maxRunners, maxTotalTicksPerSecond } = limits;
  const running = [...known.values()].filter((m) => m.state !== 'Stopped');
  if (running.length >= maxRunners) {
    throw new EngineError(
      'INVALID_CONFIG',
      `runner "${config.id}": the engine already runs ${running.length} runners, its limit (MAX_RUNNERS=${maxRunners}); stop one first`,
    );
  }
  const rate = feedRate(config.feed);
  if (rate > maxTotalTicksPerSecond) {
    throw new EngineError(
      'INVALID_CONFIG',
      `runner "${config.id}": feed.ticksPerSecond ${rate} is over the engine's limit of ${maxTotalTicksPerSecond} ticks/s for all runners together (MAX_TOTAL_TICKS_PER_SECOND)`,
    );
  }
  const total = running.reduce((sum, m) => sum + feedRate(m.config.feed), 0);
  if (total + rate > maxTotalTicksPerSecond) {
    throw new EngineError(
      'INVALID_CONFIG',
      `runner "${config.id}": feed.ticksPerSecond ${rate} would take the engine to ${total + rate} ticks/s, over its limit of ${maxTotalTicksPerSecond} (MAX_TOTAL_TICKS_PER_SECOND); ${total} are in use`,
    );
  }
}

/**
 * Stopped runners are kept for restartRunner, but not without end: beyond `maxRunners`
 * stopped ones, the oldest go first.
 */
export function forgetOldStopped(runners: Map<string, { readonly state: RunnerState }>, maxRunners: number): void {
  let stopped = 0;
  for (const m of runners.values()) if (m.state === 'Stopped') stopped++;
  for (const [id, m] of runners) {
    if (stopped <= maxRunners) break;
    if (m.state === 'Stopped') {
      runners.delete(id);
      stopped--;
    }
  }
}

/**
 * An engine in this process that the server drives: {@link TradingEngine}, or
 * `ThreadedEngine`, whose runners live on worker threads. Unlike a remote
 * {@link EngineControl}, it answers `getRunner` and `listRunners` at once.
 */
export interface LocalEngine extends EngineControl {
  getRunner(id: string): RunnerInfo | undefined;
  listRunners(): readonly RunnerInfo[];
  /** Stops every running runner; resolves once each one's RunnerStopped is published. */
  stopAll(reason?: string): Promise<void>;
  /** Resolves once the engine can start a runner without first loading anything (its threads run). */
  ready(): Promise<void>;
  /** Stops every runner and lets go of what the engine holds (threads); the engine is unusable after. */
  close(): Promise<void>;
}

/**
 * Owns the runners: starts and stops them at run time, drives their feeds and stats
 * timers, and publishes everything they emit into one sink. One runner's failure —
 * a bad feed, a throwing strategy, even a bug — stops that runner only.
 */
export class TradingEngine implements LocalEngine {
  private readonly runners = new Map<string, ManagedRunner>();
  private readonly clock: () => number;
  /** The limits in effect (see {@link EngineOptions}). */
  readonly limits: EngineLimits;

  /** Creates an engine with no runners that publishes into `sink`. */
  constructor(
    private readonly sink: EventSink,
    options: EngineOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.limits = engineLimits(options);
  }

  /**
   * Validates a runner configuration, starts the runner and its feed, and returns it.
   * Throws {@link EngineError}: INVALID_CONFIG (naming the key, the unknown strategy or
   * the bad parameter, a replay file that is not there, a start over MAX_RUNNERS or
   * MAX_TOTAL_TICKS_PER_SECOND) or DUPLICATE_RUNNER while a runner with that id is
   * running. The id of a stopped runner may be reused; the new runner replaces it.
   *
   * A replay path is opened as given (relative to the working directory): callers that
   * take paths from users confine them first (see `resolveReplayPath`).
   */
  addRunner(input: unknown, reason?: string): RunnerInfo {
    const { config, strategy } = vetRunner(input, this.runners, this.limits);
    const symbol = config.symbol;
    const sink = this.sink;
    const runner = new SymbolRunner(
      {
        id: config.id,
        symbol,
        strategy,
        quantity: config.quantity,
        feeRate: config.feeRate,
        stopOnError: config.stopOnError,
        clock: this.clock,
      },
      (event) => {
        try {
          sink.publish(event, symbol);
        } catch {
          // The bus never throws; a foreign sink that does must not take the runner down.
        }
      },
    );
    const managed = new ManagedRunner({
      runner,
      config,
      params: strategy.params,
      source: createFeed(symbol, config.id, config.feed),
      startedAt: this.clock(),
    });
    this.runners.set(config.id, managed);
    this.forgetOldStopped();
    runner.start(reason);
    managed.statsTimer = setInterval(() => guard(managed, () => runner.emitStats()), config.statsIntervalMs);
    managed.statsTimer.unref();
    managed.done = this.drive(managed);
    return managed;
  }

  /**
   * Stops a runner (closing its open position) and waits until its feed has let go.
   * Throws {@link EngineError} UNKNOWN_RUNNER for an id the engine does not know.
   * Stopping a stopped runner returns it unchanged.
   */
  async stopRunner(id: string, reason = 'stopped by request'): Promise<RunnerInfo> {
    const managed = this.runners.get(id);
    if (managed === undefined) throw new EngineError('UNKNOWN_RUNNER', `no runner with id "${id}"`);
    this.halt(managed, reason);
    await managed.done;
    return managed;
  }

  /** The runner with this id (running or stopped), if any. */
  getRunner(id: string): RunnerInfo | undefined {
    return this.runners.get(id);
  }

  /** Every runner the engine knows, in the order they were added. */
  listRunners(): RunnerInfo[] {
    return [...this.runners.values()];
  }

  /** Stops every running runner and waits for their feeds. */
  /** Always ready: runners run on this thread. */
  async ready(): Promise<void> {}

  async stopAll(reason = 'engine shutting down'): Promise<void> {
    const all = [...this.runners.values()];
    for (const managed of all) this.halt(managed, reason);
    await Promise.all(all.map((m) => m.done));
  }

  /** Stops every runner; the in-thread engine holds nothing else. */
  async close(): Promise<void> {
    await this.stopAll();
  }

  private forgetOldStopped(): void {
    forgetOldStopped(this.runners, this.limits.maxRunners);
  }

  private halt(managed: ManagedRunner, reason: string): void {
    if (managed.statsTimer !== null) clearInterval(managed.statsTimer);
    managed.statsTimer = null;
    managed.abort.abort();
    if (managed.runner.state !== 'Stopped') {
      guard(managed, () => managed.runner.stop(reason));
    }
    managed.stoppedAt ??= this.clock();
  }

  private async drive(managed: ManagedRunner): Promise<void> {
    const { runner, abort } = managed;
    try {
      for await (const item of managed.source.items(abort.signal)) {
        if (runner.state === 'Stopped') break;
        if ('tick' in item) runner.processTick(item.tick, item.where);
        else runner.reportFeedError(item.error, item.where);
      }
      if (runner.state !== 'Stopped') this.halt(managed, FEED_ENDED_REASON);
    } catch (err) {
      // A throwing feed or a bug in the runner: stop this runner, leave the others alone.
      this.halt(managed, `runner failed: ${(err as Error).message}`);
    }
    // A runner that stopped itself (stopOnError) still holds a stats timer.
    if (runner.state === 'Stopped') this.halt(managed, runner.stoppedBecause ?? 'stopped');
  }
}

/** Runs `fn`; an exception (a bug) stops that one runner instead of the process. */
function guard(managed: ManagedRunner, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    try {
      managed.abort.abort();
      managed.runner.stop(`internal error: ${(err as Error).message}`);
    } catch {
      // Already stopping; nothing more can be done for this runner.
    }
  }
}
