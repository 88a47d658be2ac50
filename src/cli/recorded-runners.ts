import type { Position } from '../domain/position.js';
import type { RunnerState } from '../domain/state.js';
import { EngineError, type RunnerConfig } from '../engine/config.js';
import type { EngineControl, RunnerInfo } from '../engine/engine.js';
import type { RunnerStats } from '../engine/runner.js';
import { timestampOf } from '../events/helpers.js';
import type { RunnerEvent } from '../events/types.js';

/** What `replay` says to startRunner, stopRunner and restartRunner. */
export const REPLAY_REFUSAL = 'a replay cannot start or stop runners';

/** What a recording does not hold: the strategy and configuration of its runners. */
export const UNRECORDED_STRATEGY = 'recorded';

interface Runner {
  id: string;
  symbol: string;
  state: RunnerState;
  position: Position | null;
  unrealizedPnl: number;
  stats: RunnerStats;
  startedAt: number;
  stoppedAt: number | null;
  stopReason: string | null;
}

/**
 * The runners of a recording as its events describe them, for the API of `tickwire
 * replay`: read-only, and up to date with the events published so far, so `runners`
 * agrees with the stream a client sees. Each runner has the symbol of its
 * RunnerStarted or ticks, the state of its last StateTransition, the position of its
 * last PositionOpened (until PositionClosed), the counters of its last StatsUpdate, and
 * is stopped by RunnerStopped. Its strategy and configuration were never recorded.
 */
export class RecordedRunners implements EngineControl {
  private readonly runners = new Map<string, Runner>();

  /** @param feed - the runners' feed in words, e.g. `recording run.jsonl`. */
  constructor(private readonly feed: string) {}

  /** Takes in one event, as it is published. */
  apply(event: RunnerEvent, symbol: string): void {
    const at = timestampOf(event);
    let runner = this.runners.get(event.runnerId);
    if (runner === undefined || event.type === 'RunnerStarted') {
      runner = {
        id: event.runnerId,
        symbol: event.type === 'RunnerStarted' || event.type === 'TickReceived' ? event.symbol : (runner?.symbol ?? symbol),
        state: 'Idle',
        position: null,
        unrealizedPnl: 0,
        stats: { ticksProcessed: 0, ticksRejected: 0, actionsExecuted: 0, errors: 0, errorRate: 0, realizedPnl: 0, lastPrice: null },
        startedAt: at,
        stoppedAt: null,
        stopReason: null,
      };
      this.runners.set(event.runnerId, runner);
    }
    switch (event.type) {
      case 'TickReceived':
        runner.symbol = event.symbol;
        runner.stats = { ...runner.stats, lastPrice: event.data.close };
        break;
      case 'StateTransition':
        runner.state = event.to;
        break;
      case 'PositionOpened':
        runner.position = event.position;
        runner.unrealizedPnl = 0;
        break;
      case 'PositionUpdated':
        runner.unrealizedPnl = event.unrealizedPnl;
        break;
      case 'PositionClosed':
        runner.position = null;
        runner.unrealizedPnl = 0;
        break;
      case 'Error':
        runner.stats = { ...runner.stats, errors: runner.stats.errors + 1 };
        break;
      case 'StatsUpdate':
        runner.stats = {
          ...runner.stats,
          ticksProcessed: event.ticksProcessed,
          actionsExecuted: event.actionsExecuted,
          errorRate: event.errorRate,
          realizedPnl: event.realizedPnl,
          lastPrice: event.lastPrice ?? runner.stats.lastPrice,
        };
        if (event.openPosition !== null) runner.position = event.openPosition;
        break;
      case 'RunnerStopped':
        runner.state = 'Stopped';
        runner.stoppedAt = at;
        runner.stopReason = event.reason;
        break;
      default:
        break;
    }
  }

  /** Refused: the recorded runners are not this process's to start. */
  addRunner(): never {
    throw new EngineError('ENGINE_UNAVAILABLE', REPLAY_REFUSAL);
  }

  /** Refused: the recorded runners are not this process's to stop. */
  async stopRunner(): Promise<never> {
    throw new EngineError('ENGINE_UNAVAILABLE', REPLAY_REFUSAL);
  }

  /** The runner as the events published so far describe it. */
  getRunner(id: string): RunnerInfo | undefined {
    const runner = this.runners.get(id);
    return runner === undefined ? undefined : this.info(runner);
  }

  /** Every runner seen so far, in the order it first appeared. */
  listRunners(): readonly RunnerInfo[] {
    return [...this.runners.values()].map((r) => this.info(r));
  }

  private info(r: Runner): RunnerInfo {
    // Only what the Runner type needs of a configuration; the recording holds none.
    const config: RunnerConfig = {
      id: r.id,
      symbol: r.symbol,
      strategy: UNRECORDED_STRATEGY,
      params: null,
      quantity: r.position?.quantity ?? 0,
      feeRate: 0,
      feed: { kind: 'simulated', ticksPerSecond: 1 },
      stopOnError: false,
      statsIntervalMs: 1000,
    };
    return {
      id: r.id,
      symbol: r.symbol,
      strategy: UNRECORDED_STRATEGY,
      params: {},
      config,
      feed: this.feed,
      state: r.state,
      position: r.position,
      unrealizedPnl: r.unrealizedPnl,
      stats: { ...r.stats },
      startedAt: r.startedAt,
      stoppedAt: r.stoppedAt,
      stopReason: r.stopReason,
    };
  }
}
