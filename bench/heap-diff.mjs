/**
 * `node bench/heap-diff.mjs before.heapsnapshot after.heapsnapshot`: what grew between two
 * V8 heap snapshots (`node --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=DIR dist/main.js`,
 * then `kill -USR2 <pid>`; a snapshot collects garbage first), by constructor: objects
 * counted and their own sizes summed, the 40 that grew most in number and the 25 in bytes.
 * How the per-runner state that grew under the soak's load was found (docs/performance.md).
 * Needs memory for both snapshots: `node --max-old-space-size=4000` for 100 MB ones.
 */
import { readFileSync } from 'node:fs';

/** Count and self size by `type:constructor` of every node of one snapshot. */
function countsOf(path) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const { node_fields: fields, node_types: nodeTypes } = snapshot.snapshot.meta;
  const types = nodeTypes[0];
  const width = fields.length;
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const { nodes, strings } = snapshot;
  const counts = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const t = types[nodes[i + type]];
    // Strings' "names" are their contents: counted together.
    const label = t === 'object' || t === 'closure' || t === 'native' ? strings[nodes[i + name]] : t.endsWith('string') ? 'string' : t;
    const key = `${t}:${label}`.slice(0, 100);
    const c = counts.get(key) ?? { n: 0, size: 0 };
    c.n++;
    c.size += nodes[i + size];
    counts.set(key, c);
  }
  return counts;
}

const [beforePath, afterPath] = process.argv.slice(2);
if (afterPath === undefined) {
  console.error('usage: node bench/heap-diff.mjs before.heapsnapshot after.heapsnapshot');
  process.exit(2);
}
const before = countsOf(beforePath);
const after = countsOf(afterPath);
const rows = [];
for (const key of new Set([...before.keys(), ...after.keys()])) {
  const a = before.get(key) ?? { n: 0, size: 0 };
  const b = after.get(key) ?? { n: 0, size: 0 };
  rows.push({ key, from: a.n, to: b.n, dn: b.n - a.n, dsize: b.size - a.size });
}
const total = (m) => [...m.values()].reduce((sum, c) => sum + c.size, 0) / 1048576;
console.log(`self sizes: ${total(before).toFixed(1)} MB -> ${total(after).toFixed(1)} MB`);
console.log('grew most in number:');
for (const r of rows.sort((x, y) => y.dn - x.dn).slice(0, 40)) console.log(`  ${r.dn} (${r.from} -> ${r.to}, ${(r.dsize / 1024).toFixed(0)} KB) ${r.key}`);
console.log('grew most in bytes:');
for (const r of rows.sort((x, y) => y.dsize - x.dsize).slice(0, 25)) console.log(`  ${(r.dsize / 1024).toFixed(0)} KB (${r.from} -> ${r.to}) ${r.key}`);
