import type { ActionKind } from './action.js';
import type { MarketData } from './market-data.js';
import type { Position } from './position.js';

/** What a strategy may know besides the tick: the runner's open position, if any. */
export interface StrategyContext {
  readonly position: Position | null;
}

/** A strategy's answer to one tick: what to do and why, in words a human can read. */
export interface Signal {
  readonly action: ActionKind;
  readonly reason: string;
}

/**
 * A trading strategy: each tick plus context in, one action out. Strategies keep their
 * own indicator state, so one instance serves exactly one runner.
 */
export interface Strategy {
  readonly name: string;
  /** The parameters in effect, defaults filled in. */
  readonly params: Readonly<Record<string, number>>;
  onTick(tick: MarketData, context: StrategyContext): Signal;
}

/** An unknown strategy or a bad parameter; the message names which and why. */
export class StrategyConfigError extends Error {
  override readonly name = 'StrategyConfigError';
}

interface ParamSpec {
  readonly default: number;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  readonly description: string;
}

interface StrategyDefinition {
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** Checks relations between parameters; returns why they do not fit, or null. */
  readonly check?: (params: Readonly<Record<string, number>>) => string | null;
  readonly create: (params: Readonly<Record<string, number>>) => (tick: MarketData, ctx: StrategyContext) => Signal;
}

const HOLD_WARMING: Signal = { action: 'Hold', reason: 'warming up' };
const HOLD: Signal = { action: 'Hold', reason: 'no signal' };
const HOLD_BAR: Signal = { action: 'Hold', reason: 'bar forming' };

/** Default length of the time bars the strategies decide on, in seconds. */
export const DEFAULT_BAR_SECONDS = 5;

/** Longest bar a strategy may decide on: one hour. */
const MAX_BAR_SECONDS = 3600;

const barSecondsSpec: ParamSpec = {
  default: DEFAULT_BAR_SECONDS,
  integer: false,
  min: 0,
  max: MAX_BAR_SECONDS,
  description: 'length of the time bars the indicators run on, in seconds of tick time; 0 decides on every tick',
};

/**
 * Turns ticks into closed time bars for a strategy. A strategy deciding on every tick of
 * a 100 ticks/s feed reacts to noise and trades several times a second; on bars it reacts
 * to moves a person would see on a chart. A bar closes when the first tick of a later
 * interval arrives (tick time, so a replay decides as it did live), and its close is the
 * last price of the interval; with a length of 0 every tick is a bar.
 */
class BarCloser {
  private readonly ms: number;
  private interval: number | null = null;
  private lastClose = 0;

  constructor(seconds: number) {
    this.ms = seconds * 1000;
  }

  /** The close of the bar this tick ended, or null while the current bar is still forming. */
  next(tick: MarketData): number | null {
    if (this.ms === 0) return tick.close;
    const interval = Math.floor(tick.timestamp / this.ms);
    let closed: number | null = null;
    if (this.interval !== null && interval !== this.interval) closed = this.lastClose;
    this.interval = interval;
    this.lastClose = tick.close;
    return closed;
  }
}

/**
 * Exponential moving average seeded with the first value, so it is defined from the
 * first tick and needs no separate simple-average warm-up.
 */
class Ema {
  private readonly alpha: number;
  private current: number | null = null;
  constructor(period: number) {
    this.alpha = 2 / (period + 1);
  }
  update(value: number): number {
    this.current = this.current === null ? value : this.current + this.alpha * (value - this.current);
    return this.current;
  }
}

const emaCrossover: StrategyDefinition = {
  params: {
    fastPeriod: { default: 12, integer: true, min: 1, max: 10_000, description: 'period of the fast EMA, in bars' },
    slowPeriod: { default: 26, integer: true, min: 2, max: 10_000, description: 'period of the slow EMA, in bars' },
    barSeconds: barSecondsSpec,
  },
  check: (p) =>
    (p.fastPeriod ?? 0) < (p.slowPeriod ?? 0) ? null : `fastPeriod (${p.fastPeriod}) must be less than slowPeriod (${p.slowPeriod})`,
  create: (p) => {
    const slowPeriod = p.slowPeriod ?? 26;
    const fast = new Ema(p.fastPeriod ?? 12);
    const slow = new Ema(slowPeriod);
    const bars = new BarCloser(p.barSeconds ?? DEFAULT_BAR_SECONDS);
    let seen = 0;
    // Sign of fast − slow on the previous bar after warm-up; 0 until known.
    let previous = 0;
    return (tick, ctx) => {
      const close = bars.next(tick);
      if (close === null) return seen < slowPeriod ? HOLD_WARMING : HOLD_BAR;
      const f = fast.update(close);
      const s = slow.update(close);
      seen++;
      // The slow EMA means little before it has seen a period's worth of ticks.
      if (seen < slowPeriod) return HOLD_WARMING;
      const sign = f > s ? 1 : f < s ? -1 : previous;
      const crossed = previous !== 0 && sign !== previous;
      previous = sign;
      if (!crossed) return HOLD;
      const detail = `fast EMA ${f.toFixed(4)} crossed ${sign > 0 ? 'above' : 'below'} slow EMA ${s.toFixed(4)}`;
      const side = ctx.position?.side;
      if (sign > 0) {
        if (side === 'SHORT') return { action: 'Exit', reason: detail };
        if (side === undefined) return { action: 'EnterLong', reason: detail };
      } else {
        if (side === 'LONG') return { action: 'Exit', reason: detail };
        if (side === undefined) return { action: 'EnterShort', reason: detail };
      }
      return HOLD;
    };
  },
};

const meanReversion: StrategyDefinition = {
  params: {
    window: { default: 12, integer: true, min: 2, max: 10_000, description: 'bars in the rolling window' },
    entryZ: { default: 2, integer: false, min: 0, max: 100, description: 'enter when |z| reaches this' },
    exitZ: { default: 0.5, integer: false, min: 0, max: 100, description: 'exit when z is back within this of the mean' },
    barSeconds: barSecondsSpec,
  },
  check: (p) => ((p.exitZ ?? 0) < (p.entryZ ?? 0) ? null : `exitZ (${p.exitZ}) must be less than entryZ (${p.entryZ})`),
  create: (p) => {
    const window = p.window ?? 12;
    const entryZ = p.entryZ ?? 2;
    const exitZ = p.exitZ ?? 0.5;
    const bars = new BarCloser(p.barSeconds ?? DEFAULT_BAR_SECONDS);
    const values = new Float64Array(window);
    let count = 0;
    let next = 0;
    let sum = 0;
    let sumSq = 0;
    let sinceRecompute = 0;
    return (tick, ctx) => {
      const closed = bars.next(tick);
      if (closed === null) return count < window ? HOLD_WARMING : HOLD_BAR;
      const x = closed;
      if (count === window) {
        const old = values[next] ?? 0;
        sum -= old;
        sumSq -= old * old;
      } else {
        count++;
      }
      values[next] = x;
      next = (next + 1) % window;
      sum += x;
      sumSq += x * x;
      // Running sums drift by rounding over millions of ticks; a periodic exact
      // recomputation keeps them honest at O(window / 4096) per tick.
      if (++sinceRecompute >= 4096) {
        sinceRecompute = 0;
        sum = 0;
        sumSq = 0;
        for (let i = 0; i < count; i++) {
          const v = values[i] ?? 0;
          sum += v;
          sumSq += v * v;
        }
      }
      if (count < window) return HOLD_WARMING;
      const mean = sum / window;
      const variance = Math.max(0, sumSq / window - mean * mean);
      const std = Math.sqrt(variance);
      // A flat window has no spread to revert to; any z would be noise.
      if (std <= mean * 1e-12) return HOLD;
      const z = (x - mean) / std;
      const detail = `z-score ${z.toFixed(3)} (close ${x}, mean ${mean.toFixed(4)}, std ${std.toFixed(4)})`;
      const side = ctx.position?.side;
      if (side === undefined) {
        if (z <= -entryZ) return { action: 'EnterLong', reason: `${detail} ≤ −${entryZ}` };
        if (z >= entryZ) return { action: 'EnterShort', reason: `${detail} ≥ ${entryZ}` };
      } else if (side === 'LONG' ? z >= -exitZ : z <= exitZ) {
        return { action: 'Exit', reason: `${detail} back within ${exitZ}` };
      }
      return HOLD;
    };
  },
};

const DEFINITIONS: Readonly<Record<string, StrategyDefinition>> = {
  ema_crossover: emaCrossover,
  mean_reversion: meanReversion,
};

/** The names {@link createStrategy} accepts. */
export const STRATEGY_NAMES: readonly string[] = Object.keys(DEFINITIONS);

/** One parameter of a strategy as documentation and UIs show it. */
export interface StrategyParamInfo {
  readonly name: string;
  readonly default: number;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  readonly description: string;
}

/** The parameters of a strategy with their defaults and bounds; throws on an unknown name. */
export function strategyParams(name: string): readonly StrategyParamInfo[] {
  return Object.entries(definitionOf(name).params).map(([param, spec]) => ({ name: param, ...spec }));
}

/** The default parameters of a strategy; throws on an unknown name. */
export function strategyDefaults(name: string): Record<string, number> {
  return Object.fromEntries(Object.entries(definitionOf(name).params).map(([param, spec]) => [param, spec.default]));
}

function definitionOf(name: string): StrategyDefinition {
  const definition = Object.hasOwn(DEFINITIONS, name) ? DEFINITIONS[name] : undefined;
  if (definition === undefined) {
    throw new StrategyConfigError(`unknown strategy "${name}" (known: ${STRATEGY_NAMES.join(', ')})`);
  }
  return definition;
}

/**
 * Creates a fresh strategy instance. Parameters not given keep their defaults; an
 * unknown strategy, an unknown parameter or a value out of bounds throws
 * {@link StrategyConfigError} naming it.
 */
export function createStrategy(name: string, params: Readonly<Record<string, number>> = {}): Strategy {
  const definition = definitionOf(name);
  const resolved: Record<string, number> = strategyDefaults(name);
  for (const [param, value] of Object.entries(params)) {
    const spec = Object.hasOwn(definition.params, param) ? definition.params[param] : undefined;
    if (spec === undefined) {
      throw new StrategyConfigError(
        `unknown parameter "${param}" for strategy ${name} (known: ${Object.keys(definition.params).join(', ')})`,
      );
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new StrategyConfigError(`parameter ${param} of ${name} must be a finite number, got ${String(value)}`);
    }
    if (spec.integer && !Number.isInteger(value)) {
      throw new StrategyConfigError(`parameter ${param} of ${name} must be a whole number, got ${value}`);
    }
    if (value < spec.min || value > spec.max) {
      throw new StrategyConfigError(`parameter ${param} of ${name} must be within ${spec.min}..${spec.max}, got ${value}`);
    }
    resolved[param] = value;
  }
  const problem = definition.check?.(resolved) ?? null;
  if (problem !== null) throw new StrategyConfigError(`strategy ${name}: ${problem}`);
  const frozen = Object.freeze({ ...resolved });
  return { name, params: frozen, onTick: definition.create(frozen) };
}
