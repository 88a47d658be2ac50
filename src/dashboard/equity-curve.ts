import { LineSeries, type IChartApi, type ISeriesApi } from 'lightweight-charts';
import { formatTime } from '../client/describe.js';
import type { DashboardModel, EquityPoint } from './model.js';
import { toChartTime } from './price-chart.js';

/** The pane under the candles; pane 0 holds them. */
const PANE = 1;
const PANE_HEIGHT_PX = 110;

const toLine = (point: EquityPoint) => ({ time: toChartTime(point.time), value: point.value });

const signed = (value: number): string => (value >= 0 ? '+' : '') + value.toFixed(2);

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
      { color: '#f0b90b', lineWidth: 2, priceFormat: { type: 'price', precision: 2, minMove: 0.01 }, title: 'equity' },
      PANE,
    );
    chart.panes()[PANE]?.setHeight(PANE_HEIGHT_PX);
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

  /** The latest value in words (and the number of points in data-points, for tests and tools). */
  private refreshCaption(): void {
    const points = this.runnerId === null ? [] : this.model.equityOf(this.runnerId);
    const last = points[points.length - 1];
    this.caption.dataset['points'] = String(points.length);
    this.caption.textContent = last === undefined ? 'equity: waiting for P&L…' : `equity (realized + unrealized) ${signed(last.value)} at ${formatTime(last.time)} UTC`;
  }
}
