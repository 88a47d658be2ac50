import { EngineError } from '../../engine/config.js';
import { CODE, toGraphQLError } from '../errors.js';
import { resolveReplayPath } from '../../engine/feeds/replay-path.js';
import type { EventBus } from '../../log/bus.js';
import { CANDLE_INTERVAL_LIMITS, CandleSeries, intervalStart, type Candle } from '../../domain/candles.js';
import type { RunnerInfo } from '../../engine/engine.js';
import { builder } from './builder.js';
import { badInput } from './filter-args.js';
import { assertOperator, mayManage } from './principal.js';
import { RunnerStateEnum } from './enums.js';
import { PositionRef } from './market.js';
import { TimestampScalar } from './scalars.js';

/**
 * A number for a Float field. A runner never keeps a non-finite one (it stops instead),
 * but a view that holds one anyway — a snapshot from another process, a bug — must not
 * fail the whole `runners` list for every client: it reads as `fallback`.
 */
function finiteOr<T extends number | null>(value: number | null | undefined, fallback: T): number | T {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/**
 * Points an API-given replay path into REPLAY_DIR (or refuses it) before the engine sees
 * it: the engine opens what it is given, and only here is the path an untrusted user's.
 */
async function confineReplayFeed(config: Record<string, unknown>, replayDir: string | null | undefined): Promise<void> {
  const feed = config['feed'] as Record<string, unknown> | undefined;
  if (feed?.['kind'] !== 'replay') return;
  // A missing path is the engine's to report, with the other configuration errors.
  if (typeof feed['path'] !== 'string') return;
  const id = String(config['id']);
  if (replayDir == null) {
    throw new EngineError(CODE.INVALID_CONFIG, `runner "${id}": feed: REPLAY feeds cannot be started through the API: REPLAY_DIR is not set on this server`);
  }
  try {
    feed['path'] = await resolveReplayPath(replayDir, feed['path']);
  } catch (err) {
    if (err instanceof EngineError) throw new EngineError(err.code, `runner "${id}": ${err.message}`);
    throw err;
  }
}

/** A strategy parameter, as a name/value pair (parameters differ per strategy). */
const StrategyParamRef = builder.objectRef<{ name: string; value: number }>('StrategyParam').implement({
  description: 'One parameter of a strategy.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Parameter name, e.g. fastPeriod.' }),
    value: t.float({ description: 'Its value.', resolve: (p) => finiteOr(p.value, 0) }),
  }),
});

const RunnerStatsRef = builder.objectRef<RunnerInfo>('RunnerStats').implement({
  description: 'Live counters of a runner.',
  fields: (t) => ({
    ticksProcessed: t.int({ description: 'Valid ticks processed.', resolve: (r) => r.stats.ticksProcessed }),
    ticksRejected: t.int({ description: 'Ticks or feed rows rejected as invalid.', resolve: (r) => r.stats.ticksRejected }),
    actionsExecuted: t.int({ description: 'Actions executed.', resolve: (r) => r.stats.actionsExecuted }),
    errors: t.int({ description: 'Error events emitted (all severities).', resolve: (r) => r.stats.errors }),
    errorRate: t.float({ description: 'Errors per tick received, 0..1.', resolve: (r) => finiteOr(r.stats.errorRate, 0) }),
  }),
});

/** Most candles `Runner.candles` returns at once. */
export const MAX_CANDLES = 5000;

const CandleRef = builder.objectRef<Candle>('Candle').implement({
  description: 'Open, high, low and close of the ticks of one interval.',
  fields: (t) => ({
    start: t.field({ type: TimestampScalar, description: 'Start of the interval.', resolve: (c) => c.start }),
    open: t.exposeFloat('open', { description: 'Close of the first tick in it.' }),
    high: t.exposeFloat('high', { description: 'Highest close in it.' }),
    low: t.exposeFloat('low', { description: 'Lowest close in it.' }),
    close: t.exposeFloat('close', { description: 'Close of the last tick in it.' }),
    ticks: t.exposeInt('ticks', { description: 'Ticks in it.' }),
  }),
});

/**
 * The runner's candles from the ticks the bus still holds. It reads the runner's ticks
 * newest first through the history's index and stops at the first tick of an interval
 * older than the `last` newest: the work is `last` × ticks per interval at most, not the
 * history's size. A runner's ticks come in time order, so that suffix builds the same
 * candles as all of them would.
 */
function candlesOf(bus: EventBus, runnerId: string, intervalMs: number, last: number): readonly Candle[] {
  const times: number[] = [];
  const closes: number[] = [];
  let intervals = 0;
  let oldest = Number.POSITIVE_INFINITY;
  bus.walkBack({ runnerIds: [runnerId], types: ['TickReceived'] }, ({ event }) => {
    if (event.type !== 'TickReceived') return true;
    const start = intervalStart(event.data.timestamp, intervalMs);
    if (start < oldest) {
      if (intervals === last) return false;
      intervals++;
      oldest = start;
    }
    times.push(event.data.timestamp);
    closes.push(event.data.close);
    return true;
  });
  const series = new CandleSeries(intervalMs, last);
  for (let i = times.length - 1; i >= 0; i--) series.add(times[i]!, closes[i]!);
  return series.bars;
}

/** A runner the engine manages. */
export const RunnerRef = builder.objectRef<RunnerInfo>('Runner').implement({
  description: 'A per-symbol trading runner: a strategy, a state machine, a position and its P&L.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Unique id of the runner.' }),
    symbol: t.exposeString('symbol', { description: 'The symbol it trades.' }),
    strategy: t.exposeString('strategy', { description: 'Strategy name, e.g. ema_crossover.' }),
    params: t.field({
      type: [StrategyParamRef],
      description: 'Strategy parameters, defaults filled in.',
      resolve: (r) => Object.entries(r.params).map(([name, value]) => ({ name, value })),
    }),
    quantity: t.float({ description: 'Units per position.', resolve: (r) => finiteOr(r.config.quantity, 0) }),
    feeRate: t.float({ description: 'Fraction of notional charged per fill.', resolve: (r) => finiteOr(r.config.feeRate, 0) }),
    stopOnError: t.boolean({ description: 'Whether an error stops the runner.', resolve: (r) => r.config.stopOnError }),
    feed: t.exposeString('feed', { description: 'Where its ticks come from, in words.' }),
    state: t.field({ type: RunnerStateEnum, description: 'Current state.', resolve: (r) => r.state }),
    position: t.field({ type: PositionRef, nullable: true, description: 'Open position, or null when flat.', resolve: (r) => r.position }),
    lastPrice: t.float({ nullable: true, description: 'Close of the last valid tick.', resolve: (r) => finiteOr(r.stats.lastPrice, null) }),
    realizedPnl: t.float({ description: 'Realized P&L since start, after fees.', resolve: (r) => finiteOr(r.stats.realizedPnl, 0) }),
    unrealizedPnl: t.float({ description: 'P&L of the open position at the last price; 0 when flat.', resolve: (r) => finiteOr(r.unrealizedPnl, 0) }),
    stats: t.field({ type: RunnerStatsRef, description: 'Live counters.', resolve: (r) => r }),
    candles: t.field({
      type: [CandleRef],
      description:
        'Candles of its tick closes, oldest first, from the ticks the server holds in memory (the history that replay reads): ' +
        'what a chart draws first before it follows the live stream.',
      args: {
        intervalMs: t.arg.int({ required: false, defaultValue: 1000, description: `Interval of a candle in ms, ${CANDLE_INTERVAL_LIMITS.min} to ${CANDLE_INTERVAL_LIMITS.max} (default 1000).` }),
        last: t.arg.int({ required: false, defaultValue: 900, description: `The newest this many candles, 1 to ${MAX_CANDLES} (default 900).` }),
      },
      resolve: (r, args, ctx) => {
        const intervalMs = args.intervalMs ?? 1000;
        const last = args.last ?? 900;
        if (!(intervalMs >= CANDLE_INTERVAL_LIMITS.min && intervalMs <= CANDLE_INTERVAL_LIMITS.max)) {
          throw badInput(`intervalMs must be within ${CANDLE_INTERVAL_LIMITS.min}..${CANDLE_INTERVAL_LIMITS.max}, got ${intervalMs}`);
        }
        if (!(last >= 1 && last <= MAX_CANDLES)) {
          throw badInput(`last must be within 1..${MAX_CANDLES}, got ${last}`);
        }
        return candlesOf(ctx.bus, r.id, intervalMs, last);
      },
    }),
    canManage: t.boolean({
      description: 'Whether the token of this request may start and stop this runner (an operator token whose runners include it).',
      resolve: (r, _args, ctx) => mayManage(ctx.principal, r.id),
    }),
    startedAt: t.field({ type: TimestampScalar, description: 'When it started.', resolve: (r) => r.startedAt }),
    stoppedAt: t.field({ type: TimestampScalar, nullable: true, description: 'When it stopped; null while running.', resolve: (r) => r.stoppedAt }),
    stopReason: t.string({ nullable: true, description: 'Why it stopped; null while running.', resolve: (r) => r.stopReason }),
  }),
});

const StrategyParamInput = builder.inputType('StrategyParamInput', {
  description: 'One strategy parameter to set.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Parameter name, e.g. fastPeriod.' }),
    value: t.float({ required: true, description: 'Its value.' }),
  }),
});

const FeedKindEnum = builder.enumType('FeedKind', {
  description: 'Where ticks come from.',
  values: {
    SIMULATED: { value: 'simulated', description: 'A seeded random walk.' },
    REPLAY: { value: 'replay', description: 'A recorded CSV or JSONL file on the server.' },
  } as const,
});

const FeedInput = builder.inputType('FeedInput', {
  description: 'Where the runner gets its ticks. Defaults: simulated at 100 ticks/s.',
  fields: (t) => ({
    kind: t.field({ type: FeedKindEnum, required: false, defaultValue: 'simulated', description: 'SIMULATED (default) or REPLAY.' }),
    ticksPerSecond: t.float({
      required: false,
      description:
        'Tick rate (simulated: default 100; replay: default 1000). The rates of all running runners together may not exceed the ' +
        "server's MAX_TOTAL_TICKS_PER_SECOND (default 20000).",
    }),
    seed: t.int({ required: false, description: 'Simulated: seed of the random walk (default derived from the runner id).' }),
    startPrice: t.float({ required: false, description: 'Simulated: first price, 0.000001 to 1000000000.' }),
    annualVolatility: t.float({
      required: false,
      description:
        "Simulated: annualized volatility as a fraction, 0 to 5 (default the symbol's: BTCUSDT 0.6, ETHUSDT 0.75, SOLUSDT 1.0, others 0.8), scaled to the tick rate and speed.",
    }),
    spreadBps: t.float({ required: false, description: "Simulated: bid/ask spread in basis points, 0 to 1000 (default the symbol's: BTCUSDT 1, ETHUSDT 1.5, SOLUSDT 3, others 5)." }),
    speed: t.float({ required: false, description: 'Simulated: seconds of market time per second, above 0 and at most 10000 (default 1); 60 moves the price in a second as a real market moves in a minute.' }),
    volatility: t.float({ required: false, description: 'Simulated: standard deviation of the per-tick log return, 0 to 0.1; overrides annualVolatility (give one of volatility, or annualVolatility and speed).' }),
    path: t.string({
      required: false,
      description: "Replay: path of a regular file relative to the server's REPLAY_DIR (no absolute path, no .., never leading out of it); refused when REPLAY_DIR is not set.",
    }),
    loop: t.boolean({ required: false, description: 'Replay: start again at the end of the file.' }),
  }),
});

const StartRunnerInput = builder.inputType('StartRunnerInput', {
  description: 'A runner to start. Only id and symbol are required.',
  fields: (t) => ({
    id: t.id({ required: true, description: 'Unique id (letters, digits, _ . : -, at most 64).' }),
    symbol: t.string({ required: true, description: 'Symbol to trade, e.g. BTCUSDT.' }),
    strategy: t.string({ required: false, description: 'ema_crossover (default) or mean_reversion.' }),
    params: t.field({ type: [StrategyParamInput], required: false, description: 'Strategy parameters; the rest keep their defaults.' }),
    quantity: t.float({ required: false, description: 'Units per position, above 0 and at most 1000000 (default 1).' }),
    feeRate: t.float({ required: false, description: 'Fraction of notional charged per fill, 0 to below 0.1 (default 0).' }),
    feed: t.field({ type: FeedInput, required: false, description: 'Feed settings (default simulated 100 ticks/s).' }),
    stopOnError: t.boolean({ required: false, description: 'Stop the runner on its first error (default false).' }),
    statsIntervalMs: t.int({ required: false, description: 'Milliseconds between StatsUpdate events (default 1000).' }),
  }),
});

/** Drops nulls so that an omitted field and an explicit null both take the default. */
function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== null && v !== undefined) out[key] = v;
  return out;
}

builder.queryType({
  description: 'Read the engine.',
  fields: (t) => ({
    runners: t.field({
      type: [RunnerRef],
      description: 'Every runner, running or stopped, in the order they were started.',
      resolve: async (_root, _args, ctx) => (await ctx.engine.listRunners()).filter((r) => ctx.principal.allows(r.id)),
    }),
    runner: t.field({
      type: RunnerRef,
      nullable: true,
      description: 'One runner by id, or null if there is none.',
      args: { id: t.arg.id({ required: true, description: 'The runner id.' }) },
      resolve: async (_root, args, ctx) => {
        const id = String(args.id);
        // A runner outside the token's scope does not exist, as far as it can tell.
        return ctx.principal.allows(id) ? ((await ctx.engine.getRunner(id)) ?? null) : null;
      },
    }),
  }),
});

builder.mutationType({
  description: 'Drive the engine.',
  fields: (t) => ({
    startRunner: t.field({
      type: RunnerRef,
      description:
        'Start a runner; it shows up on the stream as RunnerStarted. Errors: INVALID_CONFIG (also a start over MAX_RUNNERS or MAX_TOTAL_TICKS_PER_SECOND, ' +
        'or a replay path outside REPLAY_DIR), DUPLICATE_RUNNER.',
      args: { input: t.arg({ type: StartRunnerInput, required: true, description: 'The runner to start.' }) },
      resolve: async (_root, { input }, ctx) => {
        assertOperator(ctx.principal, String(input.id));
        const config = withoutNulls({ ...input, id: String(input.id) });
        if (input.params) config['params'] = Object.fromEntries(input.params.map((p) => [p.name, p.value]));
        if (input.feed) config['feed'] = withoutNulls({ ...input.feed });
        try {
          await confineReplayFeed(config, ctx.replayDir);
          return await ctx.engine.addRunner(config);
        } catch (err) {
          throw toGraphQLError(err);
        }
      },
    }),
    restartRunner: t.field({
      type: RunnerRef,
      description:
        'Start a stopped runner again with the configuration it last ran with (strategy, parameters, size, feed); a new RunnerStarted follows. Errors: UNKNOWN_RUNNER, DUPLICATE_RUNNER (it is running).',
      args: { id: t.arg.id({ required: true, description: 'The runner id.' }) },
      resolve: async (_root, args, ctx) => {
        const id = String(args.id);
        assertOperator(ctx.principal, id);
        const runner = await ctx.engine.getRunner(id);
        if (runner === undefined) throw toGraphQLError(new EngineError(CODE.UNKNOWN_RUNNER, `no runner with id "${id}"`));
        try {
          return await ctx.engine.addRunner(runner.config);
        } catch (err) {
          throw toGraphQLError(err);
        }
      },
    }),
    stopRunner: t.field({
      type: RunnerRef,
      description: 'Stop a runner (closing its open position); it shows up as RunnerStopped. Error: UNKNOWN_RUNNER.',
      args: {
        id: t.arg.id({ required: true, description: 'The runner id.' }),
        reason: t.arg.string({ required: false, description: 'Why, for the RunnerStopped event (default "stopped by request").' }),
      },
      resolve: async (_root, args, ctx) => {
        assertOperator(ctx.principal, String(args.id));
        try {
          return await ctx.engine.stopRunner(String(args.id), args.reason ?? undefined);
        } catch (err) {
          throw toGraphQLError(err);
        }
      },
    }),
  }),
});
