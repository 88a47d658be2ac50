import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * `npm ci` prints an EBADENGINE warning for every installed package whose `engines.node`
 * the running Node does not satisfy; the lockfile records each one's. The machines run
 * Node 20: no package may want more, and `engines` of our own must be honest.
 */
const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean; optional?: boolean }>;
};
const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };

describe('dependencies fit Node 20', () => {
  it(`every locked package accepts this Node (${process.versions.node})`, () => {
    const node = process.versions.node;
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (path === '' || range === undefined) continue;
      if (!semver.satisfies(node, range, { includePrerelease: true })) refusing.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${range}`);
    }
    expect(refusing).toEqual([]);
  });

  it('says so in its own engines field', () => {
    expect(semver.satisfies(process.versions.node, own.engines.node)).toBe(true);
    expect(semver.minVersion(own.engines.node)?.major).toBe(20);
  });
});
