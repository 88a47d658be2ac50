import { isCritical } from '../events/helpers.js';
import { Retention } from '../log/queue.js';
import { TimedStage, type StageSource } from './stage.js';
import { isGap, type StreamItem } from '../log/types.js';

/** Bounds of `eventBatches` arguments. */
export const BATCH_LIMITS = { minIntervalMs: 10, maxIntervalMs: 60_000, maxSize: 10_000 } as const;

/** Events collected over one interval, sent as one message. */
export interface EventBatch {
  readonly kind: 'batch';
  /** Events (and gap notices) in log order. */
  readonly items: readonly StreamItem[];
  /** Id of the first and last event in the batch; null when it holds only notices. */
  readonly firstId: number | null;
  readonly lastId: number | null;
  /** Events lost before or within this batch (the sum of its gap notices). */
  readonly dropped: number;
}

/** How a queue of batches treats one: a batch with a critical event is never dropped. */
export function retentionOfBatch(batch: EventBatch): Retention {
  return batch.items.some((i) => isGap(i) || isCritical(i.event)) ? Retention.Critical : Retention.Standard;
}

/** Batches kept for a reader that does not keep up (each may hold up to maxSize events). */
const BATCH_QUEUE_CAPACITY = 100;

/**
 * Groups a stream into batches: one per interval when anything arrived, or earlier when
 * `maxSize` events are collected. Fewer, larger messages: the cost per message (framing,
 * syscalls, client callbacks) is paid once per batch.
 */
export class BatchStream extends TimedStage<EventBatch> {
  private items: StreamItem[] = [];

  constructor(
    source: StageSource,
    intervalMs: number,
    readonly maxSize: number,
  ) {
    super({ source, periodMs: intervalMs, capacity: BATCH_QUEUE_CAPACITY, retentionOf: retentionOfBatch });
  }

  protected accept(item: StreamItem): void {
    this.items.push(item);
    if (this.items.length >= this.maxSize) this.flush();
  }

  protected discard(): void {
    this.items = [];
  }

  protected flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    let firstId: number | null = null;
    let lastId: number | null = null;
    let dropped = 0;
    for (const item of items) {
      if (isGap(item)) {
        dropped += item.missed;
        continue;
      }
      firstId ??= item.id;
      lastId = item.id;
    }
    this.push({ kind: 'batch', items, firstId, lastId, dropped });
  }
}

/** True for an {@link EventBatch}. */
export function isBatch(value: unknown): value is EventBatch {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'batch';
}
