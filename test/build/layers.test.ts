import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The architecture table (docs/architecture.md) is the rule the code keeps: each folder under src/
 * imports only the folders its row names. Read from the document itself, so the map a
 * newcomer reads and the imports the code has cannot drift apart.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** Entry files directly under src/: each only starts a composition root. */
const ENTRY_FILES: Readonly<Record<string, readonly string[]>> = { 'main.ts': ['app'], 'engine-main.ts': ['app'] };

/** folder → the folders it may import, from docs/architecture.md's table. */
export function readArchitecture(readme: string): Map<string, ReadonlySet<string> | 'everything'> {
  const section = readme.slice(readme.indexOf('# Architecture'));
  const end = section.indexOf('\n## ');
  const rows = (end < 0 ? section : section.slice(0, end)).split('\n').filter((line) => line.startsWith('| `src/'));
  const rules = new Map<string, ReadonlySet<string> | 'everything'>();
  for (const row of rows) {
    const cells = row.split('|').map((cell) => cell.trim());
    const folder = /^`src\/([a-z-]+)`$/.exec(cells[1] ?? '')?.[1];
    const may = cells[3] ?? '';
    if (folder === undefined) throw new Error(`docs/architecture.md: a row without a folder: ${row}`);
    rules.set(folder, may === 'everything' ? 'everything' : new Set(may === 'nothing' ? [] : may.split(',').map((name) => name.trim())));
  }
  return rules;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) ? [path] : [];
  });
}

/** Every relative import of `file` that lands in src/, as paths relative to src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g)) {
    const target = relative(SRC, normalize(join(dirname(file), match[1]!)));
    if (!target.startsWith('..')) found.push(target);
  }
  return found;
}

/** The imports of src/ that its rules forbid, as "file → target". */
export function forbiddenImports(rules: Map<string, ReadonlySet<string> | 'everything'>): string[] {
  const wrong: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const path = relative(SRC, file);
    const parts = path.split('/');
    const folder = parts.length === 1 ? null : parts[0]!;
    const allowed = folder === null ? new Set(ENTRY_FILES[path] ?? []) : rules.get(folder);
    if (allowed === undefined) {
      wrong.push(`${path}: src/${folder} has no row in docs/architecture.md`);
      continue;
    }
    for (const target of importsOf(file)) {
      const into = target.split('/')[0]!;
      if (into === folder || allowed === 'everything' || allowed.has(into)) continue;
      wrong.push(`src/${path} → src/${target}`);
    }
  }
  return wrong;
}

describe('the architecture', () => {
  const readme = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const rules = readArchitecture(readme);

  it('has one row in docs/architecture.md for every folder under src/, and none for a folder that is not there', () => {
    const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory() && sourceFiles(join(SRC, name)).length > 0);
    expect([...rules.keys()].sort()).toEqual(folders.sort());
  });

  it('is kept: every import goes to a folder its row allows', () => {
    expect(forbiddenImports(rules)).toEqual([]);
  });

  it('would catch an upward import', () => {
    // The check itself must bite: with domain allowed nothing and events allowed nothing,
    // the real import of domain by events is reported.
    const strict = new Map(rules);
    strict.set('events', new Set());
    expect(forbiddenImports(strict).some((line) => line.startsWith('src/events/') && line.includes('→ src/domain/'))).toBe(true);
  });
});
