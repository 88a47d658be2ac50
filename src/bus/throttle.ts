import { isHighFrequency } from '../events/helpers.js';
import { retentionOf, type EventSubscription } from './bus.js';
import { QueueIterator } from './queue.js';
import { isGap, type LogEntry, type StreamItem } from './types.js';

/** Longest conflation window accepted, in ms. */
export const MAX_THROTTLE_MS = 60_000;

/**
 * A subscription with high-frequency events conflated: at most one TickReceived and one
 * PositionUpdated per runner per window, always the latest, sent at the end of the
 * window (trailing edge), so the last value is never lost. Standard events pass at once
 * in their order; critical events and gap notices are never delayed or conflated.
 */
export class ThrottledStream extends QueueIterator<StreamItem> {
  private readonly pending = new Map<string, LogEntry>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly source: EventSubscription,
    readonly windowMs: number,
    capacity: number,
  ) {
    super(
      capacity,
      retentionOf,
      () => {
        clearInterval(this.timer);
        this.pending.clear();
        source.close();
      },
      undefined,
      (missed) => source.gap(missed, null, null, `subscriber too slow: ${missed} events dropped (high-frequency first)`),
    );
    if (!Number.isInteger(windowMs) || windowMs < 1 || windowMs > MAX_THROTTLE_MS) {
      throw new RangeError(`throttle window must be 1..${MAX_THROTTLE_MS} ms, got ${windowMs}`);
    }
    // One timer per stream, not per key: every key's window ends together.
    this.timer = setInterval(() => this.flush(), windowMs);
    this.timer.unref();
    void this.pull();
  }

  /** True when the underlying subscription started with history. */
  get replays(): boolean {
    return this.source.replays;
  }

  private async pull(): Promise<void> {
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done === true) break;
        const item = next.value;
        if (!isGap(item) && isHighFrequency(item.event)) {
          this.pending.set(`${item.event.runnerId}\u0000${item.event.type}`, item);
        } else {
          this.push(item);
        }
      }
      // The source ended: what is pending is the last value of each key, so send it.
      this.flush();
      this.finish();
    } catch {
      // The source was cut off (overflow): end this stream the same way, after what is due.
      this.flush();
      this.finish();
    }
  }

  private flush(): void {
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()].sort((a, b) => a.id - b.id);
    this.pending.clear();
    for (const entry of entries) this.push(entry);
  }
}
