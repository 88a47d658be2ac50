import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventBus } from '../../src/log/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { startServer } from '../../src/app/server.js';

describe('graphql-ws keep-alive', () => {
  it('pings live clients and drops one that stops answering', async () => {
    const bus = new EventBus();
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', keepAliveMs: 50 });
    try {
      const open = (autoPong: boolean) =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(server.urls.ws, 'graphql-transport-ws', { autoPong });
          socket.once('open', () => resolve(socket));
          socket.once('error', reject);
        });
      const alive = await open(true);
      const silent = await open(false);
      let pings = 0;
      alive.on('ping', () => pings++);
      const closed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
      // No pong to the first ping: terminated at the next round (no close frame: 1006).
      expect(await closed).toBe(1006);
      // The live one was pinged on those rounds too, and answered: it stays.
      await new Promise<void>((resolve) => {
        if (pings >= 2) resolve();
        else alive.on('ping', () => pings >= 2 && resolve());
      });
      expect(alive.readyState).toBe(WebSocket.OPEN);
      alive.close();
    } finally {
      await server.close();
    }
  });

  /** Spins for `ms`: the deliberate stall of a server too busy to read its sockets. */
  const stall = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // busy
    }
  };

  it.each([
    // The pong is written already (autoPong answers before the event); the server reads
    // it only once the loop runs again, after its timer came due.
    ['after the client answered', 'client'],
    // The ping is on its way: the client (on this loop too) answers only after the stall,
    // so the pong arrives after the late round has begun.
    ['right after the server pinged', 'server'],
  ] as const)('keeps a healthy client whose pong was late because the server stalled %s', async (_when, where) => {
    const bus = new EventBus();
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', keepAliveMs: 100 });
    try {
      let serverPings = 0;
      if (where === 'server') {
        server.ws!.wss.once('connection', (peer) => {
          const ping = peer.ping.bind(peer);
          peer.ping = (...args: Parameters<WebSocket['ping']>) => {
            ping(...args);
            if (++serverPings === 2) stall(400);
          };
        });
      }
      const socket = await new Promise<WebSocket>((resolve, reject) => {
        const s = new WebSocket(server.urls.ws, 'graphql-transport-ws');
        s.once('open', () => resolve(s));
        s.once('error', reject);
      });
      let pings = 0;
      const enough = new Promise<void>((resolve, reject) => {
        socket.once('close', (code) => reject(new Error(`the healthy client was dropped (close ${code})`)));
        socket.on('ping', () => {
          pings++;
          if (where === 'client' && pings === 2) stall(400);
          // Three more rounds after the stall, each answered: the client stays.
          if (pings >= 5) resolve();
        });
      });
      await enough;
      expect(socket.readyState).toBe(WebSocket.OPEN);
      socket.close();
    } finally {
      await server.close();
    }
  });

  /** Holds everything the server writes to its next connection in its own buffer (corked), as a loop too busy to write would. */
  const holdWrites = (server: Awaited<ReturnType<typeof startServer>>): Promise<Socket> =>
    new Promise((resolve) =>
      server.ws!.wss.once('connection', (peer) => {
        const raw = (peer as unknown as { _socket: Socket })._socket;
        raw.cork();
        resolve(raw);
      }),
    );

  it('keeps a healthy client whose ping was held in the server\'s own send buffer for longer than an interval', async () => {
    const bus = new EventBus();
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', keepAliveMs: 100 });
    try {
      const held = holdWrites(server);
      const socket = new WebSocket(server.urls.ws, 'graphql-transport-ws');
      const dropped = new Promise<never>((_, reject) => socket.once('close', (code) => reject(new Error(`the healthy client was dropped (close ${code})`))));
      dropped.catch(() => undefined);
      const raw = await held;
      // Two to three rounds pass while the first ping waits behind our own writes: the peer
      // cannot answer what it never got.
      const heldAt = performance.now();
      await Promise.race([dropped, until(() => performance.now() - heldAt > 250)]);
      raw.uncork();
      let pings = 0;
      await Promise.race([
        dropped,
        new Promise<void>((resolve) =>
          socket.on('ping', () => {
            // The held ping, then three more rounds, each answered: the client stays.
            if (++pings >= 4) resolve();
          }),
        ),
      ]);
      expect(socket.readyState).toBe(WebSocket.OPEN);
      socket.close();
    } finally {
      await server.close();
    }
  });

  it('drops a client whose ping never leaves the server because it reads nothing', async () => {
    const bus = new EventBus();
    const server = await startServer({ engine: new TradingEngine(bus), bus, port: 0, host: '127.0.0.1', keepAliveMs: 50 });
    try {
      const held = holdWrites(server);
      const socket = new WebSocket(server.urls.ws, 'graphql-transport-ws');
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      await held;
      // Never uncorked: after a few on-time rounds the peer is taken for gone.
      expect(await closed).toBe(1006);
    } finally {
      await server.close();
    }
  });
});

/** Polls until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
