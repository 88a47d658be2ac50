import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../engine/config.js';
import type { Principal } from './schema/principal.js';
import { ConfigError } from '../runtime/config-error.js';

/** What a token may do: watch (viewer), or also start and stop runners (operator). */
export type Role = 'viewer' | 'operator';

export type { Principal } from './schema/principal.js';

/** The principal of a server without tokens (only ever bound to loopback). */
export const OPEN_PRINCIPAL: Principal = { id: 'open', name: 'open', role: 'operator', runners: ['*'], allows: () => true };

const tokenSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ . -'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the token (64 lower-case hex digits)'),
  role: z.enum(['viewer', 'operator']),
  runners: z.array(z.string().regex(/^[A-Za-z0-9_.:*?-]{1,64}$/, 'must be a runner id pattern (letters, digits, _ . : - and * ?)')).min(1).default(['*']),
  // May run documents outside the trusted manifests under TRUSTED_DOCUMENTS=only.
  adHoc: z.boolean().default(false),
});
const tokensFileSchema = z.strictObject({ tokens: z.array(tokenSchema).min(1) });

/** A glob of runner ids as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** The hex SHA-256 of a token: what a tokens file stores. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** One entry of a tokens file, as {@link TokenStore} takes it. */
export type TokenEntry = Omit<z.output<typeof tokenSchema>, 'adHoc'> & { readonly adHoc?: boolean };

/**
 * Refuses two entries with the same name or the same token: a name is how logs and
 * messages tell principals apart, and a token shared by two entries would get the scope
 * of whichever was checked last.
 */
function assertUnique(tokens: readonly TokenEntry[]): void {
  const names = new Map<string, number>();
  const hashes = new Map<string, number>();
  tokens.forEach((t, i) => {
    const sameName = names.get(t.name);
    if (sameName !== undefined) {
      throw new ConfigError(`tokens.${i}.name: duplicate token name "${t.name}" (also tokens.${sameName}.name): every token needs a name of its own`);
    }
    const sameHash = hashes.get(t.sha256);
    if (sameHash !== undefined) {
      throw new ConfigError(`tokens.${i}.sha256: the same token as tokens.${sameHash} ("${tokens[sameHash]!.name}"): every entry needs a token of its own`);
    }
    names.set(t.name, i);
    hashes.set(t.sha256, i);
  });
}

/** The configured tokens, checked without leaking timing. */
export class TokenStore {
  private readonly entries: { readonly hash: Buffer; readonly principal: Principal }[];

  /** Throws a {@link ConfigError} naming both entries when two share a name or a token. */
  constructor(
    /** The entries as configured (hashes, never tokens): what another process needs to check the same tokens. */
    readonly configured: readonly TokenEntry[],
  ) {
    const tokens = configured;
    assertUnique(tokens);
    this.entries = tokens.map((t) => {
      const patterns = t.runners.map(globToRegExp);
      return {
        hash: Buffer.from(t.sha256, 'hex'),
        principal: {
          // The name is unique in a store; the hash prefix keeps the identity tied to the
          // token itself, and it is what a client sees in a quota message.
          id: `${t.name}#${t.sha256.slice(0, 8)}`,
          name: t.name,
          role: t.role,
          runners: t.runners,
          // Entries from before adHoc existed (a worker's copy) have none: not ad hoc.
          adHoc: t.adHoc === true,
          allows: (id: string) => patterns.some((p) => p.test(id)),
        },
      };
    });
  }

  /** The principal of a bearer token, or null when the token is unknown. */
  authenticate(token: string): Principal | null {
    const hash = Buffer.from(hashToken(token), 'hex');
    let found: Principal | null = null;
    // Compare with every entry, so the time taken does not say how far a guess got.
    for (const entry of this.entries) if (timingSafeEqual(entry.hash, hash)) found = entry.principal;
    return found;
  }
}

/** Reads a tokens file (JSON, or YAML for .yaml/.yml): `{ tokens: [{ name, sha256, role, runners, adHoc }] }`. */
export function loadTokensFile(path: string): TokenStore {
  let value: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    const ext = extname(path).toLowerCase();
    value = ext === '.yaml' || ext === '.yml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`cannot read tokens file ${path}: ${(err as Error).message}`);
  }
  const result = tokensFileSchema.safeParse(value);
  if (!result.success) throw new ConfigError(`tokens file ${path}: ${formatIssues(result.error)}`);
  try {
    return new TokenStore(result.data.tokens);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`tokens file ${path}: ${err.message}`);
    throw err;
  }
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerToken(header: string | string[] | undefined | null): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value ?? '');
  return match?.[1] ?? null;
}

/**
 * The principal of whoever sent an operation, from what each transport carries: the
 * graphql-ws connection params (`token`, or `authorization: "Bearer …"`), or the
 * `Authorization` header of the HTTP request (Yoga and graphql-sse alike).
 */
export function principalOf(tokens: TokenStore, initial: Record<string, unknown>): Principal | null {
  const params = initial['connectionParams'] as Record<string, unknown> | undefined;
  const request = initial['request'] as { headers?: { get(name: string): string | null } } | undefined;
  const req = initial['req'] as { headers?: Record<string, string | string[] | undefined> } | undefined;
  const token =
    (typeof params?.['token'] === 'string' ? params['token'] : null) ??
    bearerToken(typeof params?.['authorization'] === 'string' ? params['authorization'] : null) ??
    bearerToken(request?.headers?.get('authorization')) ??
    bearerToken(req?.headers?.['authorization']);
  return token === null ? null : tokens.authenticate(token);
}
