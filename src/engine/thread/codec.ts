/**
 * The compact form of an engine thread's batches. Cloning event objects across threads
 * (`postMessage`'s structured clone) costs some 3 µs to write and 4 µs to read per tick,
 * more than the runner spends on it: at 100,000 ticks/s the main thread would spend most
 * of a core reading. Ticks and marks (almost every event), and the runners' views, travel
 * instead as numbers in a Float64Array whose buffer is transferred, not copied; runners
 * are named by an index into a table each side keeps; the rare other events are cloned
 * as they are. Decoding rebuilds events of exactly the shape the runner emitted.
 */
import type { Position } from '../../domain/position.js';
import { RUNNER_STATES, type RunnerState } from '../../domain/state.js';
import { isNumericMark, isNumericTick, MARK_NUMBERS, readMark, readTick, TICK_NUMBERS, writeMark, writeTick } from '../../events/numbers.js';
import type { RunnerEvent } from '../../events/types.js';
import type { RunnerStats } from '../runner.js';
import type { EngineThreadBatch, EngineThreadReply, RunnerUpdate } from './protocol.js';

/** Record kinds: an object event [0, runner], a tick [1, runner, 8 market numbers], a mark [2, runner, price, pnl, time]. */
const KIND_OBJECT = 0;
const KIND_TICK = 1;
const KIND_MARK = 2;

/** Numbers per update: runner, state, unrealizedPnl, the 7 stats, stoppedAt. */
const UPDATE_WIDTH = 11;

const STATE_CODES = new Map<RunnerState, number>(RUNNER_STATES.map((s, i) => [s, i]));

/** A growable run of doubles. */
class Doubles {
  private data = new Float64Array(1024);
  length = 0;

  reserve(n: number): Float64Array {
    if (this.length + n > this.data.length) {
      const bigger = new Float64Array(Math.max(this.data.length * 2, this.length + n));
      bigger.set(this.data.subarray(0, this.length));
      this.data = bigger;
    }
    return this.data;
  }

  /** A copy of what is written (its own buffer, to transfer), and a fresh start. */
  take(): Float64Array {
    const out = this.data.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

interface Entry {
  readonly index: number;
  readonly symbol: string;
}

/**
 * Entries the runner table may hold before it starts afresh, at least: an engine thread
 * that starts and stops runners all day named every runner it ever ran, on both sides.
 */
export const MIN_TABLE_LIMIT = 1024;

/** The engine thread's side: gathers events and updates into the next {@link EngineThreadBatch}. */
export class BatchEncoder {
  private table = new Map<string, Entry>();
  private size = 0;
  /** The table before it last started afresh: who of it comes back is still running. */
  private previous = new Map<string, Entry>();
  /** Runners of {@link previous} named again since. */
  private carried = 0;
  /**
   * Past this many entries the table starts afresh: twice the runners that outlived the
   * last fresh start (those running for long), at least {@link MIN_TABLE_LIMIT}, so that a
   * thread with many runners running does not start afresh batch after batch.
   */
  private limit = MIN_TABLE_LIMIT;
  private fresh = false;
  private records = new Doubles();
  private updates = new Doubles();
  private objects: RunnerEvent[] = [];
  private names: string[] = [];
  private changes: EngineThreadBatch['changes'] = [];
  private updateCount = 0;
  private readonly sentPosition = new Map<string, Position | null>();
  private readonly sentReason = new Map<string, string | null>();
  /** Events in the batch so far. */
  count = 0;

  private indexOf(id: string, symbol: string): number {
    const entry = this.table.get(id);
    if (entry !== undefined && entry.symbol === symbol) return entry.index;
    // A new runner, or one restarted on another symbol: a new entry, never a changed one.
    const index = this.size++;
    if (entry === undefined && this.previous.has(id)) this.carried++;
    this.table.set(id, { index, symbol });
    this.names.push(id, symbol);
    return index;
  }

  /** Entries in the runner table now (for tests: it stays bounded however many runners come and go). */
  get tableSize(): number {
    return this.size;
  }

  /** Adds an event published with `symbol`. */
  event(event: RunnerEvent, symbol: string): void {
    const runner = this.indexOf(event.runnerId, symbol);
    this.count++;
    if (isNumericTick(event, symbol)) {
      const at = this.records.length;
      const r = this.records.reserve(2 + TICK_NUMBERS);
      r[at] = KIND_TICK;
      r[at + 1] = runner;
      writeTick(event.data, r, at + 2);
      this.records.length = at + 2 + TICK_NUMBERS;
      return;
    }
    if (isNumericMark(event)) {
      const at = this.records.length;
      const r = this.records.reserve(2 + MARK_NUMBERS);
      r[at] = KIND_MARK;
      r[at + 1] = runner;
      writeMark(event, r, at + 2);
      this.records.length = at + 2 + MARK_NUMBERS;
      return;
    }
    const at = this.records.length;
    const r = this.records.reserve(2);
    r[at] = KIND_OBJECT;
    r[at + 1] = runner;
    this.records.length = at + 2;
    this.objects.push(event);
  }

  /** Adds the view of a runner the batch changed; `symbol` is the one its events carry. */
  update(update: RunnerUpdate, symbol: string): void {
    const at = this.updates.length;
    const u = this.updates.reserve(UPDATE_WIDTH);
    const s = update.stats;
    u[at] = this.indexOf(update.id, symbol);
    u[at + 1] = STATE_CODES.get(update.state) ?? 0;
    u[at + 2] = update.unrealizedPnl;
    u[at + 3] = s.ticksProcessed;
    u[at + 4] = s.ticksRejected;
    u[at + 5] = s.actionsExecuted;
    u[at + 6] = s.errors;
    u[at + 7] = s.errorRate;
    u[at + 8] = s.realizedPnl;
    u[at + 9] = s.lastPrice ?? Number.NaN;
    u[at + 10] = update.stoppedAt ?? Number.NaN;
    this.updates.length = at + UPDATE_WIDTH;
    // Positions and reasons change a few times a trade, not every tick: sent only then.
    const position = this.sentPosition.get(update.id);
    const reason = this.sentReason.get(update.id);
    if (position !== update.position || reason !== update.stopReason || position === undefined) {
      this.changes.push({ at: this.updateCount, position: update.position, stopReason: update.stopReason });
      this.sentPosition.set(update.id, update.position);
      this.sentReason.set(update.id, update.stopReason);
    }
    this.updateCount++;
  }

  /** Forgets every runner: those still running are named again by their next event or update. */
  private startAfresh(): void {
    this.limit = Math.max(MIN_TABLE_LIMIT, 2 * this.carried);
    this.previous = this.table;
    this.table = new Map();
    this.carried = 0;
    this.size = 0;
    this.sentPosition.clear();
    this.sentReason.clear();
    this.fresh = true;
  }

  /** The batch gathered so far (and a fresh one begun), with the buffers to transfer. */
  take(since: number, replies: EngineThreadReply[]): { readonly batch: EngineThreadBatch; readonly transfer: ArrayBuffer[] } {
    const records = this.records.take();
    const updates = this.updates.take();
    const batch: EngineThreadBatch = { since, count: this.count, records, objects: this.objects, names: this.names, fresh: this.fresh, updates, changes: this.changes, replies };
    this.fresh = false;
    // Between two batches: the next one's records name runners in the new table only.
    if (this.size > this.limit) this.startAfresh();
    this.objects = [];
    this.names = [];
    this.changes = [];
    this.count = 0;
    this.updateCount = 0;
    return { batch, transfer: [records.buffer as ArrayBuffer, updates.buffer as ArrayBuffer] };
  }
}

/** The main thread's side, one per engine thread: turns batches back into events and views. */
export class BatchDecoder {
  // Replaced, not cleared, when the table starts afresh: cursors made before still read theirs.
  private ids: string[] = [];
  private symbols: string[] = [];
  private position = new Map<string, Position | null>();
  private reason = new Map<string, string | null>();

  /** Entries in the runner table now (for tests). */
  get tableSize(): number {
    return this.ids.length;
  }

  /** Learns the batch's new runners; call first, before {@link updates} and {@link events}. */
  names(batch: EngineThreadBatch): void {
    if (batch.fresh) {
      this.ids = [];
      this.symbols = [];
      this.position = new Map();
      this.reason = new Map();
    }
    const names = batch.names;
    for (let i = 0; i < names.length; i += 2) {
      this.ids.push(names[i]!);
      this.symbols.push(names[i + 1]!);
    }
  }

  /** Calls `apply` with each runner view the batch carries. */
  updates(batch: EngineThreadBatch, apply: (update: RunnerUpdate) => void): void {
    const u = batch.updates;
    let change = 0;
    for (let at = 0, n = 0; at < u.length; at += UPDATE_WIDTH, n++) {
      const id = this.ids[u[at]!]!;
      const symbol = this.symbols[u[at]!]!;
      const next = batch.changes[change];
      if (next !== undefined && next.at === n) {
        this.position.set(id, next.position);
        this.reason.set(id, next.stopReason);
        change++;
      }
      const lastPrice = u[at + 9]!;
      const stoppedAt = u[at + 10]!;
      const stats: RunnerStats = {
        ticksProcessed: u[at + 3]!,
        ticksRejected: u[at + 4]!,
        actionsExecuted: u[at + 5]!,
        errors: u[at + 6]!,
        errorRate: u[at + 7]!,
        realizedPnl: u[at + 8]!,
        lastPrice: Number.isNaN(lastPrice) ? null : lastPrice,
      };
      apply({
        id,
        symbol,
        state: RUNNER_STATES[u[at + 1]!] ?? 'Idle',
        position: this.position.get(id) ?? null,
        unrealizedPnl: u[at + 2]!,
        stats,
        stoppedAt: Number.isNaN(stoppedAt) ? null : stoppedAt,
        stopReason: this.reason.get(id) ?? null,
      });
    }
  }

  /** Calls `publish` with each event of the batch, in order, and its symbol. */
  events(batch: EngineThreadBatch, publish: (event: RunnerEvent, symbol: string) => void): void {
    const cursor = this.cursor(batch);
    while (!cursor.done) {
      const symbol = cursor.symbol;
      publish(cursor.next(), symbol);
    }
  }

  /**
   * A cursor over the batch's events, to decode them one at a time, later and in pieces
   * (call {@link names} first; runners learned since do not change the batch's).
   */
  cursor(batch: EngineThreadBatch): BatchCursor {
    return new BatchCursor(batch, this.ids, this.symbols);
  }
}

/**
 * Reads a batch's events in order, one at a time: what each is (its runner, whether it is
 * a tick or a mark) is known before it is decoded, so an event passed over costs no
 * allocation.
 */
export class BatchCursor {
  /** Where the next event's record starts. */
  private at = 0;
  /** The next of the batch's object events. */
  private object = 0;
  /** Events read so far (decoded or skipped): the next event's index in the batch. */
  index = 0;

  constructor(
    readonly batch: EngineThreadBatch,
    private readonly ids: readonly string[],
    private readonly symbols: readonly string[],
  ) {}

  /** True once every event is read. */
  get done(): boolean {
    return this.at >= this.batch.records.length;
  }

  /** The next event's runner id. */
  get runnerId(): string {
    return this.ids[this.batch.records[this.at + 1]!]!;
  }

  /** The symbol the next event was published with. */
  get symbol(): string {
    return this.symbols[this.batch.records[this.at + 1]!]!;
  }

  /** True when the next event is a TickReceived sent as numbers. */
  get isTick(): boolean {
    return this.batch.records[this.at] === KIND_TICK;
  }

  /** True when the next event is a PositionUpdated (always sent as numbers). */
  get isMark(): boolean {
    return this.batch.records[this.at] === KIND_MARK;
  }

  /** Passes over the next event without decoding it. */
  skip(): void {
    const kind = this.batch.records[this.at];
    if (kind === KIND_TICK) this.at += 2 + TICK_NUMBERS;
    else if (kind === KIND_MARK) this.at += 2 + MARK_NUMBERS;
    else {
      this.at += 2;
      this.object++;
    }
    this.index++;
  }

  /** Decodes the next event, exactly as the runner emitted it, and moves past it. */
  next(): RunnerEvent {
    const r = this.batch.records;
    const at = this.at;
    const kind = r[at]!;
    const runner = r[at + 1]!;
    this.index++;
    if (kind === KIND_TICK) {
      this.at = at + 2 + TICK_NUMBERS;
      return readTick(this.ids[runner]!, this.symbols[runner]!, r, at + 2);
    }
    if (kind === KIND_MARK) {
      this.at = at + 2 + MARK_NUMBERS;
      return readMark(this.ids[runner]!, r, at + 2);
    }
    this.at = at + 2;
    return this.batch.objects[this.object++]!;
  }
}
