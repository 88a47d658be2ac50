import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHandler } from 'graphql-sse/lib/use/http';
import { executePrepared, prepareOperation, subscribePrepared } from './operation.js';
import type { TickwireYoga } from './yoga.js';

/** The graphql-sse endpoint (distinct and single connection modes). */
export const GRAPHQL_SSE_PATH = '/graphql/stream';

/** A request handler for the graphql-sse protocol at {@link GRAPHQL_SSE_PATH}. */
export type SseHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Creates the graphql-sse handler; both connection modes are served by it. */
export function createGraphqlSseHandler(tickwire: TickwireYoga): SseHandler {
  return createHandler({
    execute: executePrepared,
    subscribe: subscribePrepared,
    onSubscribe: async (req, params) => {
      const prepared = await prepareOperation(tickwire, { req: req.raw }, params);
      return Array.isArray(prepared) ? { errors: [...prepared] } : (prepared as Exclude<typeof prepared, readonly unknown[]>);
    },
  });
}
