import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './enums.js';
import './market.js';
import './events.js';
import './runners.js';
import './subscription.js';

export type { SchemaContext } from './builder.js';

/** The tickwire GraphQL schema, built once from the Pothos types. */
export const schema: GraphQLSchema = builder.toSchema();

/** The schema in SDL, as written to schema.graphql (sorted, so diffs stay small). */
export function printSchemaSdl(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
