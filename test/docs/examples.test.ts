import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, LoneAnonymousOperationRule, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseTailArgs } from '../../src/cli/args.js';

/**
 * The README and docs/ are read by people who copy their examples: every GraphQL block
 * must be valid against the schema clients get, every `tail` line must be a command line
 * `tail` accepts, and the quick start stays the two commands it promises.
 */
const root = join(import.meta.dirname, '..', '..');
const documents = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
const schema = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));
// A block may show several operations side by side (a query and the subscription it feeds).
const rules = specifiedRules.filter((rule) => rule !== LoneAnonymousOperationRule);

function blocks(file: string, language: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]!);
}

/** A shell line's words, as a POSIX shell splits simple quoting (enough for the docs' examples). */
function words(line: string): string[] {
  return [...line.replace(/\s+#.*$/, '').matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe('the examples of the README and docs/', () => {
  const graphql = documents.flatMap((file) => blocks(file, 'graphql').map((block) => ({ file, block })));

  it('has GraphQL examples to check', () => {
    expect(graphql.length).toBeGreaterThanOrEqual(5);
  });

  it.each(graphql.map(({ file, block }) => ({ name: `${file}: ${block.trim().split('\n')[0]}…`, block })))('$name is valid against schema.graphql', ({ block }) => {
    expect(validate(schema, parse(block), rules).map((error) => error.message)).toEqual([]);
  });

  it('shows only tail command lines that tail accepts', () => {
    const lines = documents.flatMap((file) => blocks(file, 'sh').flatMap((block) => block.split('\n')).filter((line) => line.startsWith('node bin/tickwire.mjs tail')));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(() => parseTailArgs(words(line).slice(3), {}), line).not.toThrow();
  });

  it('keeps the quick start to its two commands', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
    expect(blocks('README.md', 'sh').filter((block) => quickStart.includes(block)).map((block) => block.trim())).toEqual(['npm ci && npm start', 'npm ci && npm test']);
  });

  it('keeps the README under 300 lines', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(300);
  });
});
