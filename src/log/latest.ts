import type { EventPredicate } from '../events/filter.js';
import type { HistoryQuery } from './history.js';
import { matches, type LogEntry } from './types.js';

/** Runners whose latest state is kept; past it, the runner seen least recently is forgotten. */
export const MAX_SNAPSHOT_RUNNERS = 10_000;

/**
 * Stopped runners whose latest state is kept (the engine remembers as many by default,
 * MAX_RUNNERS, for `restartRunner`); past it the one stopped longest ago is forgotten. A
 * server that starts and stops runners all day kept every one's, up to
 * {@link MAX_SNAPSHOT_RUNNERS}, about 2 KB each.
 */
export const MAX_STOPPED_SNAPSHOT_RUNNERS = 100;

/** The latest entries that make up one runner's state. */
interface RunnerState {
  /** Its last StateTransition. */
  state?: LogEntry;
  /** Its open position: the PositionOpened or the last PositionUpdated since; none when flat. */
  position?: LogEntry;
  tick?: LogEntry;
  stats?: LogEntry;
}

/**
 * The current state of every runner, as the latest log entries that describe it: what a
 * new subscriber is sent first so it can draw at once (the way Centrifugo and Ably send
 * the latest publication on subscribe). Kept up to date at publish time in O(1), so taking
 * a snapshot is a read of at most four entries a runner.
 */
export class LatestState {
  private readonly runners = new Map<string, RunnerState>();
  /** Runners whose last RunnerStopped came after their last RunnerStarted, the one stopped longest ago first. */
  private readonly stopped = new Set<string>();

  constructor(
    private readonly maxRunners = MAX_SNAPSHOT_RUNNERS,
    private readonly maxStopped = MAX_STOPPED_SNAPSHOT_RUNNERS,
  ) {}

  /** Runners with a state kept. */
  get size(): number {
    return this.runners.size;
  }

  /** Takes a published entry into account. */
  update(entry: LogEntry): void {
    const event = entry.event;
    switch (event.type) {
      case 'StateTransition':
        this.of(event.runnerId).state = entry;
        break;
      case 'PositionOpened':
      case 'PositionUpdated':
        this.of(event.runnerId).position = entry;
        break;
      case 'PositionClosed': {
        const runner = this.runners.get(event.runnerId);
        if (runner !== undefined) delete runner.position;
        break;
      }
      case 'TickReceived':
        this.of(event.runnerId).tick = entry;
        break;
      case 'StatsUpdate':
        this.of(event.runnerId).stats = entry;
        break;
      case 'RunnerStarted':
        this.stopped.delete(event.runnerId);
        break;
      case 'RunnerStopped':
        this.stoppedNow(event.runnerId);
        break;
      default:
        break;
    }
  }

  /**
   * The entries of every runner that `filter` lets through (scope included), oldest id
   * first, so a stream that continues with live entries stays in log order. `query`
   * narrows which runners are looked at (named ids, a token's scope) before the filter runs.
   */
  snapshot(filter: EventPredicate | undefined, query: Pick<HistoryQuery, 'runnerIds' | 'runnerAllowed'> = {}): LogEntry[] {
    const out: LogEntry[] = [];
    const named = query.runnerIds ?? null;
    const candidates: Iterable<[string, RunnerState | undefined]> =
      named === null ? this.runners : named.map((id) => [id, this.runners.get(id)] as [string, RunnerState | undefined]);
    const seen = new Set<string>();
    for (const [runnerId, runner] of candidates) {
      if (runner === undefined || seen.has(runnerId)) continue;
      seen.add(runnerId);
      if (query.runnerAllowed != null && !query.runnerAllowed(runnerId)) continue;
      for (const entry of [runner.state, runner.position, runner.tick, runner.stats]) {
        if (entry !== undefined && matches(filter, entry)) out.push({ ...entry, snapshot: true });
      }
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Runners with a state kept that are stopped (at most `maxStopped`). */
  get stoppedSize(): number {
    return this.stopped.size;
  }

  /** Marks a runner stopped, and forgets the state of the one stopped longest ago past `maxStopped`. */
  private stoppedNow(runnerId: string): void {
    this.stopped.delete(runnerId);
    if (!this.runners.has(runnerId)) return;
    this.stopped.add(runnerId);
    if (this.stopped.size <= this.maxStopped) return;
    const oldest = this.stopped.values().next().value;
    if (oldest === undefined) return;
    this.stopped.delete(oldest);
    this.runners.delete(oldest);
  }

  private of(runnerId: string): RunnerState {
    let runner = this.runners.get(runnerId);
    if (runner === undefined) {
      if (this.runners.size >= this.maxRunners) {
        // Insertion order: the first key is the runner that appeared longest ago.
        const oldest = this.runners.keys().next().value;
        if (oldest !== undefined) {
          this.runners.delete(oldest);
          this.stopped.delete(oldest);
        }
      }
      runner = {};
      this.runners.set(runnerId, runner);
    }
    return runner;
  }
}
