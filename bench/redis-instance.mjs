// Starts bench/redis-instance.ts in a worker thread: the TypeScript loader the bench
// runs under (tsx) is not inherited by workers, so the worker registers it itself.
import { register } from 'tsx/esm/api';

register();
await import('./redis-instance.ts');
