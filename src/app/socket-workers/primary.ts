import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { serialize } from 'node:v8';
import { GraphQLError } from 'graphql';
import type { EventBus } from '../../log/bus.js';
import { snapshotRunner, type EngineControl, type RunnerInfo } from '../../engine/engine.js';
import { isHighFrequency } from '../../events/helpers.js';
import { startProcess, workerModule } from '../../runtime/thread.js';
import type { Principal } from '../../graphql/schema/principal.js';
import type { Db } from '../../store/db.js';
import { errorToWire } from '../../graphql/errors.js';
import type { Admission, Ticket } from '../../graphql/admission.js';
import type { SharedExecutionStats } from '../../graphql/shared-execution.js';
import { MAX_WORKERS, type Answer, type BatchItem, type Call, type CallAnswers, type FromWorker, type PrincipalRef, type ToWorker, type WorkerReport, type WorkerSettings } from './protocol.js';

/**
 * Bytes of entries a worker may have unread before it is sent only the entries that are
 * never dropped (standard and critical): its subscribers then see a StreamGap where the
 * ticks and marks it missed would have been, and the primary's memory stays bounded.
 */
export const WORKER_BACKLOG_BYTES = 64 * 1024 * 1024;

/** How long a worker has to start before the server gives up (it loads the schema). */
const START_TIMEOUT_MS = 60_000;

/** Most history entries a (re)started worker is sent to start its own history with. */
const HELLO_HISTORY = 100_000;

/** Restarts of a worker that died wait this long, doubling up to 30 s while it keeps dying. */
const RESTART_DELAY_MS = 500;

/** Where a socket worker process starts. */
const WORKER_MAIN = workerModule('./worker-main.js', import.meta.url);

/** What {@link SocketWorkers} needs of the server process. */
export interface SocketWorkersOptions {
  /** How many worker processes serve graphql-ws connections (1..{@link MAX_WORKERS}). */
  readonly count: number;
  /** The log they mirror. */
  readonly bus: EventBus;
  /** The engine their queries and mutations reach. */
  readonly engine: EngineControl;
  /** The database behind their history queries, or null when there is none. */
  readonly db: Db | null;
  /** The one quota ledger of the server: a token's streams are counted across every worker. */
  readonly admission: Admission;
  /** What the workers serve their connections with. */
  readonly settings: WorkerSettings;
  /** Told of workers that die and restart. */
  readonly log: (line: string) => void;
  /** Unread bytes past which a worker is sent only standard and critical entries (default {@link WORKER_BACKLOG_BYTES}). */
  readonly backlogBytes?: number;
  /**
   * The workers are started only once this settles (default: at once). Tests hold them
   * back with it, to see the server serve graphql-ws itself before any worker is up.
   */
  readonly hold?: Promise<unknown>;
}

/** One worker process and what the primary holds for it. */
class Slot {
  child: ChildProcess | null = null;
  /** Sent `hello`: it receives entries from now on. */
  live = false;
  /** Connections it reported, plus those handed to it since. */
  connections = 0;
  report: WorkerReport | null = null;
  /** Quota places it holds, by ticket number. */
  readonly tickets = new Map<number, Ticket>();
  /** Entry bytes sent and not yet read (acknowledged by its reports). */
  unread = 0;
  restarts = 0;

  constructor(readonly index: number) {}
}

const EMPTY_SHARED: SharedExecutionStats = { cohorts: 0, members: 0, executions: 0, deliveries: 0, expired: 0, executionsSaved: 0 };

/**
 * The socket workers of a server (WORKERS): child processes that serve graphql-ws
 * connections, each with a bus of its own that mirrors this process's log, so the
 * per-subscriber work (filters, queues, executions, serialization, socket writes) is
 * spread over every core while the engine, the log and the store stay in one process.
 *
 * - The HTTP server stays here: every graphql-ws upgrade it accepts is handed, socket and
 *   all, to the worker with the fewest connections; while no worker serves (starting, or
 *   all restarting) {@link SocketWorkers.handOff} declines and the server serves it itself.
 * - Starting them never holds the server back: {@link SocketWorkers.start} returns at once,
 *   and a worker that fails to start is started again, as one that dies.
 * - Every entry of the log reaches every worker in order, in one `v8.serialize` per
 *   batch (one turn of this event loop) made once for all of them. A worker more than
 *   {@link WORKER_BACKLOG_BYTES} behind gets only standard and critical entries until it
 *   catches up; its subscribers see a StreamGap for the rest.
 * - Queries and mutations of a worker's connections run against this process's engine and
 *   database, and its subscriptions take their places in this process's quota ledger.
 * - A worker that dies is started again (its clients reconnect and resume); the places it
 *   held are given back.
 */
export class SocketWorkers {
  private readonly slots: Slot[];
  private pending: BatchItem[] = [];
  private flushing = false;
  private nextTicket = 1;
  private closing = false;
  /** Set by `start`: from then on a worker that dies (or fails to start) is started again. */
  private serving = false;
  /** Told once every worker serves (see {@link ready}). */
  private waiters: (() => void)[] = [];
  private readonly untap: () => void;

  constructor(private readonly options: SocketWorkersOptions) {
    if (!Number.isInteger(options.count) || options.count < 1 || options.count > MAX_WORKERS) {
      throw new RangeError(`count must be a whole number from 1 to ${MAX_WORKERS}, got ${options.count}`);
    }
    this.slots = Array.from({ length: options.count }, (_, i) => new Slot(i));
    this.untap = options.bus.tap({
      appended: (entry) => this.queue(entry),
      advanced: (id) => this.queue(id),
      // In order with the entries: those before it belong to the old epoch, those after to the new.
      restarted: (epoch, lastId) => this.queue({ restart: epoch, lastId }),
    });
  }

  /**
   * Starts every worker, in the background: returns at once, so that the server listens
   * and answers (graphql-ws included, served by itself) while the workers load the schema,
   * which takes seconds each on a busy machine. A worker that cannot start is logged and
   * started again later, with the same back-off as one that dies. See {@link ready}.
   */
  start(): void {
    if (this.serving || this.closing) return;
    this.serving = true;
    const spawnAll = () => {
      if (this.closing) return;
      for (const slot of this.slots) this.spawn(slot).catch((err: Error) => this.closing || this.options.log(`tickwire: ${err.message}`));
    };
    if (this.options.hold === undefined) spawnAll();
    else void this.options.hold.then(spawnAll, spawnAll);
  }

  /** Resolves once every worker serves at the same time (now, if they do): for tests and benches. */
  ready(): Promise<void> {
    if (this.running === this.slots.length) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Workers serving now. */
  get running(): number {
    return this.slots.filter((s) => s.live).length;
  }

  /** Bytes of entries each worker has not read yet (as of its last report), by worker. */
  get unreadBytes(): number[] {
    return this.slots.map((s) => s.unread);
  }

  /** Process ids of the workers serving now. */
  get pids(): number[] {
    return this.slots.flatMap((s) => (s.live && s.child?.pid !== undefined ? [s.child.pid] : []));
  }

  /**
   * Connections of each serving worker by process id: counted as they are handed over,
   * set again by each worker's report (once a second).
   */
  get connectionsByPid(): ReadonlyMap<number, number> {
    return new Map(this.slots.flatMap((s) => (s.live && s.child?.pid !== undefined ? [[s.child.pid, s.connections] as const] : [])));
  }

  /** How many workers there are. */
  get count(): number {
    return this.slots.length;
  }

  /**
   * Hands an accepted graphql-ws upgrade to the live worker with the fewest connections,
   * and returns true. With none live (still starting, or all restarting) it returns false
   * and leaves the socket alone: the caller serves the connection itself.
   */
  handOff(req: IncomingMessage, socket: Socket, head: Buffer): boolean {
    let target: Slot | null = null;
    for (const slot of this.slots) if (slot.live && slot.child?.connected === true && (target === null || slot.connections < target.connections)) target = slot;
    if (target === null || target.child === null) return false;
    // Until the worker holds it, this process owns the socket and every error on it: a
    // reset while it waits here, or while it is sent, costs this connection only.
    socket.on('error', () => socket.destroy());
    if (socket.destroyed) return true;
    target.connections++;
    const message: ToWorker = { kind: 'upgrade', method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, head: new Uint8Array(head) };
    // Nothing more is read here: the worker's WebSocket reads from where the HTTP parser stopped (`head`).
    socket.pause();
    // Once sent, the worker holds its own descriptor: this process's copy goes, which also
    // lets the HTTP server's count of open connections (what `close` waits for) drop it.
    const slot = target;
    // A socket reset before it left, or a channel that broke meanwhile, fails the send: the
    // worker never got it, so this process closes it and takes back its count.
    const sent = (err: Error | null) => {
      if (err != null) slot.connections = Math.max(0, slot.connections - 1);
      socket.destroy();
    };
    try {
      target.child.send(message, socket, { keepOpen: true }, sent);
    } catch (err) {
      sent(err as Error);
    }
    return true;
  }

  /** Counters of every worker's last report, summed, for /metrics. */
  totals(): Omit<WorkerReport, 'read'> {
    let sum: Omit<WorkerReport, 'read'> = {
      connections: 0,
      subscribers: 0,
      queued: 0,
      delivered: new Map(),
      dropped: new Map(),
      expired: new Map(),
      sharedExecution: EMPTY_SHARED,
      sharedExecutionExpired: new Map(),
    };
    for (const slot of this.slots) {
      const r = slot.report;
      if (r === null) continue;
      sum = {
        connections: sum.connections + r.connections,
        subscribers: sum.subscribers + r.subscribers,
        queued: sum.queued + r.queued,
        delivered: sumCounts(sum.delivered, r.delivered),
        dropped: sumCounts(sum.dropped, r.dropped),
        expired: sumCounts(sum.expired, r.expired),
        sharedExecution: sumShared(sum.sharedExecution, r.sharedExecution),
        sharedExecutionExpired: sumCounts(sum.sharedExecutionExpired, r.sharedExecutionExpired),
      };
    }
    return sum;
  }

  /**
   * Ends every worker's subscriptions after what they have queued (the last entries sent
   * first), closes their sockets with 1001 and lets the workers go; within `timeoutMs`,
   * after which they are killed.
   */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    // Nobody waits for workers that will not come.
    for (const resolve of this.waiters.splice(0)) resolve();
    this.flush();
    this.untap();
    await Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child;
        if (child === null || child.exitCode !== null || child.signalCode !== null) return;
        // Gone means exited and disconnected: until the channel closes, the HTTP server's
        // `close` still asks the worker about the sockets it was sent, and would wait forever.
        const exited = Promise.all([
          new Promise<void>((resolve) => child.once('exit', () => resolve())),
          child.connected ? new Promise<void>((resolve) => child.once('disconnect', () => resolve())) : null,
        ]);
        // One still starting holds no connection, and may not listen for `close` yet.
        if (!slot.live) child.kill('SIGKILL');
        else if (child.connected) child.send({ kind: 'close' } satisfies ToWorker);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private queue(item: BatchItem): void {
    this.pending.push(item);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what the log gained since the last batch to every live worker: serialized once. */
  private flush(): void {
    this.flushing = false;
    const items = this.pending;
    if (items.length === 0) return;
    this.pending = [];
    const epoch = this.options.bus.epoch;
    const sentAt = Date.now();
    let all: Uint8Array | null = null;
    let kept: Uint8Array | null = null;
    for (const slot of this.slots) {
      if (!slot.live || slot.child?.connected !== true) continue;
      const partial = slot.unread >= (this.options.backlogBytes ?? WORKER_BACKLOG_BYTES);
      const bytes = partial ? (kept ??= serialize(items.filter((item) => typeof item === 'number' || !('event' in item) || !isHighFrequency(item.event)))) : (all ??= serialize(items));
      slot.unread += bytes.byteLength;
      slot.child.send({ kind: 'entries', epoch, bytes, partial, sentAt } satisfies ToWorker);
    }
  }

  private spawn(slot: Slot): Promise<void> {
    const child = startProcess(WORKER_MAIN, {
      env: { ...process.env, TICKWIRE_WORKER_INDEX: String(slot.index) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    slot.child = child;
    slot.live = false;
    slot.connections = 0;
    slot.report = null;
    slot.unread = 0;
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`socket worker ${slot.index} did not start within ${START_TIMEOUT_MS / 1000} s`));
        child.kill('SIGKILL');
      }, START_TIMEOUT_MS);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`socket worker ${slot.index} exited while starting (${signal ?? `code ${code}`})`));
      });
      child.on('message', (message: FromWorker) => {
        if (message.kind === 'ready') {
          clearTimeout(timer);
          this.greet(slot);
          resolve();
          return;
        }
        this.receive(slot, message);
      });
    });
    // A send to a worker that just died fails with EPIPE as an 'error' event: unheard, it
    // would take this process down. Its 'exit' follows and restarts it.
    child.on('error', (err) => this.options.log(`tickwire: socket worker ${slot.index}: ${err.message}`));
    child.once('exit', (code, signal) => this.lost(slot, child, code, signal));
    return started;
  }

  /** Sends a worker the log so far and starts feeding it, in one synchronous step. */
  private greet(slot: Slot): void {
    const bus = this.options.bus;
    // Entries queued for the next batch are in the history too; the worker skips those it has.
    const history = bus.recent(undefined, HELLO_HISTORY);
    slot.child?.send({ kind: 'hello', epoch: bus.epoch, lastId: bus.lastId, history, latest: bus.latestEntries(), settings: this.options.settings, store: this.options.db === null ? null : { kind: this.options.db.kind, description: this.options.db.description } } satisfies ToWorker);
    slot.live = true;
    slot.restarts = 0;
    if (this.running === this.slots.length) for (const resolve of this.waiters.splice(0)) resolve();
  }

  private receive(slot: Slot, message: FromWorker): void {
    switch (message.kind) {
      case 'call':
        void this.answer(slot, message.call).then((answer) => {
          if (slot.child?.connected === true) slot.child.send({ kind: 'answer', id: message.id, answer } satisfies ToWorker);
        });
        return;
      case 'release':
        slot.tickets.get(message.ticket)?.release();
        slot.tickets.delete(message.ticket);
        return;
      case 'report':
        slot.report = message.report;
        slot.connections = message.report.connections;
        slot.unread = Math.max(0, slot.unread - message.report.read);
        return;
      case 'ready':
      case 'closed':
        return;
    }
  }

  private async answer(slot: Slot, call: Call): Promise<Answer> {
    try {
      return { ok: true, value: await this.execute(slot, call) };
    } catch (err) {
      return { ok: false, error: errorToWire(err) };
    }
  }

  /** What a worker's call answers (runners as their snapshots, which cross as plain data). */
  private async execute(slot: Slot, call: Call): Promise<CallAnswers[Call['op']]> {
    const { engine, db, admission } = this.options;
    switch (call.op) {
      case 'addRunner':
        return snapshotRunner(await engine.addRunner(call.input));
      case 'stopRunner':
        return snapshotRunner(await engine.stopRunner(call.id, call.reason));
      case 'getRunner': {
        const runner = await engine.getRunner(call.id);
        return runner === undefined ? undefined : snapshotRunner(runner);
      }
      case 'listRunners':
        return (await engine.listRunners()).map((r: RunnerInfo) => snapshotRunner(r));
      case 'query':
        if (db === null) throw new Error('no event store');
        return (await db.query(call.sql, call.params)).rows;
      case 'read':
        if (db === null) throw new Error('no event store');
        return (await db.read(call.sql, call.params)).rows;
      case 'admit': {
        const ticket = admission.admit(principalOf(call.principal), call.transport, call.clientAddress);
        if (ticket instanceof GraphQLError) throw ticket;
        const number = this.nextTicket++;
        // A worker that died meanwhile gives nothing back: its places are freed here.
        if (slot.child?.connected !== true) {
          ticket.release();
          throw new Error('the socket worker is gone');
        }
        slot.tickets.set(number, ticket);
        return number;
      }
    }
  }

  private lost(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    const served = slot.live;
    slot.live = false;
    slot.report = null;
    for (const ticket of slot.tickets.values()) ticket.release();
    slot.tickets.clear();
    if (this.closing || !this.serving) return;
    const delay = Math.min(30_000, RESTART_DELAY_MS * 2 ** slot.restarts++);
    const clients = served ? 'its clients were disconnected' : 'it had not started serving';
    this.options.log(`tickwire: socket worker ${slot.index} exited (${signal ?? `code ${code}`}); ${clients}; restarting it in ${delay} ms (graphql-ws is served by the server process while no worker runs)`);
    setTimeout(() => {
      if (this.closing) return;
      // A failed restart exits too, and that exit schedules the next attempt.
      this.spawn(slot).catch((err: Error) => this.options.log(`tickwire: ${err.message}`));
    }, delay).unref();
  }
}

/** A principal from its reference: what the quota ledger keys and words its refusal by. */
function principalOf(ref: PrincipalRef): Principal {
  return { id: ref.id, name: ref.name, role: ref.role, runners: ref.runners, allows: () => false };
}

/** Counts by key, added. */
export function sumCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): Map<string, number> {
  const sum = new Map(a);
  for (const [k, v] of b) sum.set(k, (sum.get(k) ?? 0) + v);
  return sum;
}

/** Shared-execution counters, added. */
export function sumShared(a: SharedExecutionStats, b: SharedExecutionStats): SharedExecutionStats {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof SharedExecutionStats)[]) sum[key] += b[key];
  return sum;
}
