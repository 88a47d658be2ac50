import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventBus } from '../../src/bus/bus.js';
import { TradingEngine } from '../../src/engine/engine.js';
import { startServer } from '../../src/server/server.js';

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
});
