import type { Action } from '../../domain/action.js';
import type { MarketData } from '../../domain/market-data.js';
import type { Position } from '../../domain/position.js';
import { builder } from './builder.js';
import { ActionKindEnum, PositionSideEnum } from './enums.js';
import { TimestampScalar } from './scalars.js';

/** A tick of market data. */
export const MarketDataRef = builder.objectRef<MarketData>('MarketData').implement({
  description: 'One tick of market data for a symbol.',
  fields: (t) => ({
    symbol: t.exposeString('symbol', { description: 'The traded symbol, e.g. BTCUSDT.' }),
    timestamp: t.expose('timestamp', { type: TimestampScalar, description: 'When the tick happened, ms since the epoch.' }),
    open: t.exposeFloat('open', { description: 'First price of the period.' }),
    high: t.exposeFloat('high', { description: 'Highest price of the period.' }),
    low: t.exposeFloat('low', { description: 'Lowest price of the period.' }),
    close: t.exposeFloat('close', { description: 'Last price of the period.' }),
    volume: t.exposeFloat('volume', { description: 'Traded volume in the period.' }),
    bid: t.exposeFloat('bid', { description: 'Best bid.' }),
    ask: t.exposeFloat('ask', { description: 'Best ask.' }),
  }),
});

/** An open position. */
export const PositionRef = builder.objectRef<Position>('Position').implement({
  description: 'A position held by a runner.',
  fields: (t) => ({
    symbol: t.exposeString('symbol', { description: 'The traded symbol.' }),
    side: t.expose('side', { type: PositionSideEnum, description: 'LONG or SHORT.' }),
    quantity: t.exposeFloat('quantity', { description: 'Units held (always positive; the side gives the direction).' }),
    entryPrice: t.exposeFloat('entryPrice', { description: 'Fill price of the entry.' }),
    entryTime: t.expose('entryTime', { type: TimestampScalar, description: 'When the position was opened.' }),
  }),
});

/** An executed action. */
export const ActionRef = builder.objectRef<Action>('Action').implement({
  description: 'An action a runner executed.',
  fields: (t) => ({
    kind: t.expose('kind', { type: ActionKindEnum, description: 'What was done.' }),
    symbol: t.exposeString('symbol', { description: 'The traded symbol.' }),
    price: t.exposeFloat('price', { description: 'Fill price.' }),
    quantity: t.exposeFloat('quantity', { description: 'Units traded.' }),
    reason: t.exposeString('reason', { description: 'Why the strategy asked for it.' }),
  }),
});
