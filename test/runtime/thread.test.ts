import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startWorker, workerModule } from '../../src/runtime/thread.js';

describe('startWorker and workerModule', () => {
  it('name the worker beside the caller: .ts from the sources, .js from the build', () => {
    expect(workerModule('./pglite-worker.js', 'file:///app/src/store/db.ts').href).toBe('file:///app/src/store/pglite-worker.ts');
    expect(workerModule('./pglite-worker.js', 'file:///app/dist/store/db.js').href).toBe('file:///app/dist/store/pglite-worker.js');
    expect(workerModule('../runtime/x.js', 'file:///app/src/store/db.mts').href).toBe('file:///app/src/runtime/x.ts');
  });

  it('start a TypeScript module (run from the sources) with its workerData, and it imports sources by their .js names', async () => {
    const url = workerModule('../fixtures/echo-worker.js', import.meta.url);
    const worker = startWorker(url, { workerData: { n: 7 } });
    const exited = once(worker, 'exit');
    worker.postMessage('hello');
    const [reply] = (await once(worker, 'message')) as [unknown];
    expect(reply).toEqual({ message: 'hello', started: { n: 7 }, module: url.href, highFrequency: false });
    expect(await exited).toEqual([0]);
  }, 30_000);

  it('start a JavaScript module as it is', async () => {
    const worker = startWorker(new URL('data:text/javascript,import { parentPort } from "node:worker_threads"; parentPort.postMessage(typeof process.versions.node)'));
    const [reply] = (await once(worker, 'message')) as [unknown];
    expect(reply).toBe('string');
    await worker.terminate();
  }, 30_000);

  it("report a module that throws as it loads as the worker's error, as a plain worker does", async () => {
    const worker = startWorker(workerModule('../fixtures/throwing-worker.js', import.meta.url));
    const errors: Error[] = [];
    worker.on('error', (err: Error) => errors.push(err));
    // The exit comes after the error: a worker that exits without one fails here at once.
    // (Not events.once: it rejects on the error event.)
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(errors.map((e) => e.message)).toEqual(['the fixture fails at its top level']);
    expect(code).toBe(1);
  }, 60_000);
});
