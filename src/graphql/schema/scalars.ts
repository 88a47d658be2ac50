import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';

function asTimestamp(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new GraphQLError(
    `Timestamp must be a non-negative integer of milliseconds since the Unix epoch, got ${JSON.stringify(value)}`,
  );
}

/** Milliseconds since the Unix epoch as a JSON number: GraphQL's Int is 32-bit and cannot hold it. */
export const TimestampScalar = builder.scalarType('Timestamp', {
  description:
    'Milliseconds since the Unix epoch, as a JSON number (a 53-bit safe integer; GraphQL Int is only 32-bit).',
  serialize: asTimestamp,
  parseValue: asTimestamp,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.INT) throw new GraphQLError('Timestamp literal must be an integer', { nodes: ast });
    return asTimestamp(Number(ast.value));
  },
});
