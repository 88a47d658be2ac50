import type { ActionKind } from '../domain/action.js';
import { checkMarketData, type MarketData } from '../domain/market-data.js';
import { openPosition, positionPnl, type Position, type PositionSide } from '../domain/position.js';
import { assertTransition, type RunnerState } from '../domain/state.js';
import type { Strategy } from '../domain/strategy.js';
import type { ErrorSeverity, RunnerEvent, StatsUpdate } from '../events/types.js';
import { findNonFinite } from './finite.js';

/** Where a runner's events go. */
export type EmitEvent = (event: RunnerEvent) => void;

/** What a runner needs to trade; the engine builds it from a validated config. */
export interface SymbolRunnerOptions {
  readonly id: string;
  readonly symbol: string;
  readonly strategy: Strategy;
  /** Units per position (> 0). */
  readonly quantity: number;
  /** Fraction of notional charged per fill (default 0). */
  readonly feeRate?: number;
  /** A failure becomes a Critical error that stops the runner (default false). */
  readonly stopOnError?: boolean;
  /** Milliseconds since the epoch, for event timestamps (default Date.now). */
  readonly clock?: () => number;
}

/** Live counters of a runner, as StatsUpdate reports them. */
export interface RunnerStats {
  readonly ticksProcessed: number;
  readonly ticksRejected: number;
  readonly actionsExecuted: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly realizedPnl: number;
  readonly lastPrice: number | null;
}

/**
 * Runs one strategy on the ticks of one symbol: validates each tick, marks the open
 * position, asks the strategy what to do, moves the state machine and emits an event
 * for everything that happens. Synchronous and free of timers, so a scripted tick
 * series gives an exact, testable event sequence; pacing and stats timers belong to
 * the engine.
 */
export class SymbolRunner {
  /** Runner id, unique in the engine. */
  readonly id: string;
  /** The symbol this runner trades. */
  readonly symbol: string;
  private readonly strategy: Strategy;
  private readonly quantity: number;
  private readonly feeRate: number;
  private readonly stopOnError: boolean;
  private readonly clock: () => number;
  private currentState: RunnerState = 'Idle';
  private openPos: Position | null = null;
  private ticksProcessed = 0;
  private ticksRejected = 0;
  private actionsExecuted = 0;
  private errors = 0;
  private realized = 0;
  private lastPrice: number | null = null;
  private lastStatsAt: number;
  private ticksAtLastStats = 0;
  private stopReason: string | null = null;

  /** Creates an idle runner; `emit` receives every event it produces. */
  constructor(
    options: SymbolRunnerOptions,
    private readonly emit: EmitEvent,
  ) {
    this.id = options.id;
    this.symbol = options.symbol;
    this.strategy = options.strategy;
    this.quantity = options.quantity;
    this.feeRate = options.feeRate ?? 0;
    this.stopOnError = options.stopOnError ?? false;
    this.clock = options.clock ?? Date.now;
    this.lastStatsAt = this.clock();
  }

  /** The state machine's current state. */
  get state(): RunnerState {
    return this.currentState;
  }

  /** The open position, or null when flat. */
  get position(): Position | null {
    return this.openPos;
  }

  /** Why the runner stopped, or null while it runs. */
  get stoppedBecause(): string | null {
    return this.stopReason;
  }

  /** The counters behind StatsUpdate. */
  get stats(): RunnerStats {
    const seen = this.ticksProcessed + this.ticksRejected;
    return {
      ticksProcessed: this.ticksProcessed,
      ticksRejected: this.ticksRejected,
      actionsExecuted: this.actionsExecuted,
      errors: this.errors,
      errorRate: seen === 0 ? 0 : this.errors / seen,
      realizedPnl: this.realized,
      lastPrice: this.lastPrice,
    };
  }

  /** Unrealized P&L of the open position at the last price, or 0 when flat. */
  get unrealizedPnl(): number {
    if (this.openPos === null || this.lastPrice === null) return 0;
    return positionPnl(this.openPos, this.lastPrice, this.feeRate);
  }

  /** Emits RunnerStarted (with `reason`, when given) and moves Idle → Analyzing. */
  start(reason?: string): void {
    this.guarded(() => {
      this.send({ type: 'RunnerStarted', runnerId: this.id, symbol: this.symbol, timestamp: this.clock(), ...(reason === undefined ? {} : { reason }) });
      this.transition('Analyzing', 'runner started');
    });
  }

  /**
   * Processes one tick. A bad tick or a throwing strategy becomes an Error event (or a
   * Critical one that stops the runner, with stopOnError); it never throws.
   */
  processTick(tick: MarketData, where?: string): void {
    if (this.currentState === 'Stopped') return;
    this.guarded(() => this.trade(tick, where));
  }

  private trade(tick: MarketData, where?: string): void {
    const invalid = checkMarketData(tick);
    const reason =
      invalid ?? (tick.symbol === this.symbol ? null : `symbol ${tick.symbol} does not match runner symbol ${this.symbol}`);
    if (reason !== null) {
      this.ticksRejected++;
      this.fail(`bad tick rejected${where === undefined ? '' : ` (${where})`}: ${reason}`);
      return;
    }
    if (this.openPos !== null) {
      // Checked before anything changes: a mark that overflows must not become the
      // runner's unrealized P&L, which every Runner query reads.
      this.require('PositionUpdated', 'unrealizedPnl', positionPnl(this.openPos, exitPrice(this.openPos.side, tick), this.feeRate));
      this.require('Runner', 'unrealizedPnl', positionPnl(this.openPos, tick.close, this.feeRate));
    }
    this.ticksProcessed++;
    this.lastPrice = tick.close;
    this.send({ type: 'TickReceived', runnerId: this.id, symbol: this.symbol, data: tick });
    if (this.openPos !== null) {
      const mark = exitPrice(this.openPos.side, tick);
      this.send({
        type: 'PositionUpdated',
        runnerId: this.id,
        currentPrice: mark,
        unrealizedPnl: positionPnl(this.openPos, mark, this.feeRate),
        timestamp: tick.timestamp,
      });
    }
    let action: ActionKind;
    let why: string;
    try {
      const signal = this.strategy.onTick(tick, { position: this.openPos });
      action = signal.action;
      why = signal.reason;
    } catch (err) {
      this.fail(`strategy ${this.strategy.name} failed: ${errorMessage(err)}`);
      return;
    }
    this.act(action, why, tick);
  }

  /** A feed row that could not be read: reported like a bad tick. */
  reportFeedError(message: string, where: string): void {
    if (this.currentState === 'Stopped') return;
    this.ticksRejected++;
    this.guarded(() => this.fail(`bad feed row (${where}): ${message}`));
  }

  /** Emits a StatsUpdate; `ticksPerSecond` covers the time since the previous one. */
  emitStats(): StatsUpdate {
    const now = this.clock();
    const elapsed = (now - this.lastStatsAt) / 1000;
    const stats = this.stats;
    const event: StatsUpdate = {
      type: 'StatsUpdate',
      runnerId: this.id,
      ticksProcessed: stats.ticksProcessed,
      actionsExecuted: stats.actionsExecuted,
      errorRate: stats.errorRate,
      realizedPnl: stats.realizedPnl,
      lastPrice: stats.lastPrice,
      ticksPerSecond: elapsed > 0 ? (stats.ticksProcessed - this.ticksAtLastStats) / elapsed : 0,
      openPosition: this.openPos,
      timestamp: now,
    };
    this.lastStatsAt = now;
    this.ticksAtLastStats = stats.ticksProcessed;
    this.guarded(() => this.send(event));
    return event;
  }

  /**
   * Stops the runner for good: an open position is closed at the last price first, so
   * a stopped runner never leaves exposure behind. Idempotent.
   */
  stop(reason: string): void {
    if (this.currentState === 'Stopped') return;
    this.guarded(() => {
      if (this.openPos !== null && this.lastPrice !== null) {
        this.closePosition(this.lastPrice, `runner stopping: ${reason}`, 'Stopped');
      } else {
        this.transition('Stopped', reason);
      }
      this.stopReason = reason;
      this.send({ type: 'RunnerStopped', runnerId: this.id, reason, timestamp: this.clock() });
    });
  }

  /**
   * Runs one step of the runner; a number that would not be finite stops the runner
   * (see {@link poison}) instead of reaching an event or the runner's totals.
   */
  private guarded(step: () => void): void {
    try {
      step();
    } catch (err) {
      if (!(err instanceof NonFiniteValue)) throw err;
      this.poison(err);
    }
  }

  /** Publishes an event whose every number is finite; throws {@link NonFiniteValue} otherwise. */
  private send(event: RunnerEvent): void {
    const bad = findNonFinite(event);
    if (bad !== null) throw new NonFiniteValue(event.type === 'Error' ? 'RunnerError' : event.type, bad.path, bad.value);
    this.emit(event);
  }

  /** Throws {@link NonFiniteValue} unless `value` is finite (for totals checked before they change). */
  private require(where: string, field: string, value: number): void {
    if (!Number.isFinite(value)) throw new NonFiniteValue(where, field, value);
  }

  /**
   * The runner computed a number that is not finite (a size or price so large that
   * P&L overflows). Nothing built on it is published: one Critical error names the
   * field, the open position is dropped without a fill (its P&L is the number that
   * cannot be computed, so closing it would publish the same garbage) and the runner stops.
   */
  private poison(bad: NonFiniteValue): void {
    this.openPos = null;
    this.errors++;
    const error = `${bad.where}.${bad.field} would be ${bad.value}, not a finite number: the runner stops rather than publish it (its open position is dropped unpriced)`;
    this.emit({ type: 'Error', runnerId: this.id, error, severity: 'Critical', timestamp: this.clock() });
    const reason = `stopped on a non-finite ${bad.where}.${bad.field}`;
    if (this.currentState !== 'Stopped') {
      const from = this.currentState;
      this.currentState = 'Stopped';
      this.emit({ type: 'StateTransition', runnerId: this.id, from, to: 'Stopped', reason, timestamp: this.clock() });
    }
    this.stopReason ??= reason;
    this.emit({ type: 'RunnerStopped', runnerId: this.id, reason: this.stopReason, timestamp: this.clock() });
  }

  private act(action: ActionKind, reason: string, tick: MarketData): void {
    if (action === 'Hold') return;
    if (action === 'Exit') {
      if (this.openPos === null) return this.warn(`strategy asked to exit with no open position; ignored`);
      this.closePosition(exitPrice(this.openPos.side, tick), reason, 'Analyzing', tick.timestamp);
      return;
    }
    const side: PositionSide = action === 'EnterLong' ? 'LONG' : 'SHORT';
    if (this.openPos !== null) {
      return this.warn(`strategy asked to ${action} while already ${this.openPos.side}; ignored`);
    }
    // Buy at the ask, sell at the bid: what a market order would get.
    const price = side === 'LONG' ? tick.ask : tick.bid;
    this.transition('Entering', reason);
    this.actionsExecuted++;
    this.send({
      type: 'ActionExecuted',
      runnerId: this.id,
      action: { kind: action, symbol: this.symbol, price, quantity: this.quantity, reason },
      timestamp: tick.timestamp,
    });
    const position = openPosition({ symbol: this.symbol, side, quantity: this.quantity, price, time: tick.timestamp });
    this.openPos = position;
    this.send({ type: 'PositionOpened', runnerId: this.id, position, timestamp: tick.timestamp });
    this.transition('InPosition', `${side} ${this.quantity} ${this.symbol} filled at ${price}`);
  }

  private closePosition(price: number, reason: string, then: RunnerState, timestamp = this.clock()): void {
    const position = this.openPos;
    if (position === null) return;
    // Before the first event of the exit, so that a P&L that overflows publishes none of it.
    const pnl = positionPnl(position, price, this.feeRate);
    this.require('PositionClosed', 'realizedPnl', pnl);
    this.require('StatsUpdate', 'realizedPnl', this.realized + pnl);
    this.transition('Exiting', reason);
    this.actionsExecuted++;
    this.send({
      type: 'ActionExecuted',
      runnerId: this.id,
      action: { kind: 'Exit', symbol: this.symbol, price, quantity: position.quantity, reason },
      timestamp,
    });
    this.realized += pnl;
    this.openPos = null;
    this.send({ type: 'PositionClosed', runnerId: this.id, exitPrice: price, realizedPnl: pnl, reason, timestamp });
    this.transition(then, then === 'Stopped' ? reason : `position closed at ${price}`);
  }

  private transition(to: RunnerState, reason: string): void {
    const from = this.currentState;
    assertTransition(from, to);
    this.currentState = to;
    this.send({ type: 'StateTransition', runnerId: this.id, from, to, reason, timestamp: this.clock() });
  }

  private warn(message: string): void {
    this.raise(message, 'Warning');
  }

  private fail(message: string): void {
    this.raise(message, this.stopOnError ? 'Critical' : 'Error');
    if (this.stopOnError) this.stop(`stopped on error: ${message}`);
  }

  private raise(error: string, severity: ErrorSeverity): void {
    this.errors++;
    this.send({ type: 'Error', runnerId: this.id, error, severity, timestamp: this.clock() });
  }
}

/** A number about to be published or kept that is NaN or infinite. */
class NonFiniteValue extends Error {
  constructor(
    readonly where: string,
    readonly field: string,
    readonly value: number,
  ) {
    super(`${where}.${field} is ${value}`);
  }
}

/** The price a position would close at on this tick: the bid for a long, the ask for a short. */
function exitPrice(side: PositionSide, tick: MarketData): number {
  return side === 'LONG' ? tick.bid : tick.ask;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
