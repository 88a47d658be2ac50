import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the build, without declarations
import { ENTRIES, EXTERNAL } from '../../scripts/bundle.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What esbuild wrote and what each output imports (dist/.bundle-meta.json, from its metafile). */
type Outputs = Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
const outputs = (): Outputs => JSON.parse(readFileSync(join(root, 'dist', '.bundle-meta.json'), 'utf8')) as Outputs;

/** Every output a process started on `entry` loads, and the packages they leave to Node to find. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const all = outputs();
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [`dist/${entry}.js`];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const { path, external } of all[file]?.imports ?? []) {
      if (external !== true) queue.push(path);
      else if (!path.startsWith('node:') && !builtinModules.includes(path)) packages.add(path);
    }
  }
  return { files, packages };
}

// The server's start read about a thousand files, resolved package by package: 0.4 s of a
// 0.9 s start on this machine (docs/performance.md, "Start-up").
describe('the server build is bundled (scripts/bundle.mjs)', () => {
  it.each(ENTRIES as string[])('dist/%s.js loads our bundles, and no package but PGlite and optional native add-ons', (entry) => {
    const { files, packages } = closure(entry);
    expect(files.size).toBeGreaterThan(0);
    for (const file of files) expect(existsSync(join(root, file)), `${file} (a bundle imports it)`).toBe(true);
    // Left out on purpose (scripts/bundle.mjs says why): PGlite, and add-ons required only when installed.
    const allowed = (name: string) => (EXTERNAL as string[]).some((pattern) => (pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
    expect([...packages].filter((name) => !allowed(name))).toEqual([]);
  });

  it('gives each bundled module the URL it has unbundled, so what it finds beside itself is there', () => {
    // Its worker threads' modules above all: from a chunk in dist/chunks/, "./pglite-thread-main.js" is no file.
    let rewritten = 0;
    for (const file of Object.keys(outputs()).filter((name) => name.endsWith('.js'))) {
      const text = readFileSync(join(root, file), 'utf8');
      expect(text, file).not.toContain('__tickwire_dist_root__');
      const own = [...text.matchAll(/new URL\("([^"]+)",import\.meta\.url\)/g)].map((m) => m[1]!);
      const all = text.split('import.meta.url').length - 1;
      // The rest: the banner's require() for CommonJS packages.
      expect(all - own.length, `${file}: import.meta.url left as the bundle's own`).toBe(text.includes('__tickwireRequire(import.meta.url)') ? 1 : 0);
      for (const url of own) expect(existsSync(fileURLToPath(new URL(url, pathToFileURL(join(root, file))))), `${file}: ${url}`).toBe(true);
      rewritten += own.length;
    }
    expect(rewritten).toBeGreaterThanOrEqual(6);
    // And it loads: the metrics module reads ../../package.json from its URL as it loads.
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "await import('./dist/app/main.js'); console.log('loaded')"], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LOG_LEVEL: 'silent' },
    });
    expect(out.trim()).toBe('loaded');
  });
});
