import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/runtime/log.js';
import WebSocket from 'ws';
import { ConfigError, loadServerConfig } from '../../src/app/config.js';
import { hashToken, TokenStore } from '../../src/graphql/auth.js';
import { documentHash, TrustedDocuments, type Manifest } from '../../src/graphql/trusted-documents.js';
import { startTestServer, until, type TestServer } from './harness.js';
import { createEventsClient, OperationError, type EventsClientOptions } from '../../src/client/client.js';
import { LogEpochDocument, RunnersDocument } from '../../src/client/operations.js';
import { parseTailArgs } from '../../src/cli/args.js';
import { tail } from '../../src/cli/tail.js';
import { publishScript } from './harness.js';
import { entry } from '../support/processes.js';

const root = new URL('../../', import.meta.url).pathname;
const builtIn: Manifest = {
  source: 'built-in',
  documents: JSON.parse(readFileSync(join(root, 'src/client/generated/persisted-documents.json'), 'utf8')) as Record<string, string>,
};
const LOG_EPOCH = Object.entries(builtIn.documents).find(([, text]) => text.startsWith('query LogEpoch'))![0];
const AD_HOC = '{ log { epoch } }';
const UNKNOWN = documentHash('query Unknown { log { epoch } }');

const tokens = new TokenStore([
  { name: 'viewer', sha256: hashToken('viewer-secret'), role: 'viewer', runners: ['*'] },
  { name: 'explorer', sha256: hashToken('explorer-secret'), role: 'operator', runners: ['*'], adHoc: true },
]);

/** A request by text or by hash, as Apollo Client and urql send them. */
type Request = { readonly query: string; readonly hash?: string } | { readonly hash: string } | { readonly documentId: string; readonly hash?: undefined };

const bodyOf = (request: Request) => ({
  ...('query' in request ? { query: request.query } : {}),
  ...(request.hash !== undefined ? { extensions: { persistedQuery: { version: 1, sha256Hash: request.hash } } } : {}),
  ...('documentId' in request ? { documentId: request.documentId } : {}),
});

/** Every transport, each asked once with `request` and `token`: the first result (errors included). */
const TRANSPORTS: Record<string, (server: TestServer, request: Request, token: string) => Promise<ExecutionResult>> = {
  'http POST': async (t, request, token) => {
    const res = await fetch(t.server.urls.http, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(bodyOf(request)),
    });
    return (await res.json()) as ExecutionResult;
  },
  'http GET': async (t, request, token) => {
    const url = new URL(t.server.urls.http);
    for (const [key, value] of Object.entries(bodyOf(request))) url.searchParams.set(key, typeof value === 'string' ? value : JSON.stringify(value));
    const res = await fetch(url, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    return (await res.json()) as ExecutionResult;
  },
  'yoga sse': (t, request, token) => viaSse(t.server.urls.http, false, request, token),
  'graphql-sse distinct': (t, request, token) => viaSse(t.server.urls.sse, false, request, token),
  'graphql-sse single': (t, request, token) => viaSse(t.server.urls.sse, true, request, token),
  'graphql-ws': (t, request, token) => {
    const client = createWsClient({ url: t.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { token } });
    // graphql-ws requires a query string: a request by hash sends an empty one.
    const payload = { query: '', ...bodyOf(request) };
    return firstResult((sink) => client.subscribe(payload, sink), () => client.dispose());
  },
};

/** The first result a sink sees; a refusal (GraphQL errors as the `error`) counts as a result. */
function firstResult(subscribe: (sink: { next(r: ExecutionResult): void; error(e: unknown): void; complete(): void }) => () => void, dispose: () => unknown): Promise<ExecutionResult> {
  return new Promise<ExecutionResult>((resolve, reject) => {
    let done = false;
    const end = (settle: () => void) => {
      if (done) return;
      done = true;
      settle();
      void dispose();
    };
    subscribe({
      next: (result) => end(() => resolve(result)),
      error: (error) => {
        if (Array.isArray(error)) return end(() => resolve({ errors: error } as ExecutionResult));
        // graphql-sse reports a refused request (4xx) as a NetworkError with the response.
        const response = (error as { response?: Response }).response;
        if (response !== undefined) return void response.json().then((body) => end(() => resolve(body as ExecutionResult)), (e: unknown) => end(() => reject(e)));
        end(() => reject(error as Error));
      },
      complete: () => end(() => reject(new Error('completed without a result'))),
    });
  });
}

function viaSse(url: string, singleConnection: boolean, request: Request, token: string): Promise<ExecutionResult> {
  const client = createSseClient({ url, singleConnection, retryAttempts: 0, headers: { authorization: `Bearer ${token}` } });
  // graphql-sse's client types ask for a query; a request by hash has none.
  return firstResult((sink) => client.subscribe(bodyOf(request) as { query: string }, sink), () => client.dispose());
}

const codeOf = (result: ExecutionResult) => result.errors?.[0]?.extensions?.['code'];

describe('TRUSTED_DOCUMENTS=only, on every transport', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tokens, trusted: new TrustedDocuments('only', [builtIn]) });
  });
  afterAll(async () => {
    await t.close();
  });

  for (const [name, send] of Object.entries(TRANSPORTS)) {
    it(`${name}: a trusted document runs by its hash`, async () => {
      const result = await send(t, { hash: LOG_EPOCH }, 'viewer-secret');
      expect(result.errors).toBeUndefined();
      expect((result.data as { log: { epoch: string } }).log.epoch).toBe(t.bus.epoch);
    }, 30_000);

    it(`${name}: a viewer's own document is refused with PERSISTED_DOCUMENT_REQUIRED`, async () => {
      const result = await send(t, { query: AD_HOC }, 'viewer-secret');
      expect(codeOf(result)).toBe('PERSISTED_DOCUMENT_REQUIRED');
      expect(result.data ?? null).toBeNull();
    }, 30_000);

    it(`${name}: the GraphQL-over-HTTP draft's documentId names a trusted document too`, async () => {
      const result = await send(t, { documentId: `sha256:${LOG_EPOCH}` }, 'viewer-secret');
      expect(result.errors).toBeUndefined();
      expect((result.data as { log: { epoch: string } }).log.epoch).toBe(t.bus.epoch);
    }, 30_000);

    it(`${name}: a refusal is logged once, at warn`, async () => {
      const warn = vi.spyOn(log, 'warn');
      try {
        await send(t, { query: AD_HOC }, 'viewer-secret');
        await send(t, { hash: UNKNOWN }, 'viewer-secret');
        const codes = warn.mock.calls.map(([fields]) => (fields as { code?: unknown }).code).filter((code) => String(code).startsWith('PERSISTED_DOCUMENT_'));
        expect(codes).toEqual(['PERSISTED_DOCUMENT_REQUIRED', 'PERSISTED_DOCUMENT_NOT_FOUND']);
      } finally {
        warn.mockRestore();
      }
    }, 30_000);

    it(`${name}: an adHoc token's own document runs`, async () => {
      const result = await send(t, { query: AD_HOC }, 'explorer-secret');
      expect(result.errors).toBeUndefined();
      expect((result.data as { log: { epoch: string } }).log.epoch).toBe(t.bus.epoch);
    }, 30_000);

    it(`${name}: a trusted document's text sent with its hash runs (as Apollo Client sends it over graphql-ws); with another document's hash it is refused`, async () => {
      const text = builtIn.documents[LOG_EPOCH]!;
      const result = await send(t, { query: text, hash: LOG_EPOCH }, 'viewer-secret');
      expect(result.errors).toBeUndefined();
      expect((result.data as { log: { epoch: string } }).log.epoch).toBe(t.bus.epoch);
      expect(codeOf(await send(t, { query: AD_HOC, hash: LOG_EPOCH }, 'viewer-secret'))).toBe('PERSISTED_DOCUMENT_REQUIRED');
    }, 30_000);

    it(`${name}: a hash of no trusted document is refused with PERSISTED_DOCUMENT_NOT_FOUND (PersistedQueryNotFound)`, async () => {
      const result = await send(t, { hash: UNKNOWN }, 'explorer-secret');
      expect(codeOf(result)).toBe('PERSISTED_DOCUMENT_NOT_FOUND');
      expect(result.errors?.[0]?.message).toBe('PersistedQueryNotFound');
    }, 30_000);
  }
});

describe('TRUSTED_DOCUMENTS=only with socket workers (WORKERS=1)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tokens, workers: 1, trusted: new TrustedDocuments('only', [builtIn]) });
    await t.server.workers!.ready();
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });

  it('a worker applies the same rule to graphql-ws: hashes run, a viewer\'s text is refused, an adHoc token\'s runs', async () => {
    const send = TRANSPORTS['graphql-ws']!;
    expect(codeOf(await send(t, { hash: LOG_EPOCH }, 'viewer-secret'))).toBeUndefined();
    expect(codeOf(await send(t, { query: AD_HOC }, 'viewer-secret'))).toBe('PERSISTED_DOCUMENT_REQUIRED');
    expect(codeOf(await send(t, { query: AD_HOC }, 'explorer-secret'))).toBeUndefined();
    expect(codeOf(await send(t, { hash: UNKNOWN }, 'viewer-secret'))).toBe('PERSISTED_DOCUMENT_NOT_FOUND');
  }, 60_000);
});

describe('TRUSTED_DOCUMENTS=off (the default)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tokens });
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs any document, and answers a hash PersistedQueryNotSupported, so that clients send the text', async () => {
    for (const send of Object.values(TRANSPORTS)) {
      expect(codeOf(await send(t, { query: AD_HOC }, 'viewer-secret'))).toBeUndefined();
      const byHash = await send(t, { hash: LOG_EPOCH }, 'viewer-secret');
      expect(codeOf(byHash)).toBe('PERSISTED_DOCUMENT_NOT_FOUND');
      expect(byHash.errors?.[0]?.message).toBe('PersistedQueryNotSupported');
    }
  }, 60_000);
});

describe('TRUSTED_DOCUMENTS=allow', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tokens, trusted: new TrustedDocuments('allow', [builtIn]) });
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs documents by hash and by text alike, for any token', async () => {
    for (const send of Object.values(TRANSPORTS)) {
      expect(codeOf(await send(t, { query: AD_HOC }, 'viewer-secret'))).toBeUndefined();
      expect(codeOf(await send(t, { hash: LOG_EPOCH }, 'viewer-secret'))).toBeUndefined();
      expect(codeOf(await send(t, { hash: UNKNOWN }, 'viewer-secret'))).toBe('PERSISTED_DOCUMENT_NOT_FOUND');
    }
  }, 60_000);
});

/** The typed client over each of its transports. */
const CLIENTS: Record<string, (t: TestServer) => Pick<EventsClientOptions, 'url' | 'transport' | 'singleConnection'>> = {
  'graphql-ws': (t) => ({ url: t.server.urls.ws }),
  'graphql-sse distinct': (t) => ({ url: t.server.urls.sse, transport: 'sse' }),
  'graphql-sse single': (t) => ({ url: t.server.urls.sse, transport: 'sse', singleConnection: true }),
};

/** Every subscribe a server was sent (graphql-ws and graphql-sse bodies alike), as the server parsed it. */
function sentPayloads(t: TestServer): { query?: string; extensions?: { persistedQuery?: unknown } }[] {
  const seen: { query?: string; extensions?: { persistedQuery?: unknown } }[] = [];
  const original = t.server.tickwire.resolveDocument;
  (t.server.tickwire as { resolveDocument: typeof original }).resolveDocument = (params, initial, transport) => {
    seen.push(params as never);
    return original(params, initial, transport);
  };
  return seen;
}

describe('the typed client', () => {
  let only: TestServer;
  let off: TestServer;
  let allow: TestServer;
  beforeAll(async () => {
    only = await startTestServer({ tokens, trusted: new TrustedDocuments('only', [builtIn]) });
    off = await startTestServer({ tokens });
    allow = await startTestServer({ tokens, trusted: new TrustedDocuments('allow', [builtIn]) });
  });
  afterAll(async () => {
    await Promise.all([only.close(), off.close(), allow.close()]);
  });

  for (const [name, transportOf] of Object.entries(CLIENTS)) {
    it(`${name}: works against TRUSTED_DOCUMENTS=only with a viewer token, sending hashes only`, async () => {
      const sent = sentPayloads(only);
      const client = createEventsClient({ ...transportOf(only), token: 'viewer-secret', retryAttempts: 0 });
      try {
        const abort = new AbortController();
        const events = client.events({ runnerIds: ['r1'], replay: 1 }, abort.signal);
        const first = events.next();
        only.bus.publish({ type: 'RunnerStarted', runnerId: 'r1', symbol: 'AAA', timestamp: 1 }, 'AAA');
        expect((await first).value).toMatchObject({ __typename: 'RunnerStarted', runnerId: 'r1' });
        expect((await client.request(LogEpochDocument)).log.epoch).toBe(only.bus.epoch);
        expect(Array.isArray((await client.request(RunnersDocument)).runners)).toBe(true);
        abort.abort();
        expect(sent.length).toBeGreaterThanOrEqual(3);
        for (const payload of sent) {
          expect(payload.query ?? '').toBe('');
          expect(payload.extensions?.persistedQuery).toMatchObject({ version: 1 });
        }
      } finally {
        await client.close();
      }
    }, 60_000);

    it(`${name}: against TRUSTED_DOCUMENTS=off it sends the text after the server says it takes no hashes, and from then on`, async () => {
      const sent = sentPayloads(off);
      const client = createEventsClient({ ...transportOf(off), token: 'viewer-secret', retryAttempts: 0 });
      try {
        expect((await client.request(LogEpochDocument)).log.epoch).toBe(off.bus.epoch);
        expect((await client.request(RunnersDocument)).runners).toEqual([]);
        // One hash, refused; then the text of both.
        expect(sent.map((p) => (p.query ? 'text' : 'hash'))).toEqual(['hash', 'text', 'text']);
      } finally {
        await client.close();
      }
    }, 60_000);
  }

  it('against TRUSTED_DOCUMENTS=allow it sends the text of a document the server does not know, and keeps sending hashes', async () => {
    const sent = sentPayloads(allow);
    const client = createEventsClient({ url: allow.server.urls.ws, token: 'viewer-secret', retryAttempts: 0 });
    try {
      const unknown = { ...RunnersDocument, __meta__: { hash: UNKNOWN } } as typeof RunnersDocument;
      expect((await client.request(unknown)).runners).toEqual([]);
      expect((await client.request(LogEpochDocument)).log.epoch).toBe(allow.bus.epoch);
      expect(sent.map((p) => (p.query ? 'text' : 'hash'))).toEqual(['hash', 'text', 'hash']);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('against TRUSTED_DOCUMENTS=only a document the server does not know ends with the refusal of its text', async () => {
    const client = createEventsClient({ url: only.server.urls.ws, token: 'viewer-secret', retryAttempts: 0 });
    try {
      const unknown = { ...RunnersDocument, __meta__: { hash: UNKNOWN } } as typeof RunnersDocument;
      const error = await client.request(unknown).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OperationError);
      expect((error as OperationError).errors[0]?.extensions?.['code']).toBe('PERSISTED_DOCUMENT_REQUIRED');
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('tickwire tail against TRUSTED_DOCUMENTS=only', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tokens, trusted: new TrustedDocuments('only', [builtIn]) });
  });
  afterAll(async () => {
    await t.close();
  });

  for (const flags of [['--url', 'WS'], ['--sse', '--url', 'SSE']]) {
    it(`prints the stream with a viewer token (${flags[0]})`, async () => {
      const sent = sentPayloads(t);
      const argv = flags.map((f) => (f === 'WS' ? t.server.urls.ws : f === 'SSE' ? t.server.urls.sse : f));
      const lines: string[] = [];
      const abort = new AbortController();
      const running = tail(parseTailArgs([...argv, '--runner', 'r1', '--json'], { TICKWIRE_TOKEN: 'viewer-secret' }), (l) => lines.push(l), abort.signal);
      // Until the tail prints: its subscription may start after any one publication.
      const timer = setInterval(() => publishScript(t.bus), 50);
      try {
        await until(() => lines.length >= 4, 'the r1 events', 20_000);
      } finally {
        clearInterval(timer);
      }
      abort.abort();
      await running;
      expect(lines.slice(0, 4).map((l) => (JSON.parse(l) as { runnerId: string }).runnerId)).toEqual(['r1', 'r1', 'r1', 'r1']);
      expect(sent.length).toBeGreaterThan(0);
      for (const payload of sent) expect(payload.query ?? '').toBe('');
    }, 60_000);
  }
});

describe('shared execution', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ tokens, trusted: new TrustedDocuments('allow', [builtIn]) });
  });
  afterAll(async () => {
    await t.close();
  });

  it('keys on the document: a subscriber by hash and one by the same text (formatted anew) share one group', async () => {
    const [hash, text] = Object.entries(builtIn.documents).find(([, doc]) => doc.startsWith('subscription Events'))!;
    const client = createWsClient({ url: t.server.urls.ws, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { token: 'viewer-secret' } });
    const variables = { runnerIds: ['r1'] };
    const received: ExecutionResult[][] = [[], []];
    const payloads = [
      { query: '', variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      { query: text.replace(/ \{ /g, ' {\n  ').replace(/ \} /g, '\n}\n'), variables },
    ];
    expect(payloads[1]!.query).not.toBe(text);
    const stops = payloads.map((payload, i) =>
      client.subscribe(payload, { next: (r) => received[i]!.push(r as ExecutionResult), error: (e) => received[i]!.push({ errors: e } as ExecutionResult), complete: () => undefined }),
    );
    await until(() => t.server.tickwire.sharedExecution.stats().members === 2, 'both subscribers', 20_000);
    expect(t.server.tickwire.sharedExecution.stats().cohorts).toBe(1);
    t.bus.publish({ type: 'RunnerStarted', runnerId: 'r1', symbol: 'AAA', timestamp: 1 }, 'AAA');
    await until(() => received.every((r) => r.length > 0), 'the event on both', 20_000);
    expect(received[0]).toEqual(received[1]);
    expect((received[0]![0]!.data as { events: { __typename: string } }).events.__typename).toBe('RunnerStarted');
    for (const stop of stops) stop();
    await client.dispose();
  }, 60_000);
});

describe('the configuration of trusted documents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickwire-trusted-'));

  it('TRUSTED_DOCUMENTS is off by default, allow or only, and nothing else', () => {
    expect(loadServerConfig({}).trustedDocuments.mode).toBe('off');
    expect(loadServerConfig({ TRUSTED_DOCUMENTS: 'only' }).trustedDocuments.mode).toBe('only');
    expect(() => loadServerConfig({ TRUSTED_DOCUMENTS: 'strict' })).toThrow(/TRUSTED_DOCUMENTS/);
  });

  it("reads a team's manifests after the built-in one", () => {
    const file = join(dir, 'team.json');
    const text = 'query TeamRunners { runners { id } }';
    writeFileSync(file, JSON.stringify({ [documentHash(text)]: text }));
    const { manifests } = loadServerConfig({ TRUSTED_DOCUMENTS: 'only', TRUSTED_DOCUMENTS_FILES: file }).trustedDocuments;
    const trusted = new TrustedDocuments('only', manifests);
    expect(trusted.documentOf(documentHash(text))).toBe(text);
    expect(trusted.documentOf(LOG_EPOCH)).toBe(builtIn.documents[LOG_EPOCH]);
    // The draft's documentId form names the same document.
    expect(trusted.documentOf(`sha256:${documentHash(text)}`)).toBe(text);
  });

  it('refuses a manifest entry whose hash does not match its text, naming the file and the entry', () => {
    const file = join(dir, 'edited.json');
    const text = 'query TeamRunners { runners { id symbol } }';
    const stale = documentHash('query TeamRunners { runners { id } }');
    writeFileSync(file, JSON.stringify({ [stale]: text }));
    let error: unknown;
    try {
      loadServerConfig({ TRUSTED_DOCUMENTS: 'only', TRUSTED_DOCUMENTS_FILES: file });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('TRUSTED_DOCUMENTS_FILES');
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain(`entry "${stale}" does not match its document`);
  });

  it('npm start refuses a manifest entry that does not match its text: the message naming it, exit code 1', () => {
    const file = join(dir, 'edited-start.json');
    const stale = documentHash('query A { log { epoch } }');
    writeFileSync(file, JSON.stringify({ [stale]: 'query B { log { epoch } }' }));
    const result = spawnSync(process.execPath, entry('main'), {
      env: { ...process.env, TRUSTED_DOCUMENTS: 'only', TRUSTED_DOCUMENTS_FILES: file, PORT: '0', DATA_DIR: join(dir, 'data') },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`tickwire: invalid environment: TRUSTED_DOCUMENTS_FILES: trusted documents ${file}: entry "${stale}" does not match its document`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a manifest that cannot be read, or is not hash → text', () => {
    expect(() => loadServerConfig({ TRUSTED_DOCUMENTS_FILES: join(dir, 'missing.json') })).toThrow(/TRUSTED_DOCUMENTS_FILES: cannot read/);
    const file = join(dir, 'not-a-hash.json');
    writeFileSync(file, JSON.stringify({ runners: '{ runners { id } }' }));
    expect(() => loadServerConfig({ TRUSTED_DOCUMENTS_FILES: file })).toThrow(/entry "runners" is not a SHA-256 hash/);
  });
});
