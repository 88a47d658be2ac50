import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/** A TCP proxy in front of a server, which a test can cut and restore. */
export interface TcpProxy {
  readonly port: number;
  /** Times `cut` was called. */
  readonly cuts: number;
  /** Drops every connection; with `refuse`, new ones are dropped too until `restore`. */
  cut(refuse?: boolean): void;
  restore(): void;
  /** Sends new connections to another port (a server that took over); open ones stay. */
  retarget(port: number): void;
  /**
   * Holds back what the server sends on every open connection, for as long as it stays
   * open (what clients send still goes through): commands run, their replies never come.
   */
  holdReplies(): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 to `targetPort` there. */
export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  /** Each connection's server side and client side, for holding replies. */
  const pairs = new Map<Socket, Socket>();
  let refusing = false;
  let cuts = 0;
  let target = targetPort;
  const server: Server = createServer((client) => {
    client.on('error', () => undefined);
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    upstream.on('error', () => undefined);
    upstream.connect(target, targetHost);
    client.pipe(upstream).pipe(client);
    pairs.set(upstream, client);
    upstream.on('close', () => pairs.delete(upstream));
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    get cuts() {
      return cuts;
    },
    cut: (refuse = false) => {
      cuts++;
      refusing = refuse;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      refusing = false;
    },
    retarget: (port) => {
      target = port;
    },
    holdReplies: () => {
      for (const [upstream, client] of pairs) {
        upstream.unpipe(client);
        upstream.pause();
      }
    },
    close: () => {
      refusing = true;
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
