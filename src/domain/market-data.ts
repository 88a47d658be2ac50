/**
 * One bar/quote of market data for a symbol, as the engine sees it.
 * Prices are in quote currency; `timestamp` is milliseconds since the Unix epoch.
 */
export interface MarketData {
  readonly symbol: string;
  readonly timestamp: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  readonly bid: number;
  readonly ask: number;
}

/** Largest timestamp accepted: year ~5138 in ms; rules out seconds/µs mix-ups at the far end. */
const MAX_TIMESTAMP = 1e14;

const PRICE_FIELDS = ['open', 'high', 'low', 'close', 'bid', 'ask'] as const;

/**
 * Checks one tick and returns why it is unusable, or null when it is fine. Never throws,
 * so a feed can hand over anything it parsed and get a reason back.
 */
export function checkMarketData(data: MarketData): string | null {
  if (typeof data !== 'object' || data === null) return 'market data is not an object';
  if (typeof data.symbol !== 'string' || data.symbol.length === 0) return 'symbol must be a non-empty string';
  const ts = data.timestamp;
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < 0 || ts > MAX_TIMESTAMP) {
    return `timestamp must be whole milliseconds since the Unix epoch, got ${String(ts)}`;
  }
  for (const field of PRICE_FIELDS) {
    const value = data[field];
    if (typeof value !== 'number' || !Number.isFinite(value)) return `${field} must be a finite number, got ${String(value)}`;
    if (value <= 0) return `${field} must be positive, got ${value}`;
  }
  if (typeof data.volume !== 'number' || !Number.isFinite(data.volume) || data.volume < 0) {
    return `volume must be a finite number ≥ 0, got ${String(data.volume)}`;
  }
  if (data.low > data.high) return `low ${data.low} is above high ${data.high}`;
  for (const field of ['open', 'close'] as const) {
    if (data[field] < data.low || data[field] > data.high) {
      return `${field} ${data[field]} is outside low..high (${data.low}..${data.high})`;
    }
  }
  if (data.bid > data.ask) return `bid ${data.bid} is above ask ${data.ask}`;
  return null;
}
