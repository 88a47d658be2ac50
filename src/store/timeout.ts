/**
 * The store's query timeout and its error: a module of its own, so that socket workers,
 * which rebuild the error from the server process's answer, load no database code.
 */

// STORE_QUERY_TIMEOUT_MS's default is a setting (src/runtime/settings.ts).
import { DEFAULT_STORE_QUERY_TIMEOUT_MS } from '../runtime/settings.js';
export { DEFAULT_STORE_QUERY_TIMEOUT_MS };

/** The code a {@link StoreTimeoutError} carries to clients (`extensions.code`). */
export type StoreErrorCode = 'STORE_TIMEOUT';

/**
 * A read made for a client did not finish within the store's query timeout
 * (STORE_QUERY_TIMEOUT_MS). The message is for the client: it names the setting, never
 * the database, its host or the statement.
 */
export class StoreTimeoutError extends Error {
  /** Stable for clients; the GraphQL layer's error catalogue lists it. */
  readonly code: StoreErrorCode = 'STORE_TIMEOUT';
  constructor(
    /** The timeout that ended the read, in ms. */
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`the event store did not answer within ${timeoutMs} ms (STORE_QUERY_TIMEOUT_MS)`, options);
    this.name = 'StoreTimeoutError';
  }
}
