import type { ActionKind } from '../domain/action.js';
import { checkMarketData, type MarketData } from '../domain/market-data.js';
import { openPosition, positionPnl, type Position, type PositionSide } from '../domain/position.js';
import { assertTransition, type RunnerState } from '../domain/state.js';
import type { Strategy } from '../domain/strategy.js';
import type { ErrorSeverity, RunnerEvent, StatsUpdate } from '../events/types.js';

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

  /** Emits RunnerStarted and moves Idle → Analyzing. */
  start(): void {
    this.emit({ type: 'RunnerStarted', runnerId: this.id, symbol: this.symbol, timestamp: this.clock() });
    this.transition('Analyzing', 'runner started');
  }

  /**
   * Processes one tick. A bad tick or a throwing strategy becomes an Error event (or a
   * Critical one that stops the runner, with stopOnError); it never throws.
   */
  processTick(tick: MarketData, where?: string): void {
    if (this.currentState === 'Stopped') return;
    const invalid = checkMarketData(tick);
    const reason =
      invalid ?? (tick.symbol === this.symbol ? null : `symbol ${tick.symbol} does not match runner symbol ${this.symbol}`);
    if (reason !== null) {
      this.ticksRejected++;
      this.fail(`bad tick rejected${where === undefined ? '' : ` (${where})`}: ${reason}`);
      return;
    }
    this.ticksProcessed++;
    this.lastPrice = tick.close;
    this.emit({ type: 'TickReceived', runnerId: this.id, symbol: this.symbol, data: tick });
    if (this.openPos !== null) {
      const mark = exitPrice(this.openPos.side, tick);
      this.emit({
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
    this.fail(`bad feed row (${where}): ${message}`);
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
    this.emit(event);
    return event;
  }

  /**
   * Stops the runner for good: an open position is closed at the last price first, so
   * a stopped runner never leaves exposure behind. Idempotent.
   */
  stop(reason: string): void {
    if (this.currentState === 'Stopped') return;
    if (this.openPos !== null && this.lastPrice !== null) {
      this.closePosition(this.lastPrice, `runner stopping: ${reason}`, 'Stopped');
    } else {
      this.transition('Stopped', reason);
    }
    this.stopReason = reason;
    this.emit({ type: 'RunnerStopped', runnerId: this.id, reason, timestamp: this.clock() });
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
    this.emit({
      type: 'ActionExecuted',
      runnerId: this.id,
      action: { kind: action, symbol: this.symbol, price, quantity: this.quantity, reason },
      timestamp: tick.timestamp,
    });
    const position = openPosition(this.symbol, side, this.quantity, price, tick.timestamp);
    this.openPos = position;
    this.emit({ type: 'PositionOpened', runnerId: this.id, position, timestamp: tick.timestamp });
    this.transition('InPosition', `${side} ${this.quantity} ${this.symbol} filled at ${price}`);
  }

  private closePosition(price: number, reason: string, then: RunnerState, timestamp = this.clock()): void {
    const position = this.openPos;
    if (position === null) return;
    this.transition('Exiting', reason);
    this.actionsExecuted++;
    this.emit({
      type: 'ActionExecuted',
      runnerId: this.id,
      action: { kind: 'Exit', symbol: this.symbol, price, quantity: position.quantity, reason },
      timestamp,
    });
    const pnl = positionPnl(position, price, this.feeRate);
    this.realized += pnl;
    this.openPos = null;
    this.emit({ type: 'PositionClosed', runnerId: this.id, exitPrice: price, realizedPnl: pnl, reason, timestamp });
    this.transition(then, then === 'Stopped' ? reason : `position closed at ${price}`);
  }

  private transition(to: RunnerState, reason: string): void {
    const from = this.currentState;
    assertTransition(from, to);
    this.currentState = to;
    this.emit({ type: 'StateTransition', runnerId: this.id, from, to, reason, timestamp: this.clock() });
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
    this.emit({ type: 'Error', runnerId: this.id, error, severity, timestamp: this.clock() });
  }
}

/** The price a position would close at on this tick: the bid for a long, the ask for a short. */
function exitPrice(side: PositionSide, tick: MarketData): number {
  return side === 'LONG' ? tick.bid : tick.ask;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
