/**
 * Trusted-documents manifests (hash → document text) and their check. Apart from the
 * rule (trusted-documents.ts) and free of GraphQL, so that the configuration checks a
 * manifest without loading any server code: a bad entry stops the server at once.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../runtime/config-error.js';

/** A manifest as codegen's client-preset writes it: hash → document text, and where it came from. */
export interface Manifest {
  /** Where it came from, for messages: a path, or "the built-in manifest". */
  readonly source: string;
  readonly documents: Readonly<Record<string, string>>;
}

/** The hex SHA-256 of a document's text: its hash in a manifest and in a request. */
export function documentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * A hash as requests and manifests may spell it: bare hex (Apollo's and urql's
 * `sha256Hash`), or `sha256:<hex>` (the GraphQL-over-HTTP draft's `documentId`, and the
 * client-preset's default). Returns the bare lower-case hex, or null for anything else.
 */
export function bareHash(id: string): string | null {
  const hex = id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
  return /^[0-9a-fA-F]{64}$/.test(hex) ? hex.toLowerCase() : null;
}

/**
 * The documents of `manifests`, by bare hash. Throws a {@link ConfigError} naming the
 * manifest and the entry when a key is not a SHA-256 or does not match its text (an entry
 * edited after hashing would run something other than what was reviewed).
 */
export function documentsOf(manifests: readonly Manifest[]): Map<string, string> {
  const documents = new Map<string, string>();
  for (const { source, documents: entries } of manifests) {
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      throw new ConfigError(`trusted documents ${source}: must be a JSON object of SHA-256 hash → document text`);
    }
    for (const [key, text] of Object.entries(entries)) {
      const hash = bareHash(key);
      if (hash === null) throw new ConfigError(`trusted documents ${source}: entry "${key}" is not a SHA-256 hash (64 hex digits, or sha256:<hex>)`);
      if (typeof text !== 'string' || text.trim() === '') throw new ConfigError(`trusted documents ${source}: entry "${key}" has no document text`);
      const actual = documentHash(text);
      if (actual !== hash) {
        throw new ConfigError(
          `trusted documents ${source}: entry "${key}" does not match its document (its text hashes to ${actual}): the text was changed after hashing; regenerate the manifest (npm run codegen)`,
        );
      }
      documents.set(hash, text);
    }
  }
  return documents;
}

