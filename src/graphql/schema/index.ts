import { printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './enums.js';
import './market.js';
import './events.js';
import './runners.js';
import './subscription.js';
import './history.js';
import './log.js';
import './access.js';

export type { SchemaContext } from './builder.js';

/** The tickwire GraphQL schema, built once from the Pothos types. */
// Declaration order, not alphabetical: enums such as ErrorSeverity are ordered and
// GraphiQL and generated clients should show them in that order.
export const schema: GraphQLSchema = builder.toSchema({ sortSchema: false });

/** The schema in SDL, as written to schema.graphql. */
export function printSchemaSdl(): string {
  return `${printSchema(schema)}\n`;
}
