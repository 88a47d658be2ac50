import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadRunnersFile } from '../../src/app/config.js';
import { publishScript, startTestServer, until, type TestServer } from './harness.js';
import { post, watch, type Watch } from './transports.js';

const dir = mkdtempSync(join(tmpdir(), 'tickwire-bad-'));
const badCsv = join(dir, 'bad.csv');
writeFileSync(badCsv, 'timestamp,open,high,low,close,volume,bid,ask\n1700000000000,1,2,0.5,1,1,0.9,1.1\nnot-a-number,1,2,0.5,1,1,0.9,1.1\n1700000000002,1,2,0.5,1,1,1.2,1.1\n');

let t: TestServer;
let bystander: Watch;
beforeAll(async () => {
  // Replay paths through the API are relative to REPLAY_DIR.
  t = await startTestServer({ replayDir: dir });
  // Another client, subscribed the whole time: it must keep being served.
  bystander = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["r1"]) { ... on Event { id } } }');
  await until(() => t.bus.subscriberCount === 1, 'the bystander');
});
afterAll(async () => {
  await bystander.close();
  await t.close();
});

/** GraphQL over HTTP: [name, query, variables, expected message]. */
const HTTP_CASES: readonly [string, string, Record<string, unknown> | undefined, RegExp][] = [
  ['invalid GraphQL', '{ runners { id ', undefined, /Syntax Error/],
  ['an unknown field', '{ runners { nope } }', undefined, /Cannot query field "nope" on type "Runner"/],
  ['an empty document', '', undefined, /Syntax Error|query/i],
  ['a wrong argument type', 'mutation { startRunner(input: { id: "x", symbol: 5 }) { id } }', undefined, /String cannot represent a non string value: 5/],
  ['a missing required argument', 'mutation { startRunner(input: { id: "x" }) { id } }', undefined, /symbol.*required|was not provided/],
  ['a variable of the wrong type', 'query ($id: ID!) { runner(id: $id) { id } }', { id: { nested: true } }, /Variable "\$id" got invalid value/],
  ['two anonymous operations', '{ runners { id } } { runners { symbol } }', undefined, /anonymous operation must be the only defined operation|Could not determine what operation to execute/],
  ['an unknown strategy', 'mutation { startRunner(input: { id: "b1", symbol: "X", strategy: "moon" }) { id } }', undefined, /unknown strategy "moon"/],
  ['an unknown strategy parameter', 'mutation { startRunner(input: { id: "b2", symbol: "X", params: [{ name: "speed", value: 1 }] }) { id } }', undefined, /unknown parameter "speed"/],
  ['a parameter out of range', 'mutation { startRunner(input: { id: "b3", symbol: "X", params: [{ name: "slowPeriod", value: 1e9 }] }) { id } }', undefined, /slowPeriod .* must be within/],
  ['an absurd tick rate', 'mutation { startRunner(input: { id: "b4", symbol: "X", feed: { ticksPerSecond: 1e12 } }) { id } }', undefined, /feed.ticksPerSecond/],
  ['a negative quantity', 'mutation { startRunner(input: { id: "b5", symbol: "X", quantity: -1 }) { id } }', undefined, /quantity/],
  ['a replay feed without a path', 'mutation { startRunner(input: { id: "b6", symbol: "X", feed: { kind: REPLAY } }) { id } }', undefined, /feed.path/],
  ['an id with spaces', 'mutation { startRunner(input: { id: "a b", symbol: "X" }) { id } }', undefined, /id: must be 1-64 characters/],
  ['stopping an unknown runner', 'mutation { stopRunner(id: "ghost") { id } }', undefined, /ghost/],
  ['a bad Timestamp', '{ eventHistory(from: "yesterday") { pageInfo { hasNextPage } } }', undefined, /Timestamp/],
  ['a huge list argument', 'query ($ids: [ID!]) { eventHistory(runnerIds: $ids) { pageInfo { hasNextPage } } }', { ids: Array.from({ length: 1001 }, (_, i) => `r${i}`) }, /./],
];

/** Subscriptions over graphql-ws: [name, arguments, expected message]. */
const SUBSCRIPTION_CASES: readonly [string, string, RegExp][] = [
  ['an unknown enum value', 'types: [TICKS]', /TICKS/],
  ['a list over 1000 entries', `symbols: [${Array.from({ length: 1001 }, () => '"X"').join(',')}]`, /symbols has 1001 entries/],
  ['a negative throttle', 'throttleMs: -5', /throttleMs must be within 1..60000, got -5/],
  ['an absurd throttle', 'throttleMs: 1000000000', /throttleMs must be within 1..60000/],
  ['a negative replay', 'replay: -1', /replay must be within/],
  ['a cursor that is not an id', 'after: "yesterday"', /after must be an event id/],
  ['replay and after together', 'replay: 3, after: "1"', /give replay or after, not both/],
  ['a severity of the wrong type', 'minSeverity: "ERROR"', /ErrorSeverity/],
];

describe('bad input is answered clearly and hurts nobody', () => {
  it('answers malformed JSON over HTTP with 400', async () => {
    const res = await fetch(t.server.urls.http, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/JSON/i);
  });

  it.each(HTTP_CASES)('over HTTP: %s', async (_, query, variables, message) => {
    const res = await post(t.server, query, variables);
    expect(res.errors?.length ?? 0).toBeGreaterThan(0);
    expect(res.errors!.map((e) => e.message).join(' | ')).toMatch(message);
  });

  it.each(SUBSCRIPTION_CASES)('in a subscription: %s', async (_, args, message) => {
    const w = watch('graphql-ws', t.server, `subscription { events(${args}) { __typename } }`);
    await w.settled();
    expect(JSON.stringify(w.errors)).toMatch(message);
    await w.close();
  });

  it.each([
    ['a message that is not JSON', (s: WebSocket) => s.send('{nope'), 4400],
    ['an unknown message type', (s: WebSocket) => s.send(JSON.stringify({ type: 'hello' })), 4400],
    ['subscribe before connection_init', (s: WebSocket) => s.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ runners { id } }' } })), 4401],
    ['a duplicate subscription id', (s: WebSocket) => {
      s.send(JSON.stringify({ type: 'connection_init' }));
      const sub = JSON.stringify({ id: 'same', type: 'subscribe', payload: { query: 'subscription { events { __typename } }' } });
      setTimeout(() => {
        s.send(sub);
        s.send(sub);
      }, 50);
    }, 4409],
    ['an oversized message', (s: WebSocket) => s.send('x'.repeat(100_000)), 1009],
  ] as const)('on graphql-ws: %s closes that connection only (%i)', async (_, misbehave, code) => {
    const socket = new WebSocket(t.server.urls.ws, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.once('close', (c) => resolve(c)));
    socket.once('open', () => misbehave(socket));
    expect(await closed).toBe(code);
  });

  it('on graphql-sse: a body that is not JSON, and a stream without its token', async () => {
    const bad = await fetch(t.server.urls.sse, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: '{nope' });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    const noToken = await fetch(t.server.urls.sse, { method: 'GET', headers: { accept: 'text/event-stream' } });
    expect(noToken.status).toBeGreaterThanOrEqual(400);
    expect(noToken.status).toBeLessThan(500);
  });

  it('a bad runners file names the key', () => {
    const file = join(dir, 'runners.yaml');
    writeFileSync(file, 'runners:\n  - id: ok\n    symbol: X\n    feed: { kind: simulated, ticksPerSecond: -3 }\n');
    expect(() => loadRunnersFile(file)).toThrow(/runners\.0\.feed\.ticksPerSecond/);
  });

  it('bad rows of a replay file become RunnerError events with file and line, and the runner goes on', async () => {
    const w = watch('graphql-ws', t.server, 'subscription { events(runnerIds: ["replayer"], types: [ERROR, TICK_RECEIVED]) { __typename ... on RunnerError { error } } }');
    await until(() => t.bus.subscriberCount === 2, 'the replay watcher');
    const started = await post(t.server, 'mutation ($path: String!) { startRunner(input: { id: "replayer", symbol: "X", feed: { kind: REPLAY, path: $path } }) { id } }', { path: 'bad.csv' });
    expect(started.errors).toBeUndefined();
    const items = (await w.take(3)).map((r) => (r.data as { events: { __typename: string; error?: string } }).events);
    expect(items[0]).toEqual({ __typename: 'TickReceived' });
    expect(items[1]?.error).toMatch(/bad feed row \(bad\.csv:3\): timestamp is not a finite number/);
    expect(items[2]?.error).toBe('bad feed row (bad.csv:4): bid is above ask');
    await w.close();
  });

  it('and the bystander was served all along', async () => {
    const before = bystander.results.length;
    publishScript(t.bus);
    await bystander.take(before + 4);
    expect(bystander.errors).toEqual([]);
  });
});
