import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The node arguments of a compiled entry point, as `npm start` and `npm run engine` run them (built by the global setup). */
export function entry(name: 'main' | 'engine-main'): string[] {
  return [join(root, 'dist', `${name}.js`)];
}
