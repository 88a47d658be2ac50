import type { Action } from '../domain/action.js';
import type { MarketData } from '../domain/market-data.js';
import type { Position } from '../domain/position.js';
import type { RunnerState } from '../domain/state.js';

/** Severity of a runner error, ordered Warning < Error < Critical. */
export type ErrorSeverity = 'Warning' | 'Error' | 'Critical';

/** A runner came up and starts processing ticks. */
export interface RunnerStarted {
  readonly type: 'RunnerStarted';
  readonly runnerId: string;
  readonly symbol: string;
  readonly timestamp: number;
  /**
   * Why it started, when not by a plain start: an engine that resumed it (after a restart
   * or a takeover) says so here. Absent on events recorded before it existed.
   */
  readonly reason?: string;
}

/** A runner stopped for good; `reason` says why. Critical: never dropped. */
export interface RunnerStopped {
  readonly type: 'RunnerStopped';
  readonly runnerId: string;
  readonly reason: string;
  readonly timestamp: number;
}

/** A tick reached the runner. Its timestamp is the market data's. High-frequency. */
export interface TickReceived {
  readonly type: 'TickReceived';
  readonly runnerId: string;
  readonly symbol: string;
  readonly data: MarketData;
}

/** The runner's state machine moved from one state to another. */
export interface StateTransition {
  readonly type: 'StateTransition';
  readonly runnerId: string;
  readonly from: RunnerState;
  readonly to: RunnerState;
  readonly reason: string;
  readonly timestamp: number;
}

/** The runner executed an action its strategy asked for. */
export interface ActionExecuted {
  readonly type: 'ActionExecuted';
  readonly runnerId: string;
  readonly action: Action;
  readonly timestamp: number;
}

/** A position was opened. */
export interface PositionOpened {
  readonly type: 'PositionOpened';
  readonly runnerId: string;
  readonly position: Position;
  readonly timestamp: number;
}

/** The open position was marked to a new price. High-frequency. */
export interface PositionUpdated {
  readonly type: 'PositionUpdated';
  readonly runnerId: string;
  readonly currentPrice: number;
  readonly unrealizedPnl: number;
  readonly timestamp: number;
}

/** The open position was closed with a realized P&L. */
export interface PositionClosed {
  readonly type: 'PositionClosed';
  readonly runnerId: string;
  readonly exitPrice: number;
  readonly realizedPnl: number;
  readonly reason: string;
  readonly timestamp: number;
}

/** Something went wrong in a runner. Critical when `severity` is Critical. */
export interface RunnerError {
  readonly type: 'Error';
  readonly runnerId: string;
  readonly error: string;
  readonly severity: ErrorSeverity;
  readonly timestamp: number;
}

/** Periodic statistics of a runner, for dashboards. */
export interface StatsUpdate {
  readonly type: 'StatsUpdate';
  readonly runnerId: string;
  readonly ticksProcessed: number;
  readonly actionsExecuted: number;
  /** Errors per processed tick since the runner started, 0..1. */
  readonly errorRate: number;
  readonly realizedPnl: number;
  /** Close of the last valid tick, or null before the first. */
  readonly lastPrice: number | null;
  /** Ticks processed per second over the last stats interval. */
  readonly ticksPerSecond: number;
  readonly openPosition: Position | null;
  readonly timestamp: number;
}

/** Everything a runner can emit: a union discriminated by `type`. */
export type RunnerEvent =
  | RunnerStarted
  | RunnerStopped
  | TickReceived
  | StateTransition
  | ActionExecuted
  | PositionOpened
  | PositionUpdated
  | PositionClosed
  | RunnerError
  | StatsUpdate;

/** The variant names, the `type` of each member of {@link RunnerEvent}. */
export type EventVariant = RunnerEvent['type'];

/** Narrows {@link RunnerEvent} to one variant. */
export type EventOf<V extends EventVariant> = Extract<RunnerEvent, { type: V }>;

/** Every variant name, in the order of the design's event table. */
export const EVENT_VARIANTS: readonly EventVariant[] = [
  'RunnerStarted',
  'RunnerStopped',
  'TickReceived',
  'StateTransition',
  'ActionExecuted',
  'PositionOpened',
  'PositionUpdated',
  'PositionClosed',
  'Error',
  'StatsUpdate',
];
