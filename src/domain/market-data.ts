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
