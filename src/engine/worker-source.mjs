// The engine thread's entry when tickwire runs from its TypeScript sources (vitest, tsx,
// the benches): a worker does not inherit the parent's TypeScript loader, so it registers
// tsx itself. The compiled server (dist/) starts worker.js directly and never loads this.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
