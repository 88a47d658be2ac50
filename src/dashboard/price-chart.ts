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
import { formatTime } from '../client/describe.js';
import { candlesCaption, DEFAULT_TICK, formatPrice, groupMarks, markBucketMs, type Candle, type DashboardModel, type MarkGroup } from './model.js';

const UP = '#26a69a';
const DOWN = '#ef5350';

/**
 * Bars of empty space right of the last candle: the time axis puts a label under a bar,
 * centred, and one under the last bar at the edge was cut in half by the price axis.
 */
const RIGHT_OFFSET_BARS = 8;

/**
 * The marker of a group of entries or exits. One mark alone has no text (the log tells
 * its details); a group says how many it stands for, so thinning hides no trade.
 */
function toMarker(group: MarkGroup): SeriesMarker<Time> {
  const time = toChartTime(group.time);
  const text = group.text === '' ? {} : { text: group.text };
  if (group.kind === 'entry') {
    const long = group.side !== 'SHORT';
    return { time, position: long ? 'belowBar' : 'aboveBar', shape: long ? 'arrowUp' : 'arrowDown', color: long ? UP : DOWN, ...text };
  }
  const won = (group.pnl ?? 0) >= 0;
  return { time, position: group.side === 'SHORT' ? 'belowBar' : 'aboveBar', shape: 'circle', color: won ? UP : DOWN, size: 0.6, ...text };
}

/** lightweight-charts counts time in whole seconds. */
export const toChartTime = (ms: number): UTCTimestamp => Math.floor(ms / 1000) as UTCTimestamp;

/** Back from a chart time to ms; this chart only ever holds UTCTimestamps. */
const fromChartTime = (time: Time): number => (typeof time === 'number' ? time * 1000 : Number.NaN);

const toBar = (bar: Candle) => ({ time: toChartTime(bar.start), open: bar.open, high: bar.high, low: bar.low, close: bar.close });

/**
 * The live price chart of one runner: one-second candles from its ticks, entries and
 * exits marked (thinned to one marker per kind where they would overlap). It draws what
 * the model keeps, so switching runners is instant. Its axis and crosshair read times
 * with the same {@link formatTime} as the rest of the page.
 */
export class PriceChart {
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Candlestick'>;
  private readonly markers: ISeriesMarkersPluginApi<Time>;
  private runnerId: string | null = null;
  /** Time one marker stands for at the current zoom. */
  private bucketMs: number;
  /** The price step the axis shows now. */
  private tick: number | null = null;

  constructor(
    container: HTMLElement,
    private readonly caption: HTMLElement,
    private readonly model: DashboardModel,
  ) {
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { color: '#10151c' }, textColor: '#c8d1dc' },
      grid: { vertLines: { color: '#1d2530' }, horzLines: { color: '#1d2530' } },
      localization: { timeFormatter: (time: Time) => formatTime(fromChartTime(time)) },
      timeScale: { timeVisible: true, secondsVisible: true, rightOffset: RIGHT_OFFSET_BARS, tickMarkFormatter: (time: Time) => formatTime(fromChartTime(time), 's') },
      // The candles' lowest label and the equity pane's highest sat on the line between the
      // panes, on top of each other: each pane keeps its labels off that line.
      rightPriceScale: { scaleMargins: { top: 0.08, bottom: 0.12 } },
    });
    this.series = this.chart.addSeries(CandlestickSeries, { upColor: UP, downColor: DOWN, wickUpColor: UP, wickDownColor: DOWN, borderVisible: false });
    this.markers = createSeriesMarkers(this.series, []);
    this.bucketMs = markBucketMs(this.chart.timeScale().options().barSpacing);
    // Zooming changes how many bars a marker covers: group the marks again when it does.
    this.chart.timeScale().subscribeVisibleLogicalRangeChange(() => {
      const bucketMs = markBucketMs(this.chart.timeScale().options().barSpacing);
      if (bucketMs === this.bucketMs) return;
      this.bucketMs = bucketMs;
      this.refreshMarks();
    });
  }

  /** The chart, for panes drawn under the candles on the same time scale. */
  get api(): IChartApi {
    return this.chart;
  }

  /** The runner shown, or null. */
  get shown(): string | null {
    return this.runnerId;
  }

  /** Shows a runner's bars and marks so far. */
  show(runnerId: string): void {
    this.runnerId = runnerId;
    this.applyTick();
    this.series.setData(this.model.barsOf(runnerId).map(toBar));
    this.refreshMarks();
    this.refreshCaption();
    this.chart.timeScale().scrollToRealTime();
  }

  /** A new or changed last bar of a runner: drawn if it is the one shown. */
  onBar(runnerId: string, bar: Candle): void {
    if (runnerId !== this.runnerId) return;
    this.series.update(toBar(bar));
    if (bar.ticks === 1) {
      this.applyTick();
      this.refreshCaption();
    }
  }

  /** A new entry or exit of a runner. */
  onMark(runnerId: string): void {
    if (runnerId === this.runnerId) this.refreshMarks();
  }

  /**
   * The price axis and crosshair in the shown runner's price steps, with thousands
   * separators, as the table shows its prices; set again when its step becomes known.
   */
  private applyTick(): void {
    const tick = (this.runnerId === null ? null : this.model.runner(this.runnerId)?.tickSize) ?? DEFAULT_TICK;
    if (tick === this.tick) return;
    this.tick = tick;
    this.series.applyOptions({ priceFormat: { type: 'custom', minMove: tick, formatter: (price: number) => formatPrice(price, tick) } });
  }

  /** How much the chart shows, in words (and in data-bars and data-first, for tests and tools). */
  private refreshCaption(): void {
    const bars = this.runnerId === null ? [] : this.model.barsOf(this.runnerId);
    this.caption.dataset['bars'] = String(bars.length);
    this.caption.dataset['first'] = bars[0] === undefined ? '' : String(bars[0].start);
    this.caption.textContent = candlesCaption(bars);
  }

  private refreshMarks(): void {
    if (this.runnerId === null) return;
    // A mark needs a bar at its time: marks from before the first bar kept are left out.
    const first = this.model.barsOf(this.runnerId)[0]?.start ?? Number.POSITIVE_INFINITY;
    const marks = this.model.marksOf(this.runnerId).filter((m) => m.time >= first);
    const groups = groupMarks(marks, this.bucketMs);
    this.markers.setMarkers(groups.map(toMarker));
    this.caption.dataset['markers'] = String(groups.length);
  }
}
