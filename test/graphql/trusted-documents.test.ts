import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL } from '../../src/graphql/auth.js';
import { bareHash, documentsOf } from '../../src/graphql/manifest.js';
import { documentHash, requestedId, TrustedDocuments } from '../../src/graphql/trusted-documents.js';
import { ConfigError } from '../../src/runtime/config-error.js';

const TEXT = 'query Epoch { log { epoch } }';
const HASH = documentHash(TEXT);
const manifest = { source: 'team.json', documents: { [HASH]: TEXT } };
const adHoc = { ...OPEN_PRINCIPAL, adHoc: true };

describe('trusted documents', () => {
  it('reads the hash of Apollo/urql (version 1 only) and the draft documentId', () => {
    expect(requestedId({ extensions: { persistedQuery: { version: 1, sha256Hash: HASH } } })).toBe(HASH);
    expect(requestedId({ extensions: { persistedQuery: { version: 2, sha256Hash: HASH } } })).toBeNull();
    expect(requestedId({ documentId: `sha256:${HASH}` })).toBe(`sha256:${HASH}`);
    expect(requestedId({ query: TEXT })).toBeNull();
    expect(bareHash(`sha256:${HASH.toUpperCase()}`)).toBe(HASH);
    expect(bareHash('sha1:abc')).toBeNull();
  });

  it('checks every entry of a manifest against its text', () => {
    expect(documentsOf([manifest]).get(HASH)).toBe(TEXT);
    expect(() => documentsOf([{ source: 'x.json', documents: { [HASH]: `${TEXT} ` } }])).toThrow(ConfigError);
    expect(() => documentsOf([{ source: 'x.json', documents: [] as unknown as Record<string, string> }])).toThrow(/must be a JSON object/);
    expect(() => documentsOf([{ source: 'x.json', documents: { [HASH]: 42 as unknown as string } }])).toThrow(/has no document text/);
  });

  it('off: no hash is known; allow: hashes and text; only: hashes, text only for adHoc', () => {
    const off = new TrustedDocuments('off', [manifest]);
    expect(off.documentOf(HASH)).toBeNull();
    expect(off.resolve({ query: TEXT }, OPEN_PRINCIPAL, 'test')).toEqual({ query: TEXT });
    const allow = new TrustedDocuments('allow', [manifest]);
    expect(allow.resolve({ query: '', documentId: HASH }, OPEN_PRINCIPAL, 'test')).toEqual({ query: TEXT, documentId: HASH });
    expect(allow.resolve({ query: '{ __typename }' }, OPEN_PRINCIPAL, 'test')).toEqual({ query: '{ __typename }' });
    const only = new TrustedDocuments('only', [manifest]);
    expect(only.resolve({ query: '{ __typename }' }, OPEN_PRINCIPAL, 'test')).toBeInstanceOf(GraphQLError);
    expect(only.resolve({ query: '{ __typename }' }, null, 'test')).toBeInstanceOf(GraphQLError);
    expect(only.resolve({ query: '{ __typename }' }, adHoc, 'test')).toEqual({ query: '{ __typename }' });
    // Neither text nor hash: the transport's own answer to a request without a query.
    expect(only.resolve({ query: '' }, OPEN_PRINCIPAL, 'test')).toEqual({ query: '' });
  });
});
