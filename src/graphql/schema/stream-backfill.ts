import { gapNotice, isGap, type StreamGap, type StreamItem } from '../../log/types.js';
import type { StageSource } from '../../delivery/stage.js';
import type { EventFilter } from '../../events/filter.js';
import { HISTORY_SCAN_ROWS, type EventStore } from '../../store/store.js';
import { StoreTimeoutError } from '../../store/timeout.js';
import type { Principal } from './principal.js';

/** Whose scope a backfill reads in: the runner globs of a token, and its check. */
export type BackfillScope = Pick<Principal, 'runners' | 'allows'>;

const EVERYTHING: BackfillScope = { runners: ['*'], allows: () => true };

/** Rows read from the store per query while backfilling. */
const PAGE = 1000;

/**
 * Most stored events one backfill reads that its filters then reject (`where`,
 * `minSeverity`, the token's scope: no index skips them), ten pages of
 * {@link HISTORY_SCAN_ROWS}. A `where` that matches nothing over a resume point far back
 * costs this much, not a scan of the whole store per subscription; past it the backfill
 * stops and a StreamGap names the range it did not search. Matches do not count: a resume
 * that receives what it reads is not bounded here.
 */
export const BACKFILL_SCAN_ROWS = 10 * HISTORY_SCAN_ROWS;

interface Backfill {
  after: number;
  readonly gap: StreamGap & { readonly fromId: number; readonly toId: number };
  delivered: number;
  /** Stored events read that the filters rejected. */
  rejected: number;
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
      this.backfill = { after: gap.fromId - 1, gap, delivered: 0, rejected: 0 };
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
          items.push(gapNotice({ missed: 1, reason: `stored event ${row.id} (${row.type}) could not be decoded (${row.reason}): skipped`, fromId: row.id, toId: row.id }));
        }
        this.buffer.push(...items.sort((a, b) => positionOf(a) - positionOf(b)));
      }
      backfill.delivered += visible.length;
      backfill.rejected += Math.max(0, page.scanned - page.entries.length - page.undecodable.length);
      if (page.hasMore && page.lastId !== null && backfill.rejected < BACKFILL_SCAN_ROWS) {
        backfill.after = page.lastId;
        return;
      }
      this.backfill = null;
      const searchedTo = page.hasMore && page.lastId !== null ? page.lastId : gap.toId;
      await this.reportUnstored(gap.fromId, searchedTo);
      if (searchedTo < gap.toId) this.buffer.push(stoppedNotice(searchedTo + 1, gap.toId, backfill.rejected));
    } catch (err) {
      // The store is away or too slow: the reader still learns what it did not get, but
      // not the driver's message (hosts, paths): that goes to the process's warnings only.
      this.backfill = null;
      const fromId = backfill.after + 1;
      process.emitWarning(`the event store could not fill events ${fromId}..${gap.toId} of a stream: ${(err as Error).message}`, { code: 'TICKWIRE_STORE_READ' });
      const failed = err instanceof StoreTimeoutError ? `the event store could not fill it (${err.message})` : 'the event store could not fill it (it is unavailable)';
      this.buffer.push({
        ...gap,
        missed: gap.toId - fromId + 1,
        fromId,
        reason: `${gap.reason}; ${failed}`,
        scopedReason: `${gap.scopedReason ?? 'events you asked for are no longer kept'}; ${failed}`,
      });
    }
  }

  /** Says how many of `fromId..toId` the store does not have, when the filter wants types it does not keep. */
  private async reportUnstored(fromId: number, toId: number): Promise<void> {
    const wanted = this.filter.types ?? null;
    const unstored = wanted === null ? true : wanted.some((t) => !this.store.storedTypes.includes(t));
    if (!unstored) return;
    const missing = toId - fromId + 1 - (await this.store.countRange(fromId, toId));
    if (missing <= 0) return;
    this.buffer.push({
      ...gapNotice({ missed: missing, reason: `events ${fromId}..${toId} came from the store, which does not keep every type; up to ${missing} are missing`, fromId, toId }),
      scopedReason: 'events came from the event store, which does not keep every type: some may be missing',
    });
  }
}

/** The notice of a backfill that stopped at {@link BACKFILL_SCAN_ROWS}: what it did not search, and how to read it. */
function stoppedNotice(fromId: number, toId: number, rejected: number): StreamGap {
  return {
    ...gapNotice({
      missed: toId - fromId + 1,
      reason:
        `the event store search for this resume stopped after its filters (where, minSeverity or the token's scope) rejected ${rejected} stored events, ` +
        `the most one resume reads (${BACKFILL_SCAN_ROWS}): events ${fromId}..${toId} were not searched; ` +
        `eventHistory(after: "${fromId - 1}") with the same filters reads them page by page`,
      fromId,
      toId,
    }),
    scopedReason:
      'the event store search for this resume stopped at its bound (the stored events its filters rejected): some events you asked for were not searched; eventHistory reads them page by page',
  };
}

/** Where an item sits in the log: an event's id, a one-row notice's row. */
function positionOf(item: StreamItem): number {
  return isGap(item) ? (item.fromId ?? 0) : item.id;
}
