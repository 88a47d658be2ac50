export * from './action.js';
export * from './market-data.js';
export * from './position.js';
export * from './state.js';
export * from './strategy.js';
export * from './candles.js';
