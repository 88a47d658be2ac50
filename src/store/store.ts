import { decodeEvent, encodeEvent, EventDecodeError } from '../events/codec.js';
import type { EventFilter } from '../events/filter.js';
import { EVENT_VARIANTS, type EventVariant, type RunnerEvent } from '../events/types.js';
import { WHERE_FIELDS, WHERE_OPERATORS, type EventWhere, type WhereField, type WhereVariant } from '../events/where.js';
import { severityRank } from '../events/helpers.js';
import { timestampOf } from '../events/helpers.js';
import type { Db } from './db.js';

/**
 * An event with its log position and its runner's symbol, as stored. (The same shape as
 * the bus's log entry; the store depends on events only, not on the bus.)
 */
export interface StoredEvent {
  readonly id: number;
  readonly symbol: string;
  readonly event: RunnerEvent;
}

/** Schema changes in order; each runs once, in a transaction, at start-up. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tickwire_events (
     id BIGINT PRIMARY KEY,
     runner_id TEXT NOT NULL,
     symbol TEXT NOT NULL,
     type TEXT NOT NULL,
     severity SMALLINT,
     ts BIGINT NOT NULL,
     event JSONB NOT NULL
   );
   CREATE INDEX tickwire_events_runner ON tickwire_events (runner_id, id);
   CREATE INDEX tickwire_events_symbol ON tickwire_events (symbol, id);
   CREATE INDEX tickwire_events_type ON tickwire_events (type, id);
   CREATE INDEX tickwire_events_ts ON tickwire_events (ts, id);`,
  // Where the log stood, for ids of events the store does not keep (ticks): a restart
  // must never hand out an id a client already received.
  `CREATE TABLE tickwire_log_position (
     singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
     last_id BIGINT NOT NULL,
     clean BOOLEAN NOT NULL
   );`,
  // The log's epoch: ids continue across restarts as long as this store lives, so the
  // epoch is the store's. A new store (or one recreated) is a new epoch.
  `CREATE TABLE tickwire_log_epoch (
     singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
     epoch TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );`,
];

/** A stored row that matched a query but could not be decoded into an event. */
export interface UndecodableRow {
  readonly id: number;
  /** The event's type column, as stored. */
  readonly type: string;
  /** What is wrong with it (the field path), for logs and the reader's notice. */
  readonly reason: string;
}

/** A page of stored events, oldest first. */
export interface HistoryPage {
  /** The events of the page that decoded. */
  readonly entries: readonly StoredEvent[];
  /**
   * Rows of the page that did not decode (written by an older version, edited by hand):
   * skipped, never a failed page. Their ids count for the page's end and for `hasMore`.
   */
  readonly undecodable: readonly UndecodableRow[];
  /**
   * Where the next page starts: the id of the page's last row, decoded or not, or of the
   * last row read when the page stopped short; null when the page read nothing.
   */
  readonly lastId: number | null;
  /**
   * True when more events may match after `lastId`: more matched than the page holds, or
   * the page stopped at its scan bound ({@link stoppedShort}).
   */
  readonly hasMore: boolean;
  /**
   * Rows the page's tests (`where`, `minSeverity`, the scope) looked at; without tests, the
   * rows of the page. What a reader of many pages (a stream's backfill) bounds.
   */
  readonly scanned: number;
  /**
   * True when the page read {@link HISTORY_SCAN_ROWS} rows without filling up: `lastId`
   * is then the last row read, matched or not, and the next page goes on after it.
   */
  readonly stoppedShort: boolean;
}

/**
 * Most rows one history query reads when a filter no index follows tests them (`where`,
 * `minSeverity`, a token's scope): a `where` that matches nothing costs this many rows,
 * not the whole store. The cost limit counts it for each such eventHistory (MAX_COST).
 */
export const HISTORY_SCAN_ROWS = 10_000;

/** Rows inserted between two gatherings of the planner's statistics (see `EventStore.analyze`). */
export const ANALYZE_EVERY_ROWS = 50_000;

/** A row of a history query. */
interface Row {
  readonly id: number;
  readonly symbol: string;
  readonly type: string;
  readonly event: unknown;
}

/** Options of an {@link EventStore}. */
export interface EventStoreOptions {
  /** Told about every row a query skipped because it did not decode (the server logs it). */
  readonly onUndecodable?: (row: UndecodableRow) => void;
}

/** A history query: the event filter plus a time range and a cursor. */
export interface HistoryQuery extends EventFilter {
  /** Only events at or after this time (ms since the epoch). */
  readonly from?: number | null;
  /** Only events at or before this time. */
  readonly to?: number | null;
  /** Only events with an id greater than this. */
  readonly after?: number | null;
  /** Only events with an id smaller than this (for backfilling a range). */
  readonly before?: number | null;
  /** Only runners whose id matches one of these globs (`*`, `?`): a token's scope. */
  readonly runnerGlobs?: readonly string[] | null;
  /** Page size. */
  readonly first: number;
}

/**
 * Why a row did not decode, without its values: the codec's path when it names one
 * (a stored event may carry anything, and this reaches logs and readers).
 */
function undecodableReason(err: unknown): string {
  if (err instanceof EventDecodeError) return err.path === '' ? 'not an event' : `bad field ${err.path.slice(0, 200)}`;
  return 'not valid JSON';
}

/** A runner-id glob as a LIKE pattern (`*` → `%`, `?` → `_`, the rest literal). */
function globToLike(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

const SQL_COMPARISON: Readonly<Record<(typeof WHERE_OPERATORS)[number], string>> = { eq: '=', in: '= ANY', gt: '>', gte: '>=', lt: '<', lte: '<=' };

/**
 * A `where` as SQL conditions, one per variant it constrains:
 * `(type <> 'V' OR COALESCE(<every field condition>, false))`. Each is exact, so pages
 * and cursors stay what they are without a `where` (nothing is filtered after reading).
 * Numbers are compared as `numeric`: the stored JSON holds the shortest text that reads
 * back as the double, so numeric order and equality are the doubles' order and equality.
 * A value that is not a JSON number (null, or a damaged row) gives NULL, which matches
 * nothing, and never a cast error that would fail the page. The timestamp is the `ts`
 * column. The JSONB comparisons have no index of their own: the indexes still serve
 * the other filters (type, runner, symbol, time, the cursor) that narrow the scan.
 */
function whereSql(where: EventWhere, param: (value: unknown) => string): string[] {
  const clauses: string[] = [];
  for (const key of Object.keys(where)) {
    if (!Object.hasOwn(WHERE_FIELDS, key)) continue;
    const spec = (WHERE_FIELDS as Readonly<Record<string, WhereVariant>>)[key]!;
    const conditions = (where as Readonly<Record<string, Readonly<Record<string, unknown>> | null | undefined>>)[key];
    if (conditions == null) continue;
    const parts: string[] = [];
    for (const name of Object.keys(conditions)) {
      const condition = conditions[name] as Readonly<Record<string, unknown>> | null | undefined;
      if (condition == null || !Object.hasOwn(spec.fields, name)) continue;
      parts.push(...fieldSql(spec.fields[name]!, condition, param));
    }
    if (parts.length === 0) continue;
    clauses.push(`(type <> ${param(spec.variant)} OR COALESCE(${parts.join(' AND ')}, false))`);
  }
  return clauses;
}

/** The conditions of one field, each `<value> <op> <param>`. */
function fieldSql(field: WhereField, condition: Readonly<Record<string, unknown>>, param: (value: unknown) => string): string[] {
  // An unused parameter would fail the statement ("could not determine data type").
  if (WHERE_OPERATORS.every((op) => condition[op] == null)) return [];
  // The path comes from WHERE_FIELDS, never from a request; checked all the same.
  if (!field.path.every((p) => /^[A-Za-z]+$/.test(p))) throw new TypeError(`bad where path ${field.path.join('.')}`);
  const json = `(event #> '{data,${field.path.join(',')}}')`;
  let value: string;
  let cast: string;
  let operand: (v: unknown) => unknown;
  if (field.kind === 'timestamp') {
    value = 'ts';
    cast = 'bigint';
    operand = (v) => String(v);
  } else if (field.kind === 'number') {
    value = `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN ${json}::numeric END)`;
    cast = 'numeric';
    // As text: the shortest form that reads back as the double, whatever the driver does.
    operand = (v) => String(v);
  } else if (field.ordered === true) {
    const values = field.values ?? [];
    value = `array_position(${param(values)}::text[], ${json} #>> '{}')`;
    cast = 'int';
    operand = (v) => values.indexOf(v as string) + 1;
  } else {
    value = `(${json} #>> '{}')`;
    cast = 'text';
    operand = (v) => v;
  }
  const sql: string[] = [];
  for (const op of WHERE_OPERATORS) {
    const given = condition[op];
    if (given == null) continue;
    sql.push(
      op === 'in'
        ? `${value} = ANY(${param((given as readonly unknown[]).map(operand))}::${cast}[])`
        : `${value} ${SQL_COMPARISON[op]} ${param(operand(given))}::${cast}`,
    );
  }
  return sql;
}

/**
 * Events in PostgreSQL (or PGlite: the same SQL). The event itself is stored in its
 * wire form and decoded strictly on the way out; the columns beside it are what
 * queries filter on, each with an index that leads with it and ends with the id.
 */
export class EventStore {
  /**
   * @param storedTypes the types written into this store: a reader filling a gap from it
   *   knows what it cannot find here
   */
  constructor(
    readonly db: Db,
    readonly storedTypes: readonly EventVariant[] = EVENT_VARIANTS,
    private readonly options: EventStoreOptions = {},
  ) {}

  /** Rows skipped because they did not decode, since this store was opened. */
  undecodableRows = 0;

  /** Rows inserted since the planner's statistics were last gathered. */
  private insertedSinceAnalyze = 0;

  /**
   * Gathers the planner's statistics of the events table. Without them PostgreSQL guesses
   * that `type = $1` picks few rows, reads every row of that type and sorts them, where
   * the (type, id) or primary key index in id order would stop at the page's LIMIT.
   * PostgreSQL's autovacuum gathers them too; PGlite has none, so the store does it
   * ({@link ANALYZE_EVERY_ROWS}). A failure is no failure of the caller: the statistics
   * are only what plans are chosen by.
   */
  async analyze(): Promise<void> {
    this.insertedSinceAnalyze = 0;
    await this.db.query('ANALYZE tickwire_events').catch(() => undefined);
  }

  /** Creates or upgrades the tables. */
  async migrate(): Promise<void> {
    try {
      await this.db.query('CREATE TABLE IF NOT EXISTS tickwire_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    } catch (err) {
      // 3F000: the search_path names only schemas that do not exist (a typo, or one not created yet).
      if ((err as { code?: string }).code !== '3F000') throw err;
      const { rows } = await this.db.query<{ search_path: string }>('SHOW search_path');
      throw new Error(
        `the database has no schema to create tickwire's tables in: its search_path is ${rows[0]?.search_path ?? 'unknown'} and none of those schemas exists; create it (CREATE SCHEMA <name>) or fix search_path in DATABASE_URL`,
        { cause: err },
      );
    }
    const { rows } = await this.db.query<{ version: number }>('SELECT version FROM tickwire_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    for (let version = 1; version <= MIGRATIONS.length; version++) {
      if (applied.has(version)) continue;
      // One round trip: the statements and the version row commit together or not at all.
      await this.db.exec(`BEGIN; ${MIGRATIONS[version - 1]} INSERT INTO tickwire_migrations (version) VALUES (${version}); COMMIT;`);
    }
  }

  /**
   * Where the log stood when it was last saved (the last id handed out, stored or not),
   * and whether the process that saved it stopped cleanly; null before the first save.
   */
  async logPosition(): Promise<{ readonly lastId: number; readonly clean: boolean } | null> {
    const { rows } = await this.db.query<{ last_id: number; clean: boolean }>('SELECT last_id::float8 AS last_id, clean FROM tickwire_log_position');
    const row = rows[0];
    return row === undefined ? null : { lastId: Number(row.last_id), clean: row.clean === true };
  }

  /** Saves where the log stands; the saved id never goes back. */
  async saveLogPosition(lastId: number, clean: boolean): Promise<void> {
    await this.db.query(
      `INSERT INTO tickwire_log_position (singleton, last_id, clean) VALUES (true, $1, $2)
       ON CONFLICT (singleton) DO UPDATE SET last_id = GREATEST(tickwire_log_position.last_id, EXCLUDED.last_id), clean = EXCLUDED.clean`,
      [lastId, clean],
    );
  }

  /**
   * The epoch of the log this store continues (see EventBus's `epoch`); `proposed`
   * becomes it when the store has none yet. Every process on this store answers the same.
   */
  async epoch(proposed: string): Promise<string> {
    await this.db.query('INSERT INTO tickwire_log_epoch (singleton, epoch) VALUES (true, $1) ON CONFLICT (singleton) DO NOTHING', [proposed]);
    const { rows } = await this.db.query<{ epoch: string }>('SELECT epoch FROM tickwire_log_epoch');
    return rows[0]?.epoch ?? proposed;
  }

  /** Largest id stored, or 0: the bus continues after it, so ids stay unique across restarts. */
  async maxId(): Promise<number> {
    const { rows } = await this.db.query<{ id: number | null }>('SELECT max(id)::float8 AS id FROM tickwire_events');
    return Number(rows[0]?.id ?? 0);
  }

  /** How many events are stored with ids in `fromId..toId`. */
  async countRange(fromId: number, toId: number): Promise<number> {
    const { rows } = await this.db.read<{ n: number }>('SELECT count(*)::float8 AS n FROM tickwire_events WHERE id BETWEEN $1 AND $2', [fromId, toId]);
    return Number(rows[0]?.n ?? 0);
  }

  /** Writes entries in one statement; entries already stored are skipped, so a retry is safe. */
  async insert(entries: readonly StoredEvent[]): Promise<void> {
    if (entries.length === 0) return;
    const ids: number[] = [];
    const runners: string[] = [];
    const symbols: string[] = [];
    const types: string[] = [];
    const severities: (number | null)[] = [];
    const times: number[] = [];
    const events: string[] = [];
    for (const { id, symbol, event } of entries) {
      ids.push(id);
      runners.push(event.runnerId);
      symbols.push(symbol);
      types.push(event.type);
      severities.push(event.type === 'Error' ? severityRank(event.severity) : null);
      times.push(timestampOf(event));
      events.push(JSON.stringify(encodeEvent(event)));
    }
    await this.db.query(
      `INSERT INTO tickwire_events (id, runner_id, symbol, type, severity, ts, event)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::bigint[], $7::jsonb[])
       ON CONFLICT (id) DO NOTHING`,
      [ids, runners, symbols, types, severities, times, events],
    );
    this.insertedSinceAnalyze += entries.length;
    if (this.insertedSinceAnalyze >= ANALYZE_EVERY_ROWS) await this.analyze();
  }

  /**
   * Stored events matching the query, ordered by id. Every filter, the reader's scope
   * (`runnerGlobs`) and `where` included, is applied in SQL, so a row outside it is never
   * decoded. The filters an index follows (runnerIds, symbols, types, from/to, the
   * cursor) choose the rows read; the others (`where`, `minSeverity`, the scope) test
   * each row read, with no index to skip the rows they reject, so with any of them the
   * query reads at most {@link HISTORY_SCAN_ROWS} rows past its cursor (see
   * {@link scanned}). Without them a page holds `first` matches whenever that many follow
   * the cursor; with them it may hold fewer and still have `hasMore`, its `lastId` then
   * being the last row read: where the next page goes on.
   */
  async history(query: HistoryQuery): Promise<HistoryPage> {
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    // One value is `=`, not `= ANY`: the (column, id) index then gives rows in id order, so
    // a scan can stop at its LIMIT; with `= ANY` PostgreSQL cannot use that order and reads
    // every match to sort them, or walks the primary key. (Which it does depends on the
    // statistics: see `analyze`.)
    const oneOf = (column: string, values: readonly string[]) => (values.length === 1 ? `${column} = ${param(values[0])}::text` : `${column} = ANY(${param(values)}::text[])`);
    const indexed: string[] = [];
    if (query.runnerIds != null) indexed.push(oneOf('runner_id', query.runnerIds));
    if (query.symbols != null) indexed.push(oneOf('symbol', query.symbols));
    if (query.types != null) indexed.push(oneOf('type', query.types));
    if (query.from != null) indexed.push(`ts >= ${param(query.from)}`);
    if (query.to != null) indexed.push(`ts <= ${param(query.to)}`);
    if (query.after != null) indexed.push(`id > ${param(query.after)}`);
    if (query.before != null) indexed.push(`id < ${param(query.before)}`);
    const tested: string[] = [];
    if (query.runnerGlobs != null) tested.push(`runner_id LIKE ANY(${param(query.runnerGlobs.map(globToLike))}::text[])`);
    if (query.minSeverity != null) tested.push(`(type <> 'Error' OR severity >= ${param(severityRank(query.minSeverity))})`);
    if (query.where != null) tested.push(...whereSql(query.where, param));
    const where = (conditions: readonly string[]) => (conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '');
    if (tested.length === 0) {
      const sql = `SELECT id::float8 AS id, symbol, type, event FROM tickwire_events${where(indexed)} ORDER BY id LIMIT ${param(query.first + 1)}`;
      const { rows } = await this.db.read<Row>(sql, params);
      return this.pageOf(rows, query.first, { hasMore: rows.length > query.first, scanned: Math.min(rows.length, query.first), scanEnd: null });
    }
    return this.scannedPage(query.first, { indexed: where(indexed), tested, param, params });
  }

  /**
   * One page read from at most {@link HISTORY_SCAN_ROWS} rows: those the indexed filters
   * choose past the cursor, in id order, each then tested. One statement, so one snapshot:
   * the page and where its scan ended agree even while the writer inserts. Its last row
   * says how many rows the tests saw (up to the first match past the page, when the page
   * filled) and the last id among them.
   */
  private async scannedPage(first: number, sql: { indexed: string; tested: readonly string[]; param: (value: unknown) => string; params: unknown[] }): Promise<HistoryPage> {
    const { indexed, tested, param, params } = sql;
    const bound = param(HISTORY_SCAN_ROWS);
    const limit = param(first + 1);
    const next = `(SELECT id FROM hits ORDER BY id OFFSET ${param(first)} LIMIT 1)`;
    const statement =
      `WITH hits AS (SELECT id, symbol, type, event FROM ` +
      `(SELECT * FROM tickwire_events${indexed} ORDER BY id LIMIT ${bound}) scan ` +
      `WHERE ${tested.join(' AND ')} ORDER BY id LIMIT ${limit}) ` +
      `SELECT id::float8 AS id, symbol, type, event, NULL::float8 AS scanned FROM hits ` +
      `UNION ALL SELECT max(id)::float8, NULL, NULL, NULL, count(*)::float8 FROM ` +
      `(SELECT id FROM tickwire_events${indexed}${indexed === '' ? ' WHERE' : ' AND'} id < COALESCE(${next}, ${Number.MAX_SAFE_INTEGER}) ORDER BY id LIMIT ${bound}) seen`;
    const { rows } = await this.db.read<Row & { scanned: number | null }>(statement, params);
    const hits = rows.filter((r) => r.scanned === null).sort((a, b) => Number(a.id) - Number(b.id));
    const summary = rows.find((r) => r.scanned !== null);
    const scanned = Number(summary?.scanned ?? 0);
    if (hits.length > first) return this.pageOf(hits, first, { hasMore: true, scanned, scanEnd: null });
    // Not full, and the bound reached: more may match past the last row read.
    const scanEnd = scanned >= HISTORY_SCAN_ROWS && summary?.id != null ? Number(summary.id) : null;
    return this.pageOf(hits, first, { hasMore: scanEnd !== null, scanned, scanEnd });
  }

  /**
   * The page of `rows` (up to `first + 1` of them, in id order), decoded. `scanEnd`: the
   * last row read, when the page stopped at its scan bound.
   */
  private pageOf(rows: readonly Row[], first: number, scan: { readonly hasMore: boolean; readonly scanned: number; readonly scanEnd: number | null }): HistoryPage {
    const page = rows.slice(0, first);
    const entries: StoredEvent[] = [];
    const undecodable: UndecodableRow[] = [];
    for (const row of page) {
      const id = Number(row.id);
      try {
        // pg returns JSONB parsed; decoding checks it is still a valid event.
        entries.push({ id, symbol: row.symbol, event: decodeEvent(typeof row.event === 'string' ? JSON.parse(row.event) : row.event) });
      } catch (err) {
        // One bad row must not fail every page that holds it, forever.
        const bad: UndecodableRow = { id, type: String(row.type), reason: undecodableReason(err) };
        undecodable.push(bad);
        this.undecodableRows++;
        try {
          this.options.onUndecodable?.(bad);
        } catch {
          // A failing logger must not fail the query either.
        }
      }
    }
    const last = page.at(-1);
    // The scan's last row is at or past the page's last: every match is among the rows read.
    const lastId = scan.scanEnd ?? (last === undefined ? null : Number(last.id));
    return { entries, undecodable, lastId, hasMore: scan.hasMore, scanned: scan.scanned, stoppedShort: scan.scanEnd !== null };
  }
}
