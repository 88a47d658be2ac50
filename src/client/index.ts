export * from './client.js';
// Typed documents of the operations in ./operations.ts and every schema type.
export * from './generated/graphql.js';
export * from './describe.js';
export * from './prices.js';
