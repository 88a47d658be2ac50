// The server's entry points bundled (esbuild) over what tsc wrote for them in dist/: a
// start then reads a few files instead of resolving and reading about a thousand. Loading
// the server's modules took about 0.4 s of a 0.9 s start, and a third of that once bundled.
//
// Each bundled module keeps the URL it has in an unbundled dist/ (`import.meta.url`), so
// what it finds beside itself (its worker threads' modules, package.json, the dashboard)
// is where it was; the entries, which those URLs name, are bundles themselves.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { build as esbuild } from 'esbuild';

/** Every module a process or thread of the server starts on (src/…, without `.ts`). */
export const ENTRIES = [
  'main',
  'engine-main',
  'app/main',
  'engine/thread/main',
  'store/pglite-thread-main',
  'app/socket-workers/worker-main',
  'transport/graphiql-thread-main',
];

/** Stands for the way from a bundle's own file to dist/, until the bundle is written. */
const ROOT_MARK = '__tickwire_dist_root__';

/** Kept out of the bundles: PGlite reads its WebAssembly and data files beside its own module; the rest are optional native add-ons. */
export const EXTERNAL = ['@electric-sql/pglite', '@electric-sql/pglite/*', 'pg-native', 'bufferutil', 'utf-8-validate', 'tsx', 'tsx/*'];

/** Gives each of our modules the `import.meta.url` it has in an unbundled dist/. */
function ownUrls(src) {
  return {
    name: 'tickwire-own-urls',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(src + sep)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
        const own = relative(src, args.path).split(sep).join('/').replace(/\.ts$/, '.js');
        const url = `new URL(${JSON.stringify(`${ROOT_MARK}/${own}`)}, import.meta.url).href`;
        return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

/** Bundles {@link ENTRIES} from `root`/src into `root`/dist; throws what esbuild reports. */
export async function bundle(root) {
  const src = join(root, 'src');
  const dist = join(root, 'dist');
  // Chunks are named by their content: those of an earlier build would stay behind.
  rmSync(join(dist, 'chunks'), { recursive: true, force: true });
  const result = await esbuild({
    absWorkingDir: root,
    entryPoints: ENTRIES.map((entry) => join(src, `${entry}.ts`)),
    outbase: src,
    outdir: dist,
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    minifyWhitespace: true,
    minifySyntax: true,
    external: EXTERNAL,
    // CommonJS packages inside an ES module still call require() for Node's own modules.
    banner: { js: "import { createRequire as __tickwireRequire } from 'node:module'; const require = __tickwireRequire(import.meta.url);" },
    plugins: [ownUrls(src)],
    metafile: true,
    logLevel: 'error',
    write: true,
  });
  // What each bundle imports, for test/build/bundle.test.ts.
  writeFileSync(join(dist, '.bundle-meta.json'), JSON.stringify(result.metafile.outputs));
  for (const file of Object.keys(result.metafile.outputs)) {
    if (!file.endsWith('.js')) continue;
    const path = join(root, file);
    const text = readFileSync(path, 'utf8');
    if (!text.includes(ROOT_MARK)) continue;
    const up = relative(dirname(path), dist).split(sep).join('/') || '.';
    writeFileSync(path, text.replaceAll(ROOT_MARK, up));
  }
}
