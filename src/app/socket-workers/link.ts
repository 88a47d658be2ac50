import { GraphQLError } from 'graphql';
import { EngineError } from '../../engine/config.js';
import type { EngineControl, RunnerInfo } from '../../engine/engine.js';
import { CODE, errorFromWire, graphqlError } from '../../graphql/errors.js';
import type { Principal } from '../../graphql/schema/principal.js';
import type { Db } from '../../store/db.js';
import type { StreamTransport, Ticket } from '../../graphql/admission.js';
import type { Answer, Call, FromWorker } from './protocol.js';

/** The IPC channel of a worker process: what it needs of `process`. */
export interface Channel {
  send(message: FromWorker): void;
  readonly connected: boolean;
}

/**
 * A socket worker's calls on the primary (engine, store, quota ledger): each a message
 * answered by the primary. The primary is on the same machine and answers every call;
 * when the channel closes (the primary died), every call waiting is rejected.
 */
export class PrimaryLink {
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  private next = 1;

  constructor(private readonly channel: Channel) {}

  /** Takes the primary's answer to call `id`. */
  answered(id: number, answer: Answer): void {
    const waiting = this.waiting.get(id);
    if (waiting === undefined) return;
    this.waiting.delete(id);
    if (answer.ok) waiting.resolve(answer.value);
    else waiting.reject(errorFromWire(answer));
  }

  /** Rejects every call waiting: the primary is gone. */
  disconnected(): void {
    for (const waiting of this.waiting.values()) waiting.reject(new EngineError(CODE.ENGINE_UNAVAILABLE, 'the server process is gone'));
    this.waiting.clear();
  }

  /** Makes a call and waits for its answer. */
  call<T>(call: Call): Promise<T> {
    if (!this.channel.connected) return Promise.reject(new EngineError(CODE.ENGINE_UNAVAILABLE, 'the server process is gone'));
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.channel.send({ kind: 'call', id, call });
    });
  }

  /**
   * A place in the server's one quota ledger for a stream of `principal`, or the error that
   * refuses it; the ticket gives the place back.
   */
  async admit(principal: Principal, transport: StreamTransport, clientAddress: string | undefined): Promise<Ticket | GraphQLError> {
    let number: number;
    try {
      number = await this.call<number>({ op: 'admit', principal: { id: principal.id, name: principal.name, role: principal.role, runners: principal.runners }, transport, clientAddress });
    } catch (err) {
      if (err instanceof GraphQLError) return err;
      return graphqlError(CODE.ENGINE_UNAVAILABLE, `the subscription could not be admitted: ${(err as Error).message}`);
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (this.channel.connected) this.channel.send({ kind: 'release', ticket: number });
      },
    };
  }
}

/** The primary's engine, as a worker's queries and mutations see it. */
export class LinkedEngine implements EngineControl {
  constructor(private readonly link: PrimaryLink) {}

  addRunner(input: unknown): Promise<RunnerInfo> {
    return this.link.call({ op: 'addRunner', input });
  }

  stopRunner(id: string, reason?: string): Promise<RunnerInfo> {
    return this.link.call({ op: 'stopRunner', id, reason });
  }

  getRunner(id: string): Promise<RunnerInfo | undefined> {
    return this.link.call({ op: 'getRunner', id });
  }

  listRunners(): Promise<readonly RunnerInfo[]> {
    return this.link.call({ op: 'listRunners' });
  }
}

/** The primary's database, for a worker's history queries: reads only. */
export class LinkedDb implements Db {
  constructor(
    private readonly link: PrimaryLink,
    readonly kind: Db['kind'],
    readonly description: string,
  ) {}

  async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }> {
    return { rows: await this.link.call<R[]>({ op: 'query', sql, params }) };
  }

  /** The primary reads with its query timeout: its StoreTimeoutError arrives as one. */
  async read<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }> {
    return { rows: await this.link.call<R[]>({ op: 'read', sql, params }) };
  }

  exec(): Promise<void> {
    return Promise.reject(new Error('a socket worker does not change the store'));
  }

  async close(): Promise<void> {}
}
