import { gapNotice, isGap, type StreamGap, type StreamItem } from '../bus/types.js';
import type { StageSource } from '../bus/stage.js';
import type { EventFilter } from '../events/filter.js';
import type { EventStore } from '../store/store.js';
import type { Principal } from './principal.js';

/** Whose scope a backfill reads in: the runner globs of a token, and its check. */
export type BackfillScope = Pick<Principal, 'runners' | 'allows'>;

const EVERYTHING: BackfillScope = { runners: ['*'], allows: () => true };

/** Rows read from the store per query while backfilling. */
const PAGE = 1000;

interface Backfill {
  after: number;
  readonly gap: StreamGap & { readonly fromId: number; readonly toId: number };
  delivered: number;
}

/**
 * Fills a stream's gaps from the event store: where the bus reports a range of ids it no
 * longer holds (a resume point older than its history), the stored events of that range
 * that match the filter come instead, page by page, before the stream goes on. What the
 * store does not have either (types it does not keep) is still reported as a gap.
 */
export class StoreBackfill implements StageSource {
  private backfill: Backfill | null = null;
  private readonly buffer: StreamItem[] = [];

  constructor(
    private readonly source: StageSource,
    private readonly store: EventStore,
    private readonly filter: EventFilter,
    /** The runners the reader may see (its token's scope): applied in SQL, before any row is decoded. */
    private readonly scope: BackfillScope = EVERYTHING,
  ) {}

  get replays(): boolean {
    return this.source.replays;
  }

  close(): void {
    this.backfill = null;
    this.buffer.length = 0;
    this.source.close();
  }

  async next(): Promise<IteratorResult<StreamItem>> {
    for (;;) {
      const buffered = this.buffer.shift();
      if (buffered !== undefined) return { done: false, value: buffered };
      if (this.backfill !== null) {
        await this.readPage(this.backfill);
        continue;
      }
      const next = await this.source.next();
      if (next.done === true || !isGap(next.value) || next.value.fromId === null || next.value.toId === null) return next;
      const gap = next.value as Backfill['gap'];
      this.backfill = { after: gap.fromId - 1, gap, delivered: 0 };
    }
  }

  async return(): Promise<IteratorResult<StreamItem>> {
    this.close();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<StreamItem>> {
    this.close();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async readPage(backfill: Backfill): Promise<void> {
    const { gap } = backfill;
    try {
      const runnerGlobs = this.scope.runners.includes('*') ? null : this.scope.runners;
      const page = await this.store.history({ ...this.filter, runnerGlobs, after: backfill.after, before: gap.toId + 1, first: PAGE });
      if (this.backfill !== backfill) return; // closed meanwhile
      // SQL applied the scope; checking again costs little and guards a glob/LIKE mismatch.
      const visible = page.entries.filter((e) => this.scope.allows(e.event.runnerId));
      if (page.undecodable.length === 0) {
        this.buffer.push(...visible);
      } else {
        // Rows that did not decode are skipped, each reported where it sat in the log.
        const items: StreamItem[] = [...visible];
        for (const row of page.undecodable) {
          items.push(gapNotice(1, `stored event ${row.id} (${row.type}) could not be decoded (${row.reason}): skipped`, row.id, row.id));
        }
        this.buffer.push(...items.sort((a, b) => positionOf(a) - positionOf(b)));
      }
      backfill.delivered += visible.length;
      if (page.hasMore && page.lastId !== null) {
        backfill.after = page.lastId;
        return;
      }
      this.backfill = null;
      const wanted = this.filter.types ?? null;
      const unstored = wanted === null ? true : wanted.some((t) => !this.store.storedTypes.includes(t));
      if (unstored) {
        const size = gap.toId - gap.fromId + 1;
        const missing = size - (await this.store.countRange(gap.fromId, gap.toId));
        if (missing > 0) {
          this.buffer.push({
            ...gapNotice(missing, `events ${gap.fromId}..${gap.toId} came from the store, which does not keep every type; up to ${missing} are missing`, gap.fromId, gap.toId),
            scopedReason: 'events came from the event store, which does not keep every type: some may be missing',
          });
        }
      }
    } catch (err) {
      // The store is away: the reader still learns what it did not get, but not the
      // driver's message (hosts, paths): that goes to the process's warnings only.
      this.backfill = null;
      process.emitWarning(`the event store could not fill events ${gap.fromId}..${gap.toId} of a stream: ${(err as Error).message}`, { code: 'TICKWIRE_STORE_READ' });
      const failed = 'the event store could not fill it (it is unavailable)';
      this.buffer.push({ ...gap, reason: `${gap.reason}; ${failed}`, scopedReason: `${gap.scopedReason ?? 'events you asked for are no longer kept'}; ${failed}` });
    }
  }
}

/** Where an item sits in the log: an event's id, a one-row notice's row. */
function positionOf(item: StreamItem): number {
  return isGap(item) ? (item.fromId ?? 0) : item.id;
}
