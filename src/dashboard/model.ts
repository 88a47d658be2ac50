import type { ClientEvent } from '../client/client.js';
import { formatTime } from '../client/describe.js';
import { DEFAULT_TICK, formatPrice, tickSizeOf } from '../client/prices.js';

export { DEFAULT_TICK, TICK_SIZES, decimalsOf, formatMoney, formatPrice, tickSizeOf } from '../client/prices.js';
import type { DashboardQuery, PositionSide, RunnerChartQuery, RunnerState } from '../client/generated/graphql.js';
import { CandleSeries, intervalStart, type Candle } from '../domain/candles.js';
import { positionPnl } from '../domain/position.js';

export type { Candle } from '../domain/candles.js';

/** The chart's interval: one-second candles. */
export const CHART_INTERVAL_MS = 1000;

/**
 * A runner as the dashboard shows it. Its state, price, position and P&L come from the
 * stream, first from its snapshot; the `Dashboard` query adds what events do not carry
 * (strategy, whether this token may manage it) and stands in only for what no event has
 * told yet.
 */
export interface RunnerView {
  readonly id: string;
  /** '' until the query or an event carrying it (a tick, a position) says. */
  symbol: string;
  /** null until the query answers. */
  strategy: string | null;
  canManage: boolean;
  /** null until an event or the query says. */
  state: RunnerState | null;
  lastPrice: number | null;
  /** Market time of `lastPrice` (ms since the epoch), when an event told it. */
  lastPriceAt: number | null;
  position: { readonly side: PositionSide; readonly quantity: number; readonly entryPrice: number } | null;
  unrealizedPnl: number;
  realizedPnl: number;
  /** Id of the last PositionOpened/Closed applied: older marks (conflated, late) are stale. */
  positionSince: number;
  /** Id of the last event applied; 0 while only the query has spoken. */
  lastEventId: number;
  /** Price step its prices are shown in: from its symbol, else its first price; null until either is known. */
  tickSize: number | null;
  /** When its strategy has seen enough bars to trade (from the query); null when unknown. */
  warmUp: WarmUp | null;
}

/** A strategy's warm-up: it holds until it has seen `bars` bars of `barSeconds`. */
export interface WarmUp {
  /** When the runner started (ms since the epoch). */
  readonly since: number;
  readonly bars: number;
  readonly barSeconds: number;
  /** When it may trade at the earliest: `since` plus the bars' time. */
  readonly readyAt: number;
}

/** Realized plus unrealized P&L of a runner at one time: a point of its equity curve. */
export interface EquityPoint {
  /** Start of the chart interval it falls in (ms since the epoch), as the candles count. */
  readonly time: number;
  value: number;
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
  /** The runner's equity curve got a new or changed last point. */
  readonly equity: EquityPoint | null;
  /** The runner is new to the model: the table needs a row for it. */
  readonly added: boolean;
  /** A runner the page does not know yet (or started again): load the list anew. */
  readonly reload: boolean;
}

const NOTHING: Change = { runnerId: null, row: false, bar: null, mark: false, equity: null, added: false, reload: false };

/** Limits that keep a page open for days at a steady size. */
export interface ModelLimits {
  /** Candles kept per runner (default 900: a quarter of an hour of one-second candles). */
  readonly bars: number;
  /** Trade marks kept per runner (default 200). */
  readonly marks: number;
  /** Points of the equity curve kept per runner (default: as many as bars). */
  readonly equity: number;
}

/** Candles a chart keeps (and asks the server for): a quarter of an hour of seconds. */
export const CHART_BARS = 900;

const DEFAULT_MODEL_LIMITS: ModelLimits = { bars: CHART_BARS, marks: 200, equity: CHART_BARS };

/**
 * The dashboard's state, free of the DOM so that it is tested in Node: runners as the
 * overview stream tells them (its snapshot first, so the page draws every runner's state
 * before any live event), with what the `Dashboard` query adds, and per runner the
 * recent one-second bars, trade marks and equity points of its chart.
 */
export class DashboardModel {
  private rows = new Map<string, RunnerView>();
  private readonly bars = new Map<string, CandleSeries>();
  private readonly marks = new Map<string, TradeMark[]>();
  private readonly equity = new Map<string, EquityPoint[]>();
  private readonly limits: ModelLimits;
  /** A runner list has been loaded: a runner the stream names outside it is news. */
  private loaded = false;

  constructor(limits: Partial<ModelLimits> = {}) {
    this.limits = { ...DEFAULT_MODEL_LIMITS, ...limits };
  }

  /**
   * Takes a fresh answer of the `Dashboard` query as the runner list, in its order; charts
   * stay. What the stream already told of a runner stays too: the query only fills in what
   * no event has said (it may have been answered before or after the events applied, and
   * the stream brings whatever happened since, without a gap).
   */
  load(runners: DashboardQuery['runners']): void {
    const before = this.rows;
    this.rows = new Map();
    for (const r of runners) {
      const seen = before.get(r.id);
      if (seen === undefined || seen.lastEventId === 0) {
        this.rows.set(r.id, {
          id: r.id,
          symbol: r.symbol,
          strategy: r.strategy,
          canManage: r.canManage,
          state: r.state,
          lastPrice: r.lastPrice ?? null,
          lastPriceAt: null,
          position: r.position ?? null,
          unrealizedPnl: r.unrealizedPnl,
          realizedPnl: r.realizedPnl,
          positionSince: seen?.positionSince ?? 0,
          lastEventId: 0,
          tickSize: seen?.tickSize ?? tickSizeOf(r.symbol, r.lastPrice ?? null),
          warmUp: warmUpOf(r),
        });
        continue;
      }
      seen.symbol = r.symbol;
      seen.strategy = r.strategy;
      seen.canManage = r.canManage;
      seen.warmUp = warmUpOf(r);
      seen.tickSize ??= tickSizeOf(r.symbol, seen.lastPrice ?? r.lastPrice ?? null);
      seen.state ??= r.state;
      seen.lastPrice ??= r.lastPrice ?? null;
      // A stopped runner's totals are final, and its snapshot may hold a StatsUpdate from
      // before the trade its stop closed (no stats follow a stop): the query's total stands.
      if (seen.state === 'STOPPED' && r.state === 'STOPPED') seen.realizedPnl = r.realizedPnl;
      this.rows.set(r.id, seen);
    }
    this.loaded = true;
  }

  /**
   * A new subscription is about to start (a new connection, perhaps to a restarted server
   * whose ids start again at 1): ids seen before say nothing about the events to come.
   */
  resubscribe(): void {
    for (const row of this.rows.values()) row.positionSince = 0;
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

  /** The equity curve of a runner (realized plus unrealized P&L), one point per interval, oldest first. */
  equityOf(id: string): readonly EquityPoint[] {
    return this.equity.get(id) ?? [];
  }

  /** A price of a runner in its symbol's steps, with thousands separators ("60,010.81"). */
  priceText(id: string, price: number): string {
    const row = this.rows.get(id);
    return formatPrice(price, row?.tickSize ?? tickSizeOf(row?.symbol ?? '', price) ?? DEFAULT_TICK);
  }

  /**
   * Why a runner does not trade yet, in words, while its strategy warms up at `now`
   * (it has not seen enough bars); null once it may trade, or when it is not running.
   */
  warmUpHint(id: string, now: number): string | null {
    const row = this.rows.get(id);
    const w = row?.warmUp;
    if (row === undefined || w == null || now >= w.readyAt || row.state === 'STOPPED' || row.position !== null) return null;
    const left = Math.ceil((w.readyAt - now) / 1000);
    return `warming up: ${row.strategy ?? 'its strategy'} needs ${count(w.bars, `${w.barSeconds}-second bar`)} before it trades, about ${duration(left)} more (until ${formatTime(w.readyAt, 's')} UTC)`;
  }

  /** Applies one event of the stream (of its snapshot, or live) and says what changed. */
  apply(event: ClientEvent): Change {
    if (event.__typename === 'StreamGap') return NOTHING;
    const id = event.runnerId;
    let row = this.rows.get(id);
    let added = false;
    if (row === undefined) {
      // Before the query answers, the snapshot alone draws the runner; after, a runner
      // the list lacks is one that started since: the list is loaded again.
      row = this.blank(id);
      this.rows.set(id, row);
      added = true;
    }
    const reload = event.__typename === 'RunnerStarted' || (added && this.loaded);
    const eventId = Number(event.id);
    if (eventId > row.lastEventId) row.lastEventId = eventId;
    const changed = (extra: Partial<Change> = {}): Change => ({ ...NOTHING, runnerId: id, row: true, added, reload, ...extra });
    switch (event.__typename) {
      case 'RunnerStarted':
        row.symbol = event.symbol;
        return changed();
      case 'TickReceived': {
        row.symbol ||= event.symbol;
        row.tickSize ??= tickSizeOf(row.symbol, event.data.close);
        row.lastPrice = event.data.close;
        row.lastPriceAt = event.data.timestamp;
        return changed({ bar: this.seriesOf(id).add(event.data.timestamp, event.data.close) });
      }
      case 'StateTransition':
        row.state = event.to;
        if (event.to === 'STOPPED') this.flat(row);
        return changed();
      case 'RunnerStopped':
        row.state = 'STOPPED';
        // A stopped runner holds nothing: its stop closed what was open.
        this.flat(row);
        return changed();
      case 'PositionOpened': {
        row.positionSince = eventId;
        const p = event.position;
        row.symbol ||= p.symbol;
        row.position = { side: p.side, quantity: p.quantity, entryPrice: p.entryPrice };
        row.unrealizedPnl = 0;
        return changed({
          mark: this.addMark(id, { id: event.id, time: event.timestamp, kind: 'entry', side: p.side, price: p.entryPrice, pnl: null }),
          equity: this.addEquity(row, event.timestamp),
        });
      }
      case 'PositionUpdated':
        // With throttleMs the last mark of a window comes at its end, possibly after the
        // position it belongs to was closed (or another opened): it no longer applies.
        if (eventId < row.positionSince) return { ...NOTHING, runnerId: id, added, reload };
        row.lastPrice = event.currentPrice;
        row.lastPriceAt = event.timestamp;
        row.unrealizedPnl = event.unrealizedPnl;
        return changed({ equity: this.addEquity(row, event.timestamp) });
      case 'PositionClosed': {
        row.positionSince = eventId;
        const mark = this.addMark(id, { id: event.id, time: event.timestamp, kind: 'exit', side: row.position?.side ?? null, price: event.exitPrice, pnl: event.realizedPnl });
        row.position = null;
        row.unrealizedPnl = 0;
        // StatsUpdate brings the authoritative total within a second; until then, add.
        row.realizedPnl += event.realizedPnl;
        return changed({ mark, equity: this.addEquity(row, event.timestamp) });
      }
      case 'StatsUpdate':
        row.realizedPnl = event.realizedPnl;
        if (event.lastPrice != null) row.lastPrice = event.lastPrice;
        row.position = event.openPosition ?? null;
        if (row.position === null) row.unrealizedPnl = 0;
        // Stats carry the wall clock; the curve follows market time like the candles, so
        // a recorded feed's curve lines up with its bars.
        return changed({ equity: this.addEquity(row, row.lastPriceAt ?? event.timestamp) });
      case 'ActionExecuted':
      case 'RunnerError':
        return added || reload ? { ...NOTHING, runnerId: id, added, reload } : { ...NOTHING, runnerId: id };
    }
  }

  /**
   * Puts what the server still holds of a runner's chart (the RunnerChart query) in
   * front of what the stream brought since the page opened.
   */
  backfill(id: string, chart: RunnerChartQuery): void {
    if (chart.runner !== null) {
      this.seriesOf(id).backfill(chart.runner.candles);
      this.backfillEquity(id, equityOfStats(chart.stats, chart.runner.feeRate));
    }
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

  /**
   * Puts the curve drawn from history in front of what the stream drew since the page
   * opened: history up to the first live point, then the live points (fresher where both
   * have the same interval).
   */
  private backfillEquity(id: string, history: readonly EquityPoint[]): void {
    const live = this.equity.get(id) ?? [];
    const firstLive = live[0]?.time ?? Number.POSITIVE_INFINITY;
    const points = [...history.filter((p) => p.time < firstLive), ...live];
    if (points.length > this.limits.equity) points.splice(0, points.length - this.limits.equity);
    this.equity.set(id, points);
  }

  /** A runner known only from the stream so far. */
  private blank(id: string): RunnerView {
    return {
      id,
      symbol: '',
      strategy: null,
      canManage: false,
      state: null,
      lastPrice: null,
      lastPriceAt: null,
      position: null,
      unrealizedPnl: 0,
      realizedPnl: 0,
      positionSince: 0,
      lastEventId: 0,
      tickSize: null,
      warmUp: null,
    };
  }

  private flat(row: RunnerView): void {
    row.position = null;
    row.unrealizedPnl = 0;
  }

  /**
   * Adds the runner's equity now to its curve at `time`: in the interval's point, which a
   * later value of the same interval replaces. A time before the last point (stats on the
   * wall clock beside ticks on market time) counts for the last point: a curve only grows
   * at its end.
   */
  private addEquity(row: RunnerView, time: number): EquityPoint {
    let points = this.equity.get(row.id);
    if (points === undefined) this.equity.set(row.id, (points = []));
    const value = row.realizedPnl + row.unrealizedPnl;
    const start = intervalStart(time, CHART_INTERVAL_MS);
    const last = points[points.length - 1];
    if (last !== undefined && start <= last.time) {
      last.value = value;
      return last;
    }
    const point: EquityPoint = { time: start, value };
    points.push(point);
    if (points.length > this.limits.equity) points.splice(0, points.length - this.limits.equity);
    return point;
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

/** Entries or exits close enough to be drawn as one marker on the chart. */
export interface MarkGroup {
  /** Start of the bar of its latest mark (ms since the epoch): where the marker goes. */
  readonly time: number;
  readonly kind: 'entry' | 'exit';
  readonly count: number;
  /** Side of its latest mark, which picks the marker's shape. */
  readonly side: PositionSide | null;
  /** Summed realized P&L of exits (their colour); null for entries. */
  readonly pnl: number | null;
  /**
   * What the marker says: nothing for one mark, the count for more ("×3"). Short, so that
   * labels of neighbouring markers do not run into each other; shape and colour already
   * tell entries (by side) from exits (by summed P&L), and the log tells the rest.
   */
  readonly text: string;
}

/** Width a marker needs on the chart, in pixels, before the next one may sit beside it. */
export const MARKER_WIDTH_PX = 16;

/**
 * How much time one marker stands for at a bar spacing of `barSpacingPx`: one bar while
 * bars are wider than a marker, else as many bars as a marker covers, so markers never
 * overlap however far the chart is zoomed out.
 */
export function markBucketMs(barSpacingPx: number, intervalMs = CHART_INTERVAL_MS): number {
  const bars = barSpacingPx > 0 ? Math.ceil(MARKER_WIDTH_PX / barSpacingPx) : 1;
  return Math.max(1, bars) * intervalMs;
}

/**
 * Thins trade marks for drawing: at most one marker per kind and `bucketMs` (a bar, or
 * several bars when zoomed out), standing for every mark in it. A busy strategy trades
 * several times a second; drawn one by one, its arrows would cover each other and the
 * candles. Marks come oldest first; so do the groups.
 */
export function groupMarks(marks: readonly TradeMark[], bucketMs: number, intervalMs = CHART_INTERVAL_MS): MarkGroup[] {
  const groups: MarkGroup[] = [];
  const open = new Map<string, number>();
  for (const mark of marks) {
    const key = `${mark.kind}:${Math.floor(mark.time / bucketMs)}`;
    const at = open.get(key);
    const before = at === undefined ? undefined : groups[at];
    const count = (before?.count ?? 0) + 1;
    const pnl = mark.kind === 'exit' ? (before?.pnl ?? 0) + (mark.pnl ?? 0) : null;
    const text = count === 1 ? '' : `×${count}`;
    const group: MarkGroup = { time: intervalStart(mark.time, intervalMs), kind: mark.kind, count, side: mark.side, pnl, text };
    if (at === undefined) {
      open.set(key, groups.length);
      groups.push(group);
    } else {
      groups[at] = group;
    }
  }
  // A group takes the bar of its latest mark, which may come after a later-opened group's.
  return groups.sort((a, b) => a.time - b.time);
}

/** `n` and a noun, singular for one: "1 one-second candle", "2 one-second candles". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A number of seconds in words people read at a glance: "45 s", "2 min", "1 min 20 s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const rest = s % 60;
  return rest === 0 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 60)} min ${rest} s`;
}

/** What the price chart's caption says of its candles. */
export function candlesCaption(bars: readonly Candle[]): string {
  const first = bars[0];
  return first === undefined ? 'waiting for ticks…' : `${count(bars.length, 'one-second candle')} since ${formatTime(first.start)} UTC`;
}

/**
 * A strategy's warm-up from the runner query: the bars its slowest average (ema_crossover's
 * slowPeriod, mean_reversion's window) needs, of `barSeconds` each. Null for a strategy
 * without one known here, or bars of ticks (barSeconds 0), which fill at once.
 */
export function warmUpOf(runner: Pick<DashboardQuery['runners'][number], 'strategy' | 'params'> & { readonly startedAt?: number | null }): WarmUp | null {
  const param = (name: string): number | undefined => runner.params.find((p) => p.name === name)?.value;
  const bars = runner.strategy === 'ema_crossover' ? param('slowPeriod') : runner.strategy === 'mean_reversion' ? param('window') : undefined;
  const barSeconds = param('barSeconds');
  if (runner.startedAt == null || bars === undefined || barSeconds === undefined || !(barSeconds > 0)) return null;
  return { since: runner.startedAt, bars, barSeconds, readyAt: runner.startedAt + bars * barSeconds * 1000 };
}

/**
 * The equity curve a runner's recent stats draw (RunnerChart's `stats`): realized P&L,
 * plus the open position's P&L at the last price after fees, one point per interval (the
 * last stats of an interval win), oldest first.
 */
export function equityOfStats(stats: RunnerChartQuery['stats'], feeRate: number, intervalMs = CHART_INTERVAL_MS): EquityPoint[] {
  const points: EquityPoint[] = [];
  for (const event of stats) {
    if (event.__typename !== 'StatsUpdate') continue;
    const p = event.openPosition;
    const unrealized = p == null || event.lastPrice == null ? 0 : positionPnl({ symbol: '', entryTime: 0, side: p.side, quantity: p.quantity, entryPrice: p.entryPrice }, event.lastPrice, feeRate);
    const value = event.realizedPnl + unrealized;
    const time = intervalStart(event.timestamp, intervalMs);
    const last = points[points.length - 1];
    if (last !== undefined && time <= last.time) last.value = value;
    else points.push({ time, value });
  }
  return points;
}
