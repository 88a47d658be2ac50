import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.js';
import { printSchemaSdl } from '../../src/graphql/schema/index.js';
import * as operations from '../../src/client/operations.js';

const root = new URL('../../', import.meta.url).pathname;

describe('generated files are current', () => {
  it('schema.graphql matches the Pothos schema (run `npm run schema`)', () => {
    expect(readFileSync(join(root, 'schema.graphql'), 'utf8')).toBe(printSchemaSdl());
  });

  it('src/client/generated matches schema.graphql and the operations (run `npm run codegen`)', async () => {
    const outputs = (await generate({ ...config, cwd: root, silent: true }, false)) as { filename: string; content: string }[];
    const dir = join(root, 'src/client/generated');
    const onDisk = readdirSync(dir).sort();
    expect(onDisk).toEqual(outputs.map((o) => o.filename.split('/').pop()).sort());
    for (const output of outputs) {
      const path = output.filename.startsWith('/') ? output.filename : join(root, output.filename);
      expect(readFileSync(path, 'utf8'), `${output.filename} is stale`).toBe(output.content);
    }
  }, 60_000);

  it('the trusted-documents manifest holds every operation of the clients, each under the SHA-256 of its text', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'src/client/generated/persisted-documents.json'), 'utf8')) as Record<string, string>;
    for (const [hash, text] of Object.entries(manifest)) {
      expect(createHash('sha256').update(text, 'utf8').digest('hex'), `manifest entry ${hash}`).toBe(hash);
    }
    // The dashboard, the CLI and the typed client take every document from operations.ts.
    const hashes = Object.entries(operations)
      .filter(([name]) => !name.endsWith('Fragment'))
      .map(([name, document]) => [name, (document as { __meta__?: { hash?: string } }).__meta__?.hash] as const);
    expect(hashes.length).toBeGreaterThanOrEqual(8);
    for (const [name, hash] of hashes) expect(hash !== undefined && Object.hasOwn(manifest, hash), `${name} is in the manifest`).toBe(true);
  });
});
