import { QueueIterator, type Retention } from '../log/queue.js';
import type { StreamItem } from '../log/types.js';

/** A stream a stage reads from: a bus subscription or another stage. */
export interface StageSource extends AsyncIterableIterator<StreamItem> {
  close(): void;
  /** True when the stream started with history (replay, after). */
  readonly replays: boolean;
}

/** What a {@link TimedStage} is made of. */
export interface TimedStageOptions<Out> {
  /** The stream it reads; closing the stage closes it. */
  readonly source: StageSource;
  /** How often it emits, in ms. */
  readonly periodMs: number;
  /** Items its output queue may hold. */
  readonly capacity: number;
  /** How its output queue treats an item when it is full. */
  readonly retentionOf: (item: Out) => Retention;
  /** The item a reader gets after the output queue dropped `missed` items; absent: they are only counted. */
  readonly dropNotice?: (missed: number) => Out;
}

/**
 * A stage of a subscription pipeline that reads its source eagerly and emits on a timer
 * (conflation, batching). Closing the stage closes its source; when the source ends or
 * is cut off, what the stage holds is flushed before the end, so nothing is lost.
 */
export abstract class TimedStage<Out> extends QueueIterator<Out> {
  private readonly timer: NodeJS.Timeout;
  protected readonly source: StageSource;

  constructor(options: TimedStageOptions<Out>) {
    const { source, periodMs } = options;
    super({
      capacity: options.capacity,
      retentionOf: options.retentionOf,
      onEnd: () => {
        clearInterval(this.timer);
        this.discard();
        source.close();
      },
      dropNotice: options.dropNotice,
    });
    this.source = source;
    // One timer per stream, not per key or item.
    this.timer = setInterval(() => this.flush(), periodMs);
    this.timer.unref();
    // The first read is awaited, so it starts after subclass fields are initialised.
    void this.pull();
  }

  /** True when the underlying subscription started with history. */
  get replays(): boolean {
    return this.source.replays;
  }

  /** Takes one item of the source. */
  protected abstract accept(item: StreamItem): void;
  /** Emits what the stage holds. */
  protected abstract flush(): void;
  /** Forgets what the stage holds (it was closed). */
  protected abstract discard(): void;

  private async pull(): Promise<void> {
    try {
      for (;;) {
        const next = await this.source.next();
        if (next.done === true) break;
        this.accept(next.value);
      }
    } catch {
      // The source was cut off (overflow): end the same way, after what is due.
    }
    this.flush();
    this.finish();
  }
}
