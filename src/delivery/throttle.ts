import { isHighFrequency } from '../events/helpers.js';
import { retentionOf } from '../log/bus.js';
import { TimedStage, type StageSource } from './stage.js';
import { gapNotice, isGap, type LogEntry, type StreamItem } from '../log/types.js';

/** Longest conflation window accepted, in ms. */
export const MAX_THROTTLE_MS = 60_000;

function checkedWindow(windowMs: number): number {
  if (!Number.isInteger(windowMs) || windowMs < 1 || windowMs > MAX_THROTTLE_MS) {
    throw new RangeError(`throttle window must be 1..${MAX_THROTTLE_MS} ms, got ${windowMs}`);
  }
  return windowMs;
}

/**
 * A subscription with high-frequency events conflated: at most one TickReceived and one
 * PositionUpdated per runner per window, always the latest, sent at the end of the
 * window (trailing edge), so the last value is never lost. Standard events pass at once
 * in their order; critical events and gap notices are never delayed or conflated. Nor is
 * a snapshot (`snapshot: true` entries): it stands for a runner's state now, and holding
 * its tick back a window, or letting a live tick replace it, would leave a page's first
 * frame without a price.
 */
export class ThrottledStream extends TimedStage<StreamItem> {
  private readonly pending = new Map<string, LogEntry>();

  constructor(source: StageSource, windowMs: number, capacity: number) {
    super({
      source,
      periodMs: checkedWindow(windowMs),
      capacity,
      retentionOf,
      dropNotice: (missed) => ({ ...gapNotice({ missed, reason: `subscriber too slow: ${missed} events dropped (high-frequency first)` }), counts: 'subscriber' as const }),
    });
  }

  protected accept(item: StreamItem): void {
    if (!isGap(item) && item.snapshot !== true && isHighFrequency(item.event)) {
      this.pending.set(`${item.event.runnerId}\u0000${item.event.type}`, item);
    } else {
      this.push(item);
    }
  }

  protected flush(): void {
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()].sort((a, b) => a.id - b.id);
    this.pending.clear();
    for (const entry of entries) this.push(entry);
  }

  protected discard(): void {
    this.pending.clear();
  }
}
