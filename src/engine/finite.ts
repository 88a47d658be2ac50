/** A number that is NaN or infinite, and where it sits in the value that holds it. */
export interface NonFiniteNumber {
  /** Dotted path of the field, e.g. `position.entryPrice`. */
  readonly path: string;
  readonly value: number;
}

/**
 * The first number in `value` (an event: plain objects, arrays, primitives) that is not
 * finite, or null. GraphQL cannot send such a number, JSON turns it into null and the
 * stored copy could then never be decoded: one of them must never leave the engine.
 */
export function findNonFinite(value: unknown, path = ''): NonFiniteNumber | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : { path, value };
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonFinite(value[i], path === '' ? String(i) : `${path}.${i}`);
      if (found !== null) return found;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const found = findNonFinite((value as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`);
    if (found !== null) return found;
  }
  return null;
}
