/**
 * The errors of a socket worker's calls as they cross to it from the primary: the
 * primary sends each as its code and message ({@link toWire}), the worker rebuilds the
 * error the primary had ({@link fromWire}). The two are the only places either side
 * turns errors into messages or back, and mirror each other.
 */
import { GraphQLError } from 'graphql';
import { EngineError } from '../../engine/config.js';
import { StoreTimeoutError } from '../../store/timeout.js';
import type { CallError } from './protocol.js';

/** A call's error, as the primary sends it back: the code it had, or null for a plain Error. */
export function toWire(err: unknown): CallError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof EngineError) return { message, code: err.code };
  if (err instanceof StoreTimeoutError) return { message, code: 'STORE_TIMEOUT', timeoutMs: err.timeoutMs };
  // The quota ledger refuses with this error (it is the only GraphQLError a call gives).
  if (err instanceof GraphQLError && err.extensions['code'] === 'TOO_MANY_SUBSCRIPTIONS') return { message, code: 'TOO_MANY_SUBSCRIPTIONS' };
  return { message, code: null };
}

/** The error the primary had, rebuilt in the worker from what {@link toWire} sent. */
export function fromWire(wire: CallError): Error {
  switch (wire.code) {
    case null:
      return new Error(wire.message);
    case 'TOO_MANY_SUBSCRIPTIONS':
      return new GraphQLError(wire.message, { extensions: { code: wire.code, http: { status: 429 } } });
    case 'STORE_TIMEOUT':
      return new StoreTimeoutError(wire.timeoutMs ?? 0);
    default:
      return new EngineError(wire.code, wire.message);
  }
}
