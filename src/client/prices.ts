/**
 * Prices and money as people read them, for every reader of events: the dashboard and
 * `describeEvent` (the command line) alike, so that the two never show one price two ways.
 */

/**
 * Price steps of the symbols the simulated market knows (an exchange's tick sizes): a
 * price is shown in these, whatever precision a feed computes it with.
 */
export const TICK_SIZES: Readonly<Record<string, number>> = { BTCUSDT: 0.01, ETHUSDT: 0.01, SOLUSDT: 0.01 };

/** The step of a price nothing is known of: cents. */
export const DEFAULT_TICK = 0.01;

/**
 * The price step of a symbol: {@link TICK_SIZES}, else one from its first price: a cent
 * from 1 up (60000, 150 and 2.5 alike), four significant digits below (0.5 → 0.0001,
 * 0.00001234 → 0.00000001), so that a price drifting across 100 keeps its decimals.
 * Null when neither is known yet.
 */
export function tickSizeOf(symbol: string, price: number | null): number | null {
  const known = TICK_SIZES[symbol.toUpperCase()];
  if (known !== undefined) return known;
  if (price === null || !Number.isFinite(price) || price === 0) return null;
  if (Math.abs(price) >= 1) return DEFAULT_TICK;
  return Number(`1e${Math.max(-12, Math.floor(Math.log10(Math.abs(price))) - 3)}`);
}

/** Decimal places of a price step: 0.01 → 2, 0.5 → 1, 0.25 → 2, 1 → 0. */
export function decimalsOf(tick: number): number {
  for (let d = 0; d <= 12; d++) {
    const scaled = tick * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return 12;
}

const formats = new Map<number, Intl.NumberFormat>();

/**
 * A price in steps of `tick`, with thousands separators: 60010.814 at 0.01 reads
 * "60,010.81", 150.09964 reads "150.10". The same on the dashboard's table, its chart's
 * axis and crosshair, and every line `describeEvent` writes. Without `tick`, the step
 * {@link tickSizeOf} gives the price alone: cents from 1 up.
 */
export function formatPrice(price: number, tick: number = tickSizeOf('', price) ?? DEFAULT_TICK): string {
  if (!Number.isFinite(price)) return '–';
  const decimals = decimalsOf(tick);
  let format = formats.get(decimals);
  if (format === undefined) {
    format = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    formats.set(decimals, format);
  }
  return format.format(Math.round(price / tick) * tick);
}

/** Money with its sign and thousands separators: "+1,234.50", "-3.20". */
export function formatMoney(value: number): string {
  return (value >= 0 ? '+' : '') + formatPrice(value, 0.01);
}
