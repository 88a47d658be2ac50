/**
 * Messages between a `ThreadedEngine` (the main thread) and its engine threads
 * (`main.ts`). Everything here crosses `postMessage`, so it is plain data.
 */
import type { Position } from '../../domain/position.js';
import type { RunnerState } from '../../domain/state.js';
import type { RunnerEvent } from '../../events/types.js';
import type { EngineErrorCode, RunnerConfig } from '../config.js';
import type { RunnerInfo } from '../engine.js';
import type { RunnerStats } from '../runner.js';

/** What an engine thread is started with (its `workerData`, besides the port). */
export interface EngineThreadSettings {
  /** The shard's number, for messages. */
  readonly shard: number;
  readonly maxRunners: number;
  readonly maxTotalTicksPerSecond: number;
  /** See `HandOffOptions.bound`. */
  readonly handOffBound: number;
}

/** A request of the main thread to an engine thread. */
export type ToEngineThread =
  | { readonly op: 'start'; readonly requestId: number; readonly config: RunnerConfig; readonly reason?: string }
  | { readonly op: 'stop'; readonly requestId: number; readonly id: string; readonly reason: string }
  | { readonly op: 'stopAll'; readonly requestId: number; readonly reason: string }
  /** Answered as soon as the thread runs: its start-up is paid before a runner waits on it. */
  | { readonly op: 'ready'; readonly requestId: number }
  /** The main thread has published this many more events of the thread's batches. */
  | { readonly op: 'ack'; readonly count: number }
  /** Tests and drills only: the thread throws an uncaught error, as a bug would. */
  | { readonly op: 'crash'; readonly message: string };

/** What changes in a runner's view while it runs. */
export interface RunnerUpdate {
  readonly id: string;
  readonly symbol: string;
  readonly state: RunnerState;
  readonly position: Position | null;
  readonly unrealizedPnl: number;
  readonly stats: RunnerStats;
  readonly stoppedAt: number | null;
  readonly stopReason: string | null;
}

/** The answer to one request. */
export type EngineThreadReply =
  | { readonly requestId: number; readonly ok: true; readonly runner: RunnerInfo | null }
  | { readonly requestId: number; readonly ok: false; readonly code: EngineErrorCode | 'ENGINE_FAILED'; readonly message: string };

/**
 * One hand-off from an engine thread to the main thread, in the compact form that codec.ts
 * writes (`BatchEncoder`) and reads (`BatchDecoder`): defined here with the other messages,
 * so that the protocol depends on nothing and the codec on the protocol.
 */
export interface EngineThreadBatch {
  /**
   * When the oldest event of the batch was handed to the hand-off, in ms since the epoch
   * at sub-millisecond resolution (`performance.timeOrigin + performance.now()`): the main
   * thread knows from it how long the batch's events waited.
   */
  readonly since: number;
  /** Events in the batch. */
  readonly count: number;
  /** The events, in order, as records (see the `KIND_` constants of codec.ts). */
  readonly records: Float64Array;
  /** Events with no numeric form, in the order their records name them. */
  readonly objects: RunnerEvent[];
  /** Runners new to the table, appended in order: id, symbol, id, symbol… */
  readonly names: string[];
  /**
   * The table starts afresh with this batch: `names` are its first entries, and every
   * runner's position and stop reason come again (runners that stopped long ago leave it).
   */
  readonly fresh: boolean;
  /** Views of the runners that changed, `UPDATE_WIDTH` (codec.ts) numbers each, after the batch's last event. */
  readonly updates: Float64Array;
  /** A position or stop reason that changed, for the update at `at`. */
  readonly changes: { readonly at: number; readonly position: Position | null; readonly stopReason: string | null }[];
  /** Requests answered, after the events they caused. */
  readonly replies: EngineThreadReply[];
}
