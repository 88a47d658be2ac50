import { LineSeries, type IChartApi, type ISeriesApi } from 'lightweight-charts';
import { formatTime } from '../client/describe.js';
import { formatMoney, formatPrice, type DashboardModel, type EquityPoint } from './model.js';
import { toChartTime } from './price-chart.js';

/** The pane under the candles; pane 0 holds them. */
const PANE = 1;
const PANE_HEIGHT_PX = 110;

const toLine = (point: EquityPoint) => ({ time: toChartTime(point.time), value: point.value });

/**
 * The equity curve of the runner the price chart shows: realized plus unrealized P&L
 * over time, in a pane under its candles on the same time scale, so a trade's arrow and
 * the step it made in the curve line up.
 */
export class EquityCurve {
  private readonly series: ISeriesApi<'Line'>;
  private runnerId: string | null = null;

  constructor(
    chart: IChartApi,
    private readonly caption: HTMLElement,
    private readonly model: DashboardModel,
  ) {
    this.series = chart.addSeries(
      LineSeries,
      // No price line: drawn dotted across the whole pane, it read as a flat curve before the real one.
      { color: '#f0b90b', lineWidth: 2, priceLineVisible: false, priceFormat: { type: 'custom', minMove: 0.01, formatter: (value: number) => formatPrice(value, 0.01) }, title: 'equity' },
      PANE,
    );
    chart.panes()[PANE]?.setHeight(PANE_HEIGHT_PX);
    // Labels off the top edge, where the candles' pane ends: they collided there.
    this.series.priceScale().applyOptions({ scaleMargins: { top: 0.2, bottom: 0.1 } });
  }

  /** Shows a runner's curve so far. */
  show(runnerId: string): void {
    this.runnerId = runnerId;
    this.series.setData(this.model.equityOf(runnerId).map(toLine));
    this.refreshCaption();
  }

  /** A new or changed last point of a runner's curve: drawn if it is the one shown. */
  onPoint(runnerId: string, point: EquityPoint): void {
    if (runnerId !== this.runnerId) return;
    this.series.update(toLine(point));
    this.refreshCaption();
  }

  /** The latest value in words (and in data-points, data-first and data-first-value, for tests and tools). */
  private refreshCaption(): void {
    const points = this.runnerId === null ? [] : this.model.equityOf(this.runnerId);
    const last = points[points.length - 1];
    this.caption.dataset['points'] = String(points.length);
    this.caption.dataset['first'] = points[0] === undefined ? '' : String(points[0].time);
    this.caption.dataset['firstValue'] = points[0] === undefined ? '' : String(points[0].value);
    this.caption.textContent = last === undefined ? 'equity: waiting for P&L…' : `equity (realized + unrealized) ${formatMoney(last.value)} at ${formatTime(last.time)} UTC`;
  }
}
