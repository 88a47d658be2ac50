import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { SchemaContext } from './schema/index.js';
import { CODE, graphqlError } from './errors.js';

/** A GraphQL request as the streaming transports receive it. */
export interface OperationParams {
  readonly query: string;
  readonly operationName?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
}

type Run = (args: ExecutionArgs) => unknown;

/** The root value carries the enveloped execute/subscribe, so transports can call them. */
export interface OperationRoot {
  readonly execute: Run;
  readonly subscribe: Run;
}

/**
 * Execution arguments for a transport, built through Yoga's envelop so that parsing,
 * validation, context and plugins are exactly what Yoga's own endpoint does. Returns the
 * errors instead when the request cannot run (syntax or validation).
 */
export async function prepareOperation(
  // Any Yoga instance of the schema: the benchmark's peer prepares operations the same way.
  yoga: Pick<YogaServerInstance<Record<string, unknown>, SchemaContext>, 'getEnveloped'>,
  initialContext: Record<string, unknown>,
  params: OperationParams,
): Promise<(ExecutionArgs & { rootValue: OperationRoot }) | readonly GraphQLError[]> {
  const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
    ...initialContext,
    params,
  });
  if (typeof params.query !== 'string' || params.query.length === 0) {
    return [graphqlError(CODE.BAD_REQUEST, 'request has no query')];
  }
  let document;
  try {
    document = parse(params.query);
  } catch (err) {
    if (err instanceof GraphQLError) return [err];
    throw err;
  }
  let errors: readonly GraphQLError[];
  try {
    errors = validate(schema, document);
  } catch (err) {
    // A rule that throws instead of reporting still refuses only this operation.
    if (err instanceof GraphQLError) return [err];
    throw err;
  }
  if (errors.length > 0) return errors;
  return {
    schema,
    document,
    operationName: params.operationName ?? null,
    variableValues: params.variables ?? null,
    contextValue: await contextFactory(),
    rootValue: { execute: execute as Run, subscribe: subscribe as Run },
  };
}

/** Runs a query or mutation prepared by {@link prepareOperation}. */
export function executePrepared(args: ExecutionArgs): Promise<ExecutionResult> {
  return (args.rootValue as OperationRoot).execute(args) as Promise<ExecutionResult>;
}

/** Starts a subscription prepared by {@link prepareOperation}. */
export function subscribePrepared(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  return (args.rootValue as OperationRoot).subscribe(args) as Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
}
