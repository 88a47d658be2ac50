import type { ExecutionResult } from 'graphql';

// Subscribers of a shared execution receive the same result object, so its JSON is
// computed by the first transport that sends it and reused by every other subscriber.
const payloads = new WeakMap<ExecutionResult, string>();

/** The JSON of a result, serialized once however many sockets it goes to. */
export function payloadOf(result: ExecutionResult): string {
  let json = payloads.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    payloads.set(result, json);
  }
  return json;
}
