import { GraphQLError } from 'graphql';
import { EngineError } from '../../engine/config.js';
import type { EngineControl, RunnerInfo } from '../../engine/engine.js';
import { CODE, errorFromWire, graphqlError, type ErrorWire } from '../../graphql/errors.js';
import type { Principal } from '../../graphql/schema/principal.js';
import type { Db } from '../../store/db.js';
import type { StreamTransport, Ticket } from '../../graphql/admission.js';
import { Channel } from '../../runtime/channel.js';
import type { Answer, Call, CallAnswers, FromWorker } from './protocol.js';

/** The IPC channel of a worker process: what it needs of `process`. */
export interface Ipc {
  send(message: FromWorker): void;
  readonly connected: boolean;
}

/** What every call waiting, and every later one, fails with once the primary is gone. */
const gone = (): EngineError => new EngineError(CODE.ENGINE_UNAVAILABLE, 'the server process is gone');

/**
 * A socket worker's calls on the primary (engine, store, quota ledger): each a message
 * answered by the primary. The primary is on the same machine and answers every call;
 * when the channel closes (the primary died), every call waiting is rejected.
 */
export class PrimaryLink {
  private readonly calls: Channel<Call, CallAnswers, ErrorWire>;

  constructor(private readonly ipc: Ipc) {
    this.calls = new Channel({ name: 'the server process', post: (id, call) => ipc.send({ kind: 'call', id, call }), fromWire: (error: ErrorWire) => errorFromWire(error) });
  }

  /** Takes the primary's answer to call `id`. */
  answered(id: number, answer: Answer): void {
    this.calls.settle(id, answer);
  }

  /** Rejects every call waiting, and every later one: the primary is gone. */
  disconnected(): void {
    this.calls.close(gone());
  }

  /** Makes a call and waits for its answer. */
  call<C extends Call>(call: C): Promise<CallAnswers[C['op']]> {
    if (!this.ipc.connected) this.calls.close(gone());
    return this.calls.call(call);
  }

  /**
   * A place in the server's one quota ledger for a stream of `principal`, or the error that
   * refuses it; the ticket gives the place back.
   */
  async admit(principal: Principal, transport: StreamTransport, clientAddress: string | undefined): Promise<Ticket | GraphQLError> {
    let number: number;
    try {
      number = await this.call({ op: 'admit', principal: { id: principal.id, name: principal.name, role: principal.role, runners: principal.runners }, transport, clientAddress });
    } catch (err) {
      if (err instanceof GraphQLError) return err;
      return graphqlError(CODE.ENGINE_UNAVAILABLE, `the subscription could not be admitted: ${(err as Error).message}`);
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (this.ipc.connected) this.ipc.send({ kind: 'release', ticket: number });
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
    return { rows: (await this.link.call({ op: 'query', sql, params })) as R[] };
  }

  /** The primary reads with its query timeout: its StoreTimeoutError arrives as one. */
  async read<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[] }> {
    return { rows: (await this.link.call({ op: 'read', sql, params })) as R[] };
  }

  exec(): Promise<void> {
    return Promise.reject(new Error('a socket worker does not change the store'));
  }

  async close(): Promise<void> {}
}
