import type { ClientEvent } from './client.js';

/**
 * An event of the Events document back in the engine's JSON wire form
 * (`{"type": "<Variant>", "data": {...}}`, camelCase, variant and enum names as the engine
 * spells them), with its log id: what recordings hold. The client knows the schema only,
 * so the mapping is spelled out here; decoding a recording checks it strictly.
 */
export interface WireRecord {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/** SCREAMING_CASE enum value → the engine's PascalCase (IN_POSITION → InPosition). */
const pascal = (value: string) =>
  value
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

/** Returns the wire record of an event, or null for a stream notice (StreamGap). */
export function toWireRecord(event: ClientEvent): WireRecord | null {
  if (event.__typename === 'StreamGap') return null;
  // `snapshot` says how the event reached this client, not what happened: no part of the event.
  const { __typename, id, type: _type, timestamp, snapshot: _snapshot, ...rest } = event as ClientEvent & { id: string; type: string; timestamp: number; snapshot?: boolean };
  const data: Record<string, unknown> = { ...rest };
  switch (event.__typename) {
    case 'TickReceived':
      // A tick's timestamp is its market data's; the wire form has no other.
      return { id, type: 'TickReceived', data };
    case 'StateTransition':
      data['from'] = pascal(event.from);
      data['to'] = pascal(event.to);
      break;
    case 'ActionExecuted':
      data['action'] = { ...event.action, kind: pascal(event.action.kind) };
      break;
    case 'RunnerError':
      data['severity'] = pascal(event.severity);
      return { id, type: 'Error', data: { ...data, timestamp } };
    default:
      break;
  }
  return { id, type: __typename, data: { ...data, timestamp } };
}
