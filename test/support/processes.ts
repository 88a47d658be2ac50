import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The node arguments of a compiled entry point, as `npm start` and `npm run engine` run them (built by the global setup). */
export function entry(name: 'main' | 'engine-main'): string[] {
  return [join(root, 'dist', `${name}.js`)];
}

/** Child processes of `pid`, by /proc's parent ids: the benchmarks' own (bench/memory.ts). */
export { childrenOf } from '../../bench/memory.js';

/** True while a process with this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
