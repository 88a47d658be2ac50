/**
 * Trusted documents (persisted operations): the documents the server was given ahead of
 * time, by the SHA-256 of their text, and the rule of TRUSTED_DOCUMENTS on what else
 * runs. One {@link TrustedDocuments} serves every transport: Yoga's HTTP and SSE through
 * {@link useTrustedDocuments} (Yoga's persisted-operations plugin, fed from here), and
 * graphql-ws and graphql-sse through {@link TrustedDocuments.resolve}, which they call
 * before preparing an operation.
 */
export { documentHash, type Manifest } from './manifest.js';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { bareHash, documentHash, documentsOf, type Manifest } from './manifest.js';
import { log } from '../runtime/log.js';
import { DEFAULT_TRUSTED_DOCUMENTS, type TrustedDocumentsMode } from '../runtime/settings.js';
import { CODE, graphqlError } from './errors.js';
import type { Principal } from './schema/principal.js';


/** The request parameters the trusted-documents rule reads (any transport's). */
export interface DocumentRequest {
  readonly query?: string | null | undefined;
  readonly extensions?: Readonly<Record<string, unknown>> | null | undefined;
  readonly documentId?: unknown;
}

/**
 * The id a request names its document by: `extensions.persistedQuery.sha256Hash` (version
 * 1, Apollo Client's and urql's shape) or the draft's `documentId`; null when it names none.
 */
export function requestedId(params: DocumentRequest): string | null {
  const persisted = params.extensions?.['persistedQuery'] as { version?: unknown; sha256Hash?: unknown } | null | undefined;
  if (persisted != null && typeof persisted === 'object' && persisted.version === 1 && typeof persisted.sha256Hash === 'string') return persisted.sha256Hash;
  return typeof params.documentId === 'string' ? params.documentId : null;
}

/** The trusted documents of a server and its TRUSTED_DOCUMENTS mode. */
export class TrustedDocuments {
  private readonly documents: ReadonlyMap<string, string>;

  /** Throws a {@link ConfigError} naming the entry when a manifest's hash does not match its text. */
  constructor(
    readonly mode: TrustedDocumentsMode = DEFAULT_TRUSTED_DOCUMENTS,
    /** The manifests as configured: what a socket worker needs to build the same set. */
    readonly manifests: readonly Manifest[] = [],
  ) {
    this.documents = documentsOf(manifests);
  }

  /** Documents known by hash. */
  get size(): number {
    return this.documents.size;
  }

  /** The text of the document `id` names, or null (unknown, or TRUSTED_DOCUMENTS=off). */
  documentOf(id: string): string | null {
    if (this.mode === 'off') return null;
    const hash = bareHash(id);
    return hash === null ? null : (this.documents.get(hash) ?? null);
  }

  /**
   * True when a request sends both a text and the hash of a trusted document, and the text
   * is that document's: Apollo Client over graphql-ws always sends the text with the hash.
   */
  isTrustedText(params: DocumentRequest): boolean {
    const id = requestedId(params);
    if (id === null || typeof params.query !== 'string' || this.documentOf(id) === null) return false;
    return documentHash(params.query) === bareHash(id);
  }

  /** True when `principal` may send a document's text (anything but `only`, or an adHoc token). */
  mayRunText(principal: Principal | null): boolean {
    return this.mode !== 'only' || principal?.adHoc === true;
  }

  /**
   * The refusal of a hash the server does not know, logged once at warn. Its message is
   * Apollo's convention, which Apollo Client's persisted-query link and urql's persisted
   * exchange act on: PersistedQueryNotFound (send the text with it), or, with
   * TRUSTED_DOCUMENTS=off, PersistedQueryNotSupported (stop sending hashes).
   */
  notFound(id: string, transport: string): GraphQLError {
    const message = this.mode === 'off' ? 'PersistedQueryNotSupported' : 'PersistedQueryNotFound';
    // With TRUSTED_DOCUMENTS=off this is how every client learns to send text: no warning.
    const level = this.mode === 'off' ? 'debug' : 'warn';
    log[level]({ component: 'trusted-documents', transport, code: CODE.PERSISTED_DOCUMENT_NOT_FOUND, hash: id.slice(0, 80), mode: this.mode }, `${message}: no trusted document has this hash`);
    return graphqlError(CODE.PERSISTED_DOCUMENT_NOT_FOUND, message);
  }

  /** The refusal of a document's text under TRUSTED_DOCUMENTS=only, logged once at warn. */
  required(transport: string, principal: Principal | null): GraphQLError {
    log.warn({ component: 'trusted-documents', transport, code: CODE.PERSISTED_DOCUMENT_REQUIRED, token: principal?.name ?? null }, 'a document outside the trusted documents was refused');
    return graphqlError(
      CODE.PERSISTED_DOCUMENT_REQUIRED,
      'this server runs only trusted documents (TRUSTED_DOCUMENTS=only): send the hash of a document of its manifests in extensions.persistedQuery.sha256Hash, or use a token with adHoc: true',
    );
  }

  /**
   * What graphql-ws and graphql-sse run for a request: its own text (when there is one and
   * the mode and token allow it), or the trusted document its hash names; else the
   * refusal. The same rule as {@link useTrustedDocuments} applies at /graphql.
   */
  resolve<P extends DocumentRequest>(params: P, principal: Principal | null, transport: string): (P & { readonly query: string }) | GraphQLError {
    if (typeof params.query === 'string' && params.query !== '') {
      const runs = this.mayRunText(principal) || this.isTrustedText(params);
      return runs ? (params as P & { readonly query: string }) : this.required(transport, principal);
    }
    const id = requestedId(params);
    // Neither text nor hash: the transport's own "no query" answer stands.
    if (id === null) return params as P & { readonly query: string };
    const text = this.documentOf(id);
    return text === null ? this.notFound(id, transport) : { ...params, query: text };
  }
}

/** No manifest, TRUSTED_DOCUMENTS=off: what a server without the setting does. */
export const NO_TRUSTED_DOCUMENTS = new TrustedDocuments();

/**
 * The rule at /graphql (Yoga's HTTP GET and POST and its SSE): Yoga's persisted-operations
 * plugin, reading hashes and documents from `trusted` and its refusals from it, so every
 * transport answers alike. `principalOf` maps a request to its principal (null: unknown).
 */
export function useTrustedDocuments(trusted: TrustedDocuments, principalOf: (request: Request) => Principal | null): Plugin {
  const transport = 'http';
  // The id the plugin found, per request, for the not-found message.
  const ids = new WeakMap<Request, string>();
  const persisted = usePersistedOperations({
    allowArbitraryOperations: (request) => trusted.mayRunText(principalOf(request)),
    extractPersistedOperationId: (params, request) => {
      const documentId = (params as { documentId?: unknown }).documentId ?? new URL(request.url, 'http://localhost').searchParams.get('documentId');
      const id = requestedId({ extensions: params.extensions ?? null, documentId });
      if (id !== null) ids.set(request, id);
      return id;
    },
    getPersistedOperation: (id) => trusted.documentOf(id),
    customErrors: {
      notFound: ({ request }) => trusted.notFound(ids.get(request) ?? '', transport),
      persistedQueryOnly: ({ request }) => trusted.required(transport, principalOf(request)),
      // Neither text nor hash: the same answer as Yoga's own for a request without a query.
      keyNotFound: () => graphqlError(CODE.BAD_REQUEST, 'request has no query (nor a persisted document hash)', { httpStatus: true }),
    },
  }) as Plugin;
  return {
    // A text sent with its own trusted hash (Apollo's retry, or a client that sends both)
    // runs as that trusted document: the plugin sees only the hash.
    onParams(payload) {
      const { params, setParams } = payload;
      if (params.query && trusted.isTrustedText({ query: params.query, extensions: params.extensions ?? null, documentId: (params as { documentId?: unknown }).documentId })) {
        setParams({ ...params, query: undefined });
        // setParams replaces what the rest of this hook sees too.
        payload.params = { ...params, query: undefined };
      }
      return persisted.onParams?.(payload);
    },
    onParse: persisted.onParse,
    onValidate: persisted.onValidate,
  } as Plugin;
}
