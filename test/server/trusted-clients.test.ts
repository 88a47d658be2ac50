/**
 * Apollo Client 4 (its persisted-query link) and urql (its persisted exchange), as a
 * team's app would use them, against TRUSTED_DOCUMENTS=only with the app's own manifest:
 * their hashes run over HTTP, graphql-ws and graphql-sse, a document outside the manifest is refused
 * with PERSISTED_DOCUMENT_REQUIRED.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient as createUrqlClient, fetchExchange, gql as urqlGql, stringifyDocument, subscriptionExchange, type Client as UrqlClient } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { print, type DocumentNode } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { documentHash, TrustedDocuments, type Manifest } from '../../src/graphql/trusted-documents.js';
import { startTestServer, type TestServer } from './harness.js';

const root = new URL('../../', import.meta.url).pathname;
const builtIn: Manifest = {
  source: 'built-in',
  documents: JSON.parse(readFileSync(join(root, 'src/client/generated/persisted-documents.json'), 'utf8')) as Record<string, string>,
};

const tokens = new TokenStore([{ name: 'app', sha256: hashToken('app-secret'), role: 'viewer', runners: ['*'] }]);

/** The team's documents. */
const RUNNERS = 'query TeamRunners { runners { id symbol } }';
const EVENTS = 'subscription TeamEvents($runnerIds: [ID!]) { events(runnerIds: $runnerIds) { __typename ... on RunnerStarted { runnerId symbol } } }';
/** A document the team never shipped. */
const AD_HOC = 'query Exploring { log { epoch } }';

/** What Apollo Client sends of a document: its cache adds __typename, then it prints. */
const apolloText = (text: string) => print(new InMemoryCache().transformDocument(gql(text)));
/** What urql sends of a document (no cache exchange here): its own printing. */
const urqlText = (text: string) => stringifyDocument(urqlGql(text));

/** The manifest a team generates for its app: hash → the text its client sends. */
function manifestOf(source: string, texts: readonly string[]): Manifest {
  return { source, documents: Object.fromEntries(texts.map((text) => [documentHash(text), text])) };
}

/** A fetch that keeps every request body it sent (or the URL of a GET). */
function recordingFetch(sent: string[]): typeof fetch {
  return (input, init) => {
    sent.push(typeof init?.body === 'string' ? init.body : String(input));
    return fetch(input, init);
  };
}

/** Bodies of the refusals (4xx) graphql-sse's client received, read before it aborts the request. */
const sseRefusals: Promise<string>[] = [];

const sseClientOf = (t: TestServer): SseClient =>
  createSseClient({
    url: t.server.urls.sse,
    retryAttempts: 0,
    headers: { authorization: 'Bearer app-secret' },
    fetchFn: async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetch(input, init);
      if (response.status < 400) return response;
      // Read whole before the client sees it: it aborts the request on a refusal.
      const text = await response.text();
      sseRefusals.push(Promise.resolve(text));
      return new Response(text, { status: response.status, headers: response.headers });
    },
  });

/** graphql-sse's recipe of an Apollo link (Apollo has none of its own for it). */
class SseLink extends ApolloLink {
  constructor(private readonly client: SseClient) {
    super();
  }
  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    return new Observable((sink) =>
      this.client.subscribe({ ...operation, query: print(operation.query) }, { next: (r) => sink.next(r as ApolloLink.Result), complete: () => sink.complete(), error: (e) => sink.error(e) }),
    );
  }
}

/**
 * The first result of an Apollo or urql subscription, or its error, through `read` (which
 * may read a response body: the subscription is stopped only after it, since stopping
 * aborts the request).
 */
function firstOf(subscribe: (next: (value: unknown) => void) => () => void, read: (value: unknown) => unknown = (value) => value): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let stop: (() => void) | null = null;
    let done = false;
    stop = subscribe((value) => {
      if (done) return;
      done = true;
      Promise.resolve(read(value)).then(resolve, reject).finally(() => stop?.());
    });
  });
}

/**
 * The code of a refusal as a client of graphql-sse's distinct mode gets it: the request is
 * answered 400 with the GraphQL errors as JSON, which graphql-sse's client hands on as a
 * NetworkError with the response (urql wraps it once more); the body is the last one the
 * client's fetch kept.
 */
async function sseRefusalCode(error: unknown): Promise<unknown> {
  const network = (error as { networkError?: unknown }).networkError ?? error;
  expect((network as { response?: Response }).response?.status).toBe(400);
  const body = JSON.parse(await sseRefusals.at(-1)!) as { errors: { extensions?: { code?: unknown } }[] };
  return body.errors[0]?.extensions?.code;
}

const wsClientOf = (t: TestServer): WsClient => createWsClient({ url: t.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { token: 'app-secret' } });

// Apollo's GraphQLWsLink reads the global WebSocket when it classifies an error, which
// Node 20 does not have (Node 22 does): ws's class has the same constants.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

let t: TestServer;
beforeAll(async () => {
  const team = manifestOf('team.json', [apolloText(RUNNERS), apolloText(EVENTS), urqlText(RUNNERS), urqlText(EVENTS)]);
  t = await startTestServer({ tokens, trusted: new TrustedDocuments('only', [builtIn, team]) });
});
afterAll(async () => {
  await t.close();
});

describe('Apollo Client 4 with its persisted-query link', () => {
  let client: ApolloClient;
  let ws: WsClient;
  const sent: string[] = [];
  beforeAll(() => {
    ws = wsClientOf(t);
    const http = new HttpLink({ uri: t.server.urls.http, headers: { authorization: 'Bearer app-secret' }, fetch: recordingFetch(sent) });
    const sha256 = (text: string) => documentHash(text);
    const link = new PersistedQueryLink({ sha256 }).concat(
      ApolloLink.split(({ query }) => query.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation === 'subscription'), new GraphQLWsLink(ws), http),
    );
    client = new ApolloClient({ link, cache: new InMemoryCache() });
  });
  afterAll(async () => {
    client.stop();
    await ws.dispose();
  });

  it('runs a query of the manifest over HTTP by its hash alone', async () => {
    sent.length = 0;
    const result = await client.query({ query: gql(RUNNERS), fetchPolicy: 'no-cache' });
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual({ runners: [] });
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toContain('"query"');
    expect(sent[0]).toContain(documentHash(apolloText(RUNNERS)));
  }, 30_000);

  it('runs a subscription of the manifest over graphql-ws', async () => {
    const events: unknown[] = [];
    const subscription = client.subscribe({ query: gql(EVENTS), variables: { runnerIds: ['r1'] } }).subscribe({ next: (r) => events.push(r.data) });
    try {
      await expect.poll(() => t.server.tickwire.sharedExecution.stats().members, { timeout: 20_000 }).toBe(1);
      t.bus.publish({ type: 'RunnerStarted', runnerId: 'r1', symbol: 'AAA', timestamp: 1 }, 'AAA');
      await expect.poll(() => events.length, { timeout: 20_000 }).toBe(1);
      expect(events[0]).toEqual({ events: { __typename: 'RunnerStarted', runnerId: 'r1', symbol: 'AAA' } });
    } finally {
      subscription.unsubscribe();
    }
  }, 30_000);

  it('gets PERSISTED_DOCUMENT_REQUIRED for a document outside the manifest, over HTTP and graphql-ws', async () => {
    const overHttp = await client.query({ query: gql(AD_HOC), fetchPolicy: 'no-cache', errorPolicy: 'all' });
    expect(CombinedGraphQLErrors.is(overHttp.error)).toBe(true);
    expect((overHttp.error as CombinedGraphQLErrors).errors[0]?.extensions?.['code']).toBe('PERSISTED_DOCUMENT_REQUIRED');
    const refused = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: gql('subscription Exploring { events { __typename } }') }).subscribe({ next: (r) => resolve(r.error), error: resolve });
    });
    expect(CombinedGraphQLErrors.is(refused), String(refused)).toBe(true);
    expect((refused as CombinedGraphQLErrors).errors[0]?.extensions?.['code']).toBe('PERSISTED_DOCUMENT_REQUIRED');
  }, 30_000);
});

describe('Apollo Client 4 and urql over graphql-sse', () => {
  let sse: SseClient;
  beforeAll(() => {
    sse = sseClientOf(t);
  });
  afterAll(() => {
    sse.dispose();
  });

  it('Apollo: a subscription of the manifest runs (its text with its hash), one outside it is refused', async () => {
    const link = new PersistedQueryLink({ sha256: (text: string) => documentHash(text) }).concat(new SseLink(sse));
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    try {
      const first = firstOf((next) => {
        const s = client.subscribe({ query: gql(EVENTS), variables: { runnerIds: ['r3'] } }).subscribe({ next: (r) => next(r.data ?? r.error), error: next });
        return () => s.unsubscribe();
      });
      await expect.poll(() => t.server.tickwire.sharedExecution.stats().members, { timeout: 20_000 }).toBe(1);
      t.bus.publish({ type: 'RunnerStarted', runnerId: 'r3', symbol: 'CCC', timestamp: 1 }, 'CCC');
      expect(await first).toEqual({ events: { __typename: 'RunnerStarted', runnerId: 'r3', symbol: 'CCC' } });
      await expect.poll(() => t.server.tickwire.sharedExecution.stats().members, { timeout: 20_000 }).toBe(0);
      const refused = await firstOf((next) => {
        const s = client.subscribe({ query: gql('subscription Exploring { events { __typename } }') }).subscribe({ next: (r) => next(r.error), error: next });
        return () => s.unsubscribe();
      }, sseRefusalCode);
      expect(refused).toBe('PERSISTED_DOCUMENT_REQUIRED');
    } finally {
      client.stop();
    }
  }, 60_000);

  it('urql: a subscription of the manifest runs by its hash alone, one outside it is refused (its hash unknown)', async () => {
    const client = createUrqlClient({
      url: t.server.urls.http,
      exchanges: [
        persistedExchange({ enableForSubscriptions: true, generateHash: async (text) => documentHash(text) }),
        subscriptionExchange({
          forwardSubscription: (request) => ({ subscribe: (sink) => ({ unsubscribe: sse.subscribe({ ...request, query: request.query ?? '' }, sink) }) }),
        }),
        fetchExchange,
      ],
    });
    const first = firstOf((next) => client.subscription(urqlGql(EVENTS) as DocumentNode, { runnerIds: ['r4'] }).subscribe((r) => next(r.data ?? r.error)).unsubscribe);
    await expect.poll(() => t.server.tickwire.sharedExecution.stats().members, { timeout: 20_000 }).toBe(1);
    t.bus.publish({ type: 'RunnerStarted', runnerId: 'r4', symbol: 'DDD', timestamp: 1 }, 'DDD');
    expect(await first).toEqual({ events: { __typename: 'RunnerStarted', runnerId: 'r4', symbol: 'DDD' } });
    const refused = await firstOf((next) => client.subscription(urqlGql('subscription Exploring { events { __typename } }') as DocumentNode, {}).subscribe((r) => next(r.error)).unsubscribe, sseRefusalCode);
    // urql sends the hash alone; graphql-sse's 400 reaches it as a network error, which its
    // persisted exchange does not answer with the text: the refusal is of the hash.
    expect(refused).toBe('PERSISTED_DOCUMENT_NOT_FOUND');
  }, 60_000);
});

describe('urql with its persisted exchange', () => {
  let client: UrqlClient;
  let ws: WsClient;
  const sent: string[] = [];
  beforeAll(() => {
    ws = wsClientOf(t);
    client = createUrqlClient({
      url: t.server.urls.http,
      fetch: recordingFetch(sent),
      fetchOptions: { headers: { authorization: 'Bearer app-secret' } },
      requestPolicy: 'network-only',
      exchanges: [
        persistedExchange({ enableForSubscriptions: true, generateHash: async (text) => documentHash(text) }),
        subscriptionExchange({
          // graphql-ws requires a query string: by hash it is empty (urql's own recipe).
          forwardSubscription: (request) => ({ subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }) }),
        }),
        fetchExchange,
      ],
    });
  });
  afterAll(async () => {
    await ws.dispose();
  });

  it('runs a query of the manifest over HTTP by its hash alone', async () => {
    sent.length = 0;
    const result = await client.query(urqlGql(RUNNERS) as DocumentNode, {}).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual({ runners: [] });
    expect(sent).toHaveLength(1);
    expect(decodeURIComponent(sent[0]!)).not.toContain('query=');
    expect(decodeURIComponent(sent[0]!)).toContain(documentHash(urqlText(RUNNERS)));
  }, 30_000);

  it('runs a subscription of the manifest over graphql-ws by its hash', async () => {
    const events: unknown[] = [];
    const { unsubscribe } = client.subscription(urqlGql(EVENTS) as DocumentNode, { runnerIds: ['r2'] }).subscribe((r) => events.push(r.data ?? r.error));
    try {
      await expect.poll(() => t.server.tickwire.sharedExecution.stats().members, { timeout: 20_000 }).toBe(1);
      t.bus.publish({ type: 'RunnerStarted', runnerId: 'r2', symbol: 'BBB', timestamp: 1 }, 'BBB');
      await expect.poll(() => events.length, { timeout: 20_000 }).toBe(1);
      expect(events[0]).toEqual({ events: { __typename: 'RunnerStarted', runnerId: 'r2', symbol: 'BBB' } });
    } finally {
      unsubscribe();
    }
  }, 30_000);

  it('gets PERSISTED_DOCUMENT_REQUIRED for a document outside the manifest, over HTTP and graphql-ws', async () => {
    const overHttp = await client.query(urqlGql(AD_HOC) as DocumentNode, {}).toPromise();
    expect(overHttp.error?.graphQLErrors[0]?.extensions?.['code']).toBe('PERSISTED_DOCUMENT_REQUIRED');
    const refused = await new Promise<unknown>((resolve) => {
      client.subscription(urqlGql('subscription Exploring { events { __typename } }') as DocumentNode, {}).subscribe((r) => resolve(r.error));
    });
    expect((refused as { graphQLErrors: { extensions?: Record<string, unknown> }[] }).graphQLErrors[0]?.extensions?.['code']).toBe('PERSISTED_DOCUMENT_REQUIRED');
  }, 30_000);
});
