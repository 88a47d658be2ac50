import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionResult } from 'graphql';
import type { OperationArgs } from 'graphql-sse';
import { createHandler } from 'graphql-sse/lib/use/http';
import { executePrepared, prepareOperation, subscribePrepared } from './operation.js';
import type { TickwireYoga } from './yoga.js';

/** The graphql-sse endpoint (distinct and single connection modes). */
export const GRAPHQL_SSE_PATH = '/graphql/stream';

/** A request handler for the graphql-sse protocol at {@link GRAPHQL_SSE_PATH}. */
export type SseHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

type Context = Record<PropertyKey, unknown>;

/** Creates the graphql-sse handler; both connection modes are served by it. */
export function createGraphqlSseHandler(tickwire: TickwireYoga): SseHandler {
  return createHandler<Context>({
    execute: executePrepared,
    subscribe: subscribePrepared,
    onSubscribe: async (req, params): Promise<OperationArgs<Context> | ExecutionResult> => {
      const prepared = await prepareOperation(tickwire.yoga, { req: req.raw }, params);
      // `data: null` is how graphql-sse recognises a finished result: the errors then go
      // to the client as a normal GraphQL response, not as a bare HTTP failure.
      if (Array.isArray(prepared)) return { data: null, errors: [...prepared] };
      return prepared as OperationArgs<Context>;
    },
  });
}
