import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Another app imports the typed client as `tickwire/client`: compiled JavaScript and its types. */
describe('the tickwire/client package export', () => {
  it('resolves to the built client, with its declarations', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('tickwire/client'); console.log(JSON.stringify({ client: typeof m.createEventsClient, describe: typeof m.describeEvent, events: typeof m.EventsDocument, url: import.meta.resolve('tickwire/client') }))"], { cwd: root, encoding: 'utf8' });
    const found = JSON.parse(out) as { client: string; describe: string; events: string; url: string };
    expect(found).toMatchObject({ client: 'function', describe: 'function', events: 'object' });
    expect(found.url).toMatch(/\/dist\/client\/index\.js$/);
    expect(existsSync(`${root}dist/client/index.d.ts`)).toBe(true);
  });
});
