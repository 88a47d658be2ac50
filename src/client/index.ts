export * from './client.js';
export * from './operations.js';
export type * from './generated/graphql.js';
