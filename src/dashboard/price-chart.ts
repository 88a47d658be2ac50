import {
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { intervalStart } from '../domain/candles.js';
import { CHART_INTERVAL_MS, type Candle, type DashboardModel, type TradeMark } from './model.js';

const UP = '#26a69a';
const DOWN = '#ef5350';

/**
 * A chart mark for an entry or an exit. No text on the chart: a busy strategy trades
 * every few seconds and labels would cover the candles; the log tells the details.
 */
function toMarker(mark: TradeMark): SeriesMarker<Time> {
  const time = toChartTime(intervalStart(mark.time, CHART_INTERVAL_MS));
  if (mark.kind === 'entry') {
    const long = mark.side !== 'SHORT';
    return { time, position: long ? 'belowBar' : 'aboveBar', shape: long ? 'arrowUp' : 'arrowDown', color: long ? UP : DOWN };
  }
  const won = (mark.pnl ?? 0) >= 0;
  return { time, position: mark.side === 'SHORT' ? 'belowBar' : 'aboveBar', shape: 'circle', color: won ? UP : DOWN, size: 0.6 };
}

/** lightweight-charts counts time in whole seconds. */
const toChartTime = (ms: number): UTCTimestamp => Math.floor(ms / 1000) as UTCTimestamp;

const toBar = (bar: Candle) => ({ time: toChartTime(bar.start), open: bar.open, high: bar.high, low: bar.low, close: bar.close });

/**
 * The live price chart of one runner: one-second candles from its ticks, entries and
 * exits marked. It draws what the model keeps, so switching runners is instant.
 */
export class PriceChart {
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Candlestick'>;
  private readonly markers: ISeriesMarkersPluginApi<Time>;
  private runnerId: string | null = null;

  constructor(
    container: HTMLElement,
    private readonly caption: HTMLElement,
    private readonly model: DashboardModel,
  ) {
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { color: '#10151c' }, textColor: '#c8d1dc' },
      grid: { vertLines: { color: '#1d2530' }, horzLines: { color: '#1d2530' } },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    this.series = this.chart.addSeries(CandlestickSeries, { upColor: UP, downColor: DOWN, wickUpColor: UP, wickDownColor: DOWN, borderVisible: false });
    this.markers = createSeriesMarkers(this.series, []);
  }

  /** The runner shown, or null. */
  get shown(): string | null {
    return this.runnerId;
  }

  /** Shows a runner's bars and marks so far. */
  show(runnerId: string): void {
    this.runnerId = runnerId;
    this.series.setData(this.model.barsOf(runnerId).map(toBar));
    this.refreshMarks();
    this.refreshCaption();
    this.chart.timeScale().scrollToRealTime();
  }

  /** A new or changed last bar of a runner: drawn if it is the one shown. */
  onBar(runnerId: string, bar: Candle): void {
    if (runnerId !== this.runnerId) return;
    this.series.update(toBar(bar));
    if (bar.ticks === 1) this.refreshCaption();
  }

  /** A new entry or exit of a runner. */
  onMark(runnerId: string): void {
    if (runnerId === this.runnerId) this.refreshMarks();
  }

  /** How much the chart shows, in words (and in data-bars, for tests and tools). */
  private refreshCaption(): void {
    const bars = this.runnerId === null ? [] : this.model.barsOf(this.runnerId);
    const first = bars[0];
    this.caption.dataset['bars'] = String(bars.length);
    this.caption.textContent =
      first === undefined ? 'waiting for ticks…' : `${bars.length} one-second candles since ${new Date(first.start).toLocaleTimeString()}`;
  }

  private refreshMarks(): void {
    if (this.runnerId === null) return;
    // A mark needs a bar at its time: marks from before the first bar kept are left out.
    const first = this.model.barsOf(this.runnerId)[0]?.start ?? Number.POSITIVE_INFINITY;
    this.markers.setMarkers(this.model.marksOf(this.runnerId).filter((m) => m.time >= first).map(toMarker));
  }
}
