import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GraphQLError, locatedError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/config.js';
import { StoreTimeoutError } from '../../src/store/timeout.js';
import {
  ERROR_CLASSES,
  ERROR_CODES,
  errorCodeOf,
  errorFromWire,
  errorToWire,
  graphqlError,
  maskError,
  type ErrorCode,
} from '../../src/graphql/errors.js';

const root = join(import.meta.dirname, '..', '..');
const src = join(root, 'src');
const CATALOGUE = 'graphql/errors.ts';
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

/** Every TypeScript source under src/, as paths relative to it (generated code aside). */
function sources(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' || entry.name === 'node_modules' ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [relative(src, path)] : [];
  });
}

/** The rows of the error table (docs/api.md): code, status, class, meaning. */
function readmeTable(): { code: string; status: number | null; raisedBy: string; meaning: string }[] {
  const readme = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
  const start = readme.indexOf('\n### Error codes\n');
  expect(start, 'docs/api.md has an "### Error codes" section').toBeGreaterThan(0);
  const section = readme.slice(start + 1).split(/\n#{1,3} /)[0]!;
  return section
    .split('\n')
    .filter((line) => /^\| `/.test(line))
    .map((line) => {
      const [code, status, raisedBy, meaning] = line.slice(1, -1).split(' | ').map((cell) => cell.trim());
      return { code: code!.replace(/`/g, ''), status: status === '—' ? null : Number(status), raisedBy: raisedBy!, meaning: meaning! };
    });
}

/** An error of `code` as the class the catalogue names raises it. */
function sample(code: ErrorCode): Error {
  const { raisedBy } = ERROR_CODES[code];
  if (raisedBy === EngineError) return new EngineError(code as ConstructorParameters<typeof EngineError>[0], `refused: ${code}`);
  if (raisedBy === StoreTimeoutError) return new StoreTimeoutError(1234);
  return graphqlError(code, `refused: ${code}`, { httpStatus: true });
}

describe('the error catalogue', () => {
  it("docs/api.md's error table lists exactly the catalogue's codes, with its statuses, classes and meanings", () => {
    const expected = codes.map((code) => ({ code, status: ERROR_CODES[code].status, raisedBy: ERROR_CODES[code].raisedBy.name, meaning: ERROR_CODES[code].meaning }));
    expect(readmeTable()).toEqual(expected);
  });

  it('no file of src spells a code the catalogue does not give it', () => {
    // The GraphQL, transport and app layers take every code from the catalogue; the layers
    // below may spell only their own codes, typed by the unions the catalogue checks.
    const upper = /^(graphql|transport|app)\//;
    const lowerCodes = new Set(codes.filter((code) => ERROR_CODES[code].raisedBy !== GraphQLError));
    const found: string[] = [];
    for (const file of sources()) {
      if (file === CATALOGUE) continue;
      const text = readFileSync(join(src, file), 'utf8');
      text.split('\n').forEach((line, i) => {
        if (/extensions\s*:\s*\{[^}]*\bcode\s*:\s*['"`]/.test(line)) found.push(`${file}:${i + 1}: an extensions code spelled out`);
        for (const match of line.matchAll(/['"]([A-Z][A-Z0-9_]+)['"]/g)) {
          const code = match[1] as ErrorCode;
          if (!Object.hasOwn(ERROR_CODES, code)) continue;
          if (upper.test(file) || !lowerCodes.has(code)) found.push(`${file}:${i + 1}: '${code}'`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('lists every Error subclass of src, in its module', () => {
    const declared: Record<string, string> = {};
    for (const file of sources()) {
      for (const match of readFileSync(join(src, file), 'utf8').matchAll(/\bclass (\w+) extends Error\b/g)) declared[match[1]!] = file;
    }
    expect(Object.fromEntries(Object.entries(ERROR_CLASSES).map(([name, entry]) => [name, entry.module]))).toEqual(declared);
  });

  it.each(codes)('carries %s across a process boundary and back', (code) => {
    const err = sample(code);
    expect(errorCodeOf(err)).toBe(code);
    // The socket-worker channel clones the answer (Node's advanced serialization).
    const back = errorFromWire(structuredClone(errorToWire(err)));
    expect(back).toBeInstanceOf(ERROR_CODES[code].raisedBy);
    expect(errorCodeOf(back)).toBe(code);
    expect(back.message).toBe(err.message);
    if (err instanceof GraphQLError) expect((back as GraphQLError).extensions).toEqual(err.extensions);
    if (err instanceof StoreTimeoutError) expect((back as StoreTimeoutError).timeoutMs).toBe(err.timeoutMs);
  });

  it('carries an error without a code as a plain Error with its message', () => {
    const back = errorFromWire(structuredClone(errorToWire(new TypeError('a bug'))));
    expect(back.constructor).toBe(Error);
    expect(back.message).toBe('a bug');
    expect(errorCodeOf(back)).toBeNull();
  });

  it('masks an unexpected error, and keeps the code of a catalogued one that escaped its resolver', () => {
    const coded = maskError(locatedError(new EngineError('ENGINE_UNAVAILABLE', 'the server process is gone'), undefined, ['runners']), 'Unexpected error.', false) as GraphQLError;
    expect(coded).toMatchObject({ message: 'the server process is gone', path: ['runners'], extensions: { code: 'ENGINE_UNAVAILABLE' } });
    const masked = maskError(locatedError(new Error('secret detail'), undefined, ['runners']), 'Unexpected error.', false) as GraphQLError;
    expect(masked.message).toBe('Unexpected error.');
    expect(errorCodeOf(masked)).toBe('INTERNAL_SERVER_ERROR');
  });
});
