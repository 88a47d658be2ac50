/**
 * The events module: the `RunnerEvent` union, its helpers, the JSON wire codec and the
 * subscription filter. Other folders may import from here or from the single files.
 */
export * from './codec.js';
export * from './filter.js';
export * from './helpers.js';
export * from './types.js';
export * from './where.js';
