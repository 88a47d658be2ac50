import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.js';
import { printSchemaSdl } from '../../src/graphql/schema/index.js';

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
});
