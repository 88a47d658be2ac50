/**
 * Apollo Client 4 (its persisted-query link) and urql (its persisted exchange), as a
 * team's app would use them, against TRUSTED_DOCUMENTS=only with the app's own manifest:
 * their hashes run over HTTP and graphql-ws, a document outside the manifest is refused
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
