import type { ClientEvent } from '../client/client.js';
import type { DashboardQuery, PositionSide, RunnerChartQuery, RunnerState } from '../client/generated/graphql.js';
import { CandleSeries, type Candle } from '../domain/candles.js';

export type { Candle } from '../domain/candles.js';

/** The chart's interval: one-second candles. */
export const CHART_INTERVAL_MS = 1000;

/** A runner as the dashboard shows it: what the query loaded, kept current by the stream. */
export interface RunnerView {
  readonly id: string;
  readonly symbol: string;
  readonly strategy: string;
  readonly canManage: boolean;
  state: RunnerState;
  lastPrice: number | null;
  position: { readonly side: PositionSide; readonly quantity: number; readonly entryPrice: number } | null;
  unrealizedPnl: number;
  realizedPnl: number;
  /** Id of the last PositionOpened/Closed applied: older marks (conflated, late) are stale. */
  positionSince: number;
}

/** An entry or an exit, marked on the chart at the bar of its time. */
export interface TradeMark {
  /** Id of the PositionOpened or PositionClosed: the same trade may come from a query and the stream. */
  readonly id: string;
  /** When, in ms since the epoch. */
  readonly time: number;
  readonly kind: 'entry' | 'exit';
  readonly side: PositionSide | null;
  readonly price: number;
  /** The realized P&L of an exit; null for an entry. */
  readonly pnl: number | null;
}

/** What one event changed, so the page redraws only that. */
export interface Change {
  readonly runnerId: string | null;
  /** A row of the runner table changed. */
  readonly row: boolean;
  /** The runner's chart got a new or changed bar. */
  readonly bar: Candle | null;
  /** The runner's chart got a new trade mark. */
  readonly mark: boolean;
  /** A runner the page does not know yet (or started again): load the list anew. */
  readonly reload: boolean;
}

const NOTHING: Change = { runnerId: null, row: false, bar: null, mark: false, reload: false };

/** Limits that keep a page open for days at a steady size. */
export interface ModelLimits {
  /** Candles kept per runner (default 900: a quarter of an hour of one-second candles). */
  readonly bars: number;
  /** Trade marks kept per runner (default 200). */
  readonly marks: number;
}

/** Candles a chart keeps (and asks the server for): a quarter of an hour of seconds. */
export const CHART_BARS = 900;

const DEFAULT_MODEL_LIMITS: ModelLimits = { bars: CHART_BARS, marks: 200 };

/**
 * The dashboard's state, free of the DOM so that it is tested in Node: runners from the
 * `Dashboard` query, updated by every event of the live stream, and per runner the
 * recent one-second bars and trade marks of its chart.
 */
export class DashboardModel {
  private readonly rows = new Map<string, RunnerView>();
  private readonly bars = new Map<string, CandleSeries>();
  private readonly marks = new Map<string, TradeMark[]>();
  private readonly limits: ModelLimits;

  constructor(limits: Partial<ModelLimits> = {}) {
    this.limits = { ...DEFAULT_MODEL_LIMITS, ...limits };
  }

  /** Replaces the runner list with a fresh answer of the `Dashboard` query; charts stay. */
  load(runners: DashboardQuery['runners']): void {
    this.rows.clear();
    for (const r of runners) {
      this.rows.set(r.id, {
        id: r.id,
        symbol: r.symbol,
        strategy: r.strategy,
        canManage: r.canManage,
        state: r.state,
        lastPrice: r.lastPrice ?? null,
        position: r.position ?? null,
        unrealizedPnl: r.unrealizedPnl,
        realizedPnl: r.realizedPnl,
        positionSince: 0,
      });
    }
  }

  /** Every runner, in the order the server listed them. */
  runners(): readonly RunnerView[] {
    return [...this.rows.values()];
  }

  /** One runner, or undefined when the list has none of that id. */
  runner(id: string): RunnerView | undefined {
    return this.rows.get(id);
  }

  /** The chart's bars of a runner, oldest first. */
  barsOf(id: string): readonly Candle[] {
    return this.bars.get(id)?.bars ?? [];
  }

  /** The trade marks of a runner, oldest first. */
  marksOf(id: string): readonly TradeMark[] {
    return this.marks.get(id) ?? [];
  }

  /** Applies one event of the stream and says what changed. */
  apply(event: ClientEvent): Change {
    if (event.__typename === 'StreamGap') return NOTHING;
    const id = event.runnerId;
    const row = this.rows.get(id);
    if (event.__typename === 'RunnerStarted') return { ...NOTHING, runnerId: id, reload: true };
    if (row === undefined) return { ...NOTHING, runnerId: id, reload: true };
    const changed = (extra: Partial<Change> = {}): Change => ({ ...NOTHING, runnerId: id, row: true, ...extra });
    switch (event.__typename) {
      case 'TickReceived': {
        row.lastPrice = event.data.close;
        return changed({ bar: this.seriesOf(id).add(event.data.timestamp, event.data.close) });
      }
      case 'StateTransition':
        row.state = event.to;
        return changed();
      case 'RunnerStopped':
        row.state = 'STOPPED';
        return changed();
      case 'PositionOpened': {
        row.positionSince = Number(event.id);
        const p = event.position;
        row.position = { side: p.side, quantity: p.quantity, entryPrice: p.entryPrice };
        row.unrealizedPnl = 0;
        return changed({ mark: this.addMark(id, { id: event.id, time: event.timestamp, kind: 'entry', side: p.side, price: p.entryPrice, pnl: null }) });
      }
      case 'PositionUpdated':
        // With throttleMs the last mark of a window comes at its end, possibly after the
        // position it belongs to was closed (or another opened): it no longer applies.
        if (Number(event.id) < row.positionSince) return { ...NOTHING, runnerId: id };
        row.lastPrice = event.currentPrice;
        row.unrealizedPnl = event.unrealizedPnl;
        return changed();
      case 'PositionClosed':
        row.positionSince = Number(event.id);
        const mark = this.addMark(id, { id: event.id, time: event.timestamp, kind: 'exit', side: row.position?.side ?? null, price: event.exitPrice, pnl: event.realizedPnl });
        row.position = null;
        row.unrealizedPnl = 0;
        // StatsUpdate brings the authoritative total within a second; until then, add.
        row.realizedPnl += event.realizedPnl;
        return changed({ mark });
      case 'StatsUpdate':
        row.realizedPnl = event.realizedPnl;
        if (event.lastPrice != null) row.lastPrice = event.lastPrice;
        row.position = event.openPosition ?? null;
        if (row.position === null) row.unrealizedPnl = 0;
        return changed();
      case 'ActionExecuted':
      case 'RunnerError':
        return { ...NOTHING, runnerId: id };
    }
  }

  /**
   * Puts what the server still holds of a runner's chart (the RunnerChart query) in
   * front of what the stream brought since the page opened.
   */
  backfill(id: string, chart: RunnerChartQuery): void {
    if (chart.runner !== null) this.seriesOf(id).backfill(chart.runner.candles);
    let side: PositionSide | null = null;
    for (const event of chart.recentEvents) {
      if (event.__typename === 'PositionOpened') {
        side = event.position.side;
        this.addMark(id, { id: event.id, time: event.timestamp, kind: 'entry', side, price: event.position.entryPrice, pnl: null });
      } else if (event.__typename === 'PositionClosed') {
        this.addMark(id, { id: event.id, time: event.timestamp, kind: 'exit', side, price: event.exitPrice, pnl: event.realizedPnl });
      }
    }
  }

  private seriesOf(id: string): CandleSeries {
    let series = this.bars.get(id);
    if (series === undefined) this.bars.set(id, (series = new CandleSeries(CHART_INTERVAL_MS, this.limits.bars)));
    return series;
  }

  /** Adds a mark in time order; false when it is there already. */
  private addMark(id: string, mark: TradeMark): boolean {
    let marks = this.marks.get(id);
    if (marks === undefined) this.marks.set(id, (marks = []));
    if (marks.some((m) => m.id === mark.id)) return false;
    let at = marks.length;
    while (at > 0 && marks[at - 1]!.time > mark.time) at--;
    marks.splice(at, 0, mark);
    if (marks.length > this.limits.marks) marks.splice(0, marks.length - this.limits.marks);
    return true;
  }
}
