export * from './codec.js';
export * from './filter.js';
export * from './helpers.js';
export * from './types.js';
