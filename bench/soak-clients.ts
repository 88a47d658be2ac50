/**
 * The soak's clients (bench/soak.ts): graphql-ws over plain `ws` (so a close can be clean
 * or abrupt), SSE over fetch for graphql-sse's distinct connections and Yoga's SSE, and
 * the checks every stream goes through: order, duplicates and loss that no StreamGap (or
 * a batch's `dropped`) announced.
 */
import WebSocket from 'ws';

/** One item of a stream, as the checks see it. */
export type Item =
  | { readonly kind: 'event'; readonly id: number; readonly runnerId: string; readonly type: string }
  | { readonly kind: 'gap'; readonly missed: number | null; readonly fromId: number | null; readonly toId: number | null };

/** The selection every soak stream asks for. */
export const SELECTION = '__typename ... on Event { id runnerId type } ... on StreamGap { missed fromId toId reason }';

/** High-frequency types: the only ones conflated by `throttleMs` and by age. */
export const HIGH_FREQUENCY = new Set(['TICK_RECEIVED', 'POSITION_UPDATED']);

/** One raw union member as it arrives in a `next` payload. */
interface RawMember {
  readonly __typename: string;
  readonly id?: string;
  readonly runnerId?: string;
  readonly type?: string;
  readonly missed?: number | null;
  readonly fromId?: string | null;
  readonly toId?: string | null;
}

const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));

/** A union member to an {@link Item}. */
export function itemOf(raw: RawMember): Item {
  if (raw.__typename === 'StreamGap') return { kind: 'gap', missed: raw.missed ?? null, fromId: num(raw.fromId), toId: num(raw.toId) };
  return { kind: 'event', id: Number(raw.id), runnerId: raw.runnerId ?? '', type: raw.type ?? '' };
}

/** The items of one `next` payload: `events` (one member) or `eventBatches` (several, and `dropped`). */
export function itemsOf(payload: unknown): { items: Item[]; dropped: number; errors: string[] } {
  const body = payload as { data?: { events?: RawMember; eventBatches?: { events: RawMember[]; dropped: number } } | null; errors?: { message: string }[] };
  const errors = (body.errors ?? []).map((e) => e.message);
  const data = body.data;
  if (data?.events !== undefined) return { items: [itemOf(data.events)], dropped: 0, errors };
  if (data?.eventBatches !== undefined) return { items: data.eventBatches.events.map(itemOf), dropped: data.eventBatches.dropped, errors };
  return { items: [], dropped: 0, errors };
}

/** What one stream (or a resumed chain of them) counted. */
export interface StreamCounts {
  events: number;
  gaps: number;
  /** Events skipped that StreamGaps or `dropped` announced. */
  announced: number;
  /** Ids skipped that nothing announced (only counted where every event is expected: unfiltered streams). */
  unannounced: number;
  duplicates: number;
  outOfOrder: number;
  errors: number;
}

/** Checks one logical stream as items arrive; `contiguous` for unfiltered streams, where every id must come. */
export class StreamCheck {
  readonly counts: StreamCounts = { events: 0, gaps: 0, announced: 0, unannounced: 0, duplicates: 0, outOfOrder: 0, errors: 0 };
  /** Last event id seen (0: none yet). */
  last = 0;
  first = 0;
  private expectNext: number | null = null;
  private allowance = 0;
  /** Ids received (for the cross-check of filtered streams), when kept. */
  readonly ids: number[] | null;

  /** Ids seen, for duplicates where the order is not the log's (`throttleMs` holds high-frequency events to the end of a window while others pass). */
  private readonly unorderedSeen: Set<number> | null;

  constructor(
    readonly name: string,
    readonly contiguous: boolean,
    options: { readonly keepIds?: boolean; readonly ordered?: boolean } = {},
  ) {
    this.ids = options.keepIds === true ? [] : null;
    this.unorderedSeen = options.ordered === false ? new Set() : null;
  }

  /** Loss that a batch's `dropped` announced. */
  dropped(n: number): void {
    if (n <= 0) return;
    this.counts.announced += n;
    this.allowance += n;
  }

  add(item: Item): void {
    if (item.kind === 'gap') {
      this.counts.gaps++;
      if (item.missed !== null) this.counts.announced += item.missed;
      if (item.toId !== null) this.expectNext = item.toId + 1;
      else if (item.missed === null) this.expectNext = null;
      else this.allowance += item.missed;
      return;
    }
    const { id } = item;
    if (this.unorderedSeen !== null) {
      if (this.unorderedSeen.has(id)) {
        this.counts.duplicates++;
        return;
      }
      this.unorderedSeen.add(id);
      this.counts.events++;
      this.first = this.first === 0 ? id : Math.min(this.first, id);
      this.last = Math.max(this.last, id);
      this.ids?.push(id);
      return;
    }
    if (id === this.last) {
      this.counts.duplicates++;
      return;
    }
    if (id < this.last) {
      this.counts.outOfOrder++;
      return;
    }
    this.counts.events++;
    if (this.first === 0) this.first = id;
    if (this.contiguous && this.expectNext !== null && id > this.expectNext) {
      const jump = id - this.expectNext;
      const covered = Math.min(jump, this.allowance);
      this.allowance -= covered;
      this.counts.unannounced += jump - covered;
    }
    this.expectNext = id + 1;
    this.last = id;
    this.ids?.push(id);
  }
}

/** A graphql-transport-ws connection over plain `ws`. */
export class WsConnection {
  private readonly handlers = new Map<string, (payload: unknown) => void>();
  private readonly ended = new Map<string, (why: string) => void>();
  private nextId = 1;
  closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', () => {
      this.closed = true;
      for (const end of this.ended.values()) end('connection closed');
    });
    ws.on('error', () => undefined);
  }

  /** Opens a connection and waits for `connection_ack`. */
  static open(url: string, timeoutMs = 30_000): Promise<WsConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'graphql-transport-ws');
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('no connection_ack'));
      }, timeoutMs);
      ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: {} })));
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.once('close', () => {
        clearTimeout(timer);
        reject(new Error('closed before connection_ack'));
      });
      const onAck = (data: WebSocket.RawData) => {
        if ((JSON.parse(String(data)) as { type: string }).type !== 'connection_ack') return;
        clearTimeout(timer);
        ws.off('message', onAck);
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        resolve(new WsConnection(ws));
      };
      ws.on('message', onAck);
    });
  }

  private onMessage(text: string): void {
    const msg = JSON.parse(text) as { type: string; id?: string; payload?: unknown };
    if (msg.type === 'ping') return this.ws.send(JSON.stringify({ type: 'pong' }));
    if (msg.id === undefined) return;
    if (msg.type === 'next') this.handlers.get(msg.id)?.(msg.payload);
    else if (msg.type === 'error' || msg.type === 'complete') {
      this.ended.get(msg.id)?.(msg.type === 'error' ? `error: ${JSON.stringify(msg.payload)}` : 'complete');
      this.handlers.delete(msg.id);
      this.ended.delete(msg.id);
    }
  }

  /** Subscribes; `onNext` gets each payload, `onEnd` why it ended (the server's error, its complete, the connection's close). */
  subscribe(query: string, variables: Record<string, unknown>, handlers: { onNext: (payload: unknown) => void; onEnd?: (why: string) => void }): string {
    const id = String(this.nextId++);
    this.handlers.set(id, handlers.onNext);
    this.ended.set(id, handlers.onEnd ?? (() => undefined));
    this.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    return id;
  }

  /** Clean: `complete` for every subscription, then close 1000; abrupt: the TCP connection is dropped. */
  close(clean: boolean): void {
    if (this.closed) return;
    if (clean) {
      for (const id of this.handlers.keys()) this.ws.send(JSON.stringify({ id, type: 'complete' }));
      this.ws.close(1000);
    } else {
      this.ws.terminate();
    }
  }
}

/**
 * An SSE subscription over fetch: graphql-sse's distinct connections mode
 * (`/graphql/stream`) or Yoga's (`/graphql`); both send `event: next` with the result as
 * `data`. Resolves when the stream ends (the server's complete, an abort, an error).
 */
export async function sseSubscribe(url: string, query: string, variables: Record<string, unknown>, options: { signal: AbortSignal; onNext: (payload: unknown) => void }): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query, variables }),
      signal: options.signal,
    });
  } catch (err) {
    return `fetch failed: ${(err as Error).message}`;
  }
  if (res.status !== 200 || res.body === null) return `status ${res.status}: ${await res.text().catch(() => '')}`;
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        if (event === 'complete') return 'complete';
        if (data !== '' && (event === 'next' || event === 'message')) options.onNext(JSON.parse(data));
      }
    }
    return 'ended';
  } catch (err) {
    return options.signal.aborted ? 'aborted' : `stream failed: ${(err as Error).message}`;
  }
}
