/**
 * Messages between a `ThreadedEngine` (the main thread) and its engine threads
 * (`worker.ts`). Everything here crosses `postMessage`, so it is plain data.
 */
import type { Position } from '../../domain/position.js';
import type { RunnerState } from '../../domain/state.js';
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
  | { readonly op: 'start'; readonly requestId: number; readonly config: RunnerConfig }
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

/** One hand-off from an engine thread: see `EncodedBatch` (thread-codec.ts). */
export type { EncodedBatch as EngineThreadBatch } from './codec.js';
