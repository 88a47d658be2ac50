/**
 * The messages between the server process (the primary: engine, bus, store, HTTP) and
 * its socket workers (WORKERS): one IPC channel per worker, with Node's `advanced`
 * serialization (structured clone), so numbers, maps and bigints arrive as they left.
 */
import type { RunnerInfo } from '../../engine/engine.js';
import type { Answer as ChannelAnswer } from '../../runtime/channel.js';
import type { LogEntry } from '../../log/types.js';
import type { SharedExecutionStats } from '../../graphql/shared-execution.js';
import type { StreamTransport } from '../../graphql/admission.js';
import type { TokenEntry } from '../../graphql/auth.js';
import type { Limits } from '../../graphql/limits.js';
import type { EventVariant } from '../../events/types.js';
import type { ErrorWire } from '../../graphql/errors.js';
import type { Manifest } from '../../graphql/manifest.js';
import type { TrustedDocumentsMode } from '../../runtime/settings.js';

// WORKERS's bound is a setting (src/runtime/settings.ts).
export { MAX_WORKERS } from '../../runtime/settings.js';

/** The server's settings a worker serves its connections with. */
export interface WorkerSettings {
  readonly limits: Limits;
  /** The configured tokens (hashes), or null for an open server. */
  readonly tokens: readonly TokenEntry[] | null;
  readonly replayDir: string | null;
  readonly maxEventAgeMs: number;
  readonly keepAliveMs: number | undefined;
  /** Event types the store holds (history reads fill gaps from it only for those). */
  readonly storedTypes: readonly EventVariant[];
  /** TRUSTED_DOCUMENTS and its manifests, as the server read them. */
  readonly trustedDocuments?: { readonly mode: TrustedDocumentsMode; readonly manifests: readonly Manifest[] };
}

/** A principal as it crosses to the primary: what the quota and its message need. */
export interface PrincipalRef {
  readonly id: string;
  readonly name: string;
  readonly role: 'viewer' | 'operator';
  readonly runners: readonly string[];
}

/** A call a worker makes on the primary's engine, store or quota ledger. */
export type Call =
  | { readonly op: 'addRunner'; readonly input: unknown }
  | { readonly op: 'stopRunner'; readonly id: string; readonly reason: string | undefined }
  | { readonly op: 'getRunner'; readonly id: string }
  | { readonly op: 'listRunners' }
  | { readonly op: 'query'; readonly sql: string; readonly params: readonly unknown[] | undefined }
  /** A client's read of the store: the primary's `Db.read`, with its query timeout. */
  | { readonly op: 'read'; readonly sql: string; readonly params: readonly unknown[] | undefined }
  | { readonly op: 'admit'; readonly principal: PrincipalRef; readonly transport: StreamTransport; readonly clientAddress: string | undefined };

/**
 * What each {@link Call} answers. Runners cross as their snapshots (`snapshotRunner`);
 * `admit` answers the number of the place it gave, which `release` gives back.
 */
export interface CallAnswers {
  readonly addRunner: RunnerInfo;
  readonly stopRunner: RunnerInfo;
  readonly getRunner: RunnerInfo | undefined;
  readonly listRunners: readonly RunnerInfo[];
  readonly query: unknown[];
  readonly read: unknown[];
  readonly admit: number;
}

/** The answer to a {@link Call}: a value, or its error in the catalogue's wire form (`errorToWire`). */
export type Answer = ChannelAnswer<ErrorWire>;

/**
 * In a batch of entries: the log went on in a new epoch whose ids continue after
 * `lastId` (a shared log that was recreated; see EventBus.restartEpoch).
 */
export interface EpochRestart {
  readonly restart: string;
  readonly lastId: number;
}

/** What a batch of entries holds, in order: entries, positions the log moved on to, and epoch restarts. */
export type BatchItem = LogEntry | number | EpochRestart;

/** What the primary sends a worker. */
export type ToWorker =
  /**
   * The log so far: the entries the primary's history holds (oldest first), the latest
   * state of every runner (for `snapshot`), and where the log stands. Sent once, first.
   */
  | {
      readonly kind: 'hello';
      readonly epoch: string;
      readonly lastId: number;
      readonly history: readonly LogEntry[];
      readonly latest: readonly LogEntry[];
      /** What the server was started with, for the worker's connections. */
      readonly settings: WorkerSettings;
      /** The primary's database (history queries are made there), or null without one. */
      readonly store: { readonly kind: 'postgres' | 'pglite'; readonly description: string } | null;
    }
  /** Entries published since the last batch, in order, as `v8.serialize` bytes (made once for every worker). */
  /** `partial`: the worker was too far behind, and high-frequency entries were left out (their ids are a gap). */
  | {
      readonly kind: 'entries';
      readonly epoch: string;
      readonly bytes: Uint8Array;
      readonly partial: boolean;
      /** When the batch left (Date.now(), the machine's clock): the entries' age counts from then. */
      readonly sentAt: number;
    }
  | { readonly kind: 'answer'; readonly id: number; readonly answer: Answer }
  /** A graphql-ws upgrade the primary accepted: the socket comes as the message's handle. */
  | { readonly kind: 'upgrade'; readonly method: string; readonly url: string; readonly headers: Record<string, string | string[] | undefined>; readonly head: Uint8Array }
  /** Shutting down: end every subscription after what it has queued, close the sockets (1001), answer `closed`. */
  | { readonly kind: 'close' };

/** A worker's load and counters, sent every second, summed into the primary's /metrics. */
export interface WorkerReport {
  /** Bytes of `entries` messages taken since the last report (what bounds the primary's backlog for it). */
  readonly read: number;
  readonly connections: number;
  readonly subscribers: number;
  readonly queued: number;
  readonly delivered: ReadonlyMap<string, number>;
  readonly dropped: ReadonlyMap<string, number>;
  readonly expired: ReadonlyMap<string, number>;
  readonly sharedExecution: SharedExecutionStats;
  readonly sharedExecutionExpired: ReadonlyMap<string, number>;
}

/** What a worker sends the primary. */
export type FromWorker =
  | { readonly kind: 'ready' }
  | { readonly kind: 'call'; readonly id: number; readonly call: Call }
  /** A place in the quota the primary gave (`admit`) is free again. */
  | { readonly kind: 'release'; readonly ticket: number }
  | { readonly kind: 'report'; readonly report: WorkerReport }
  /** Every socket is closed and every subscription ended: the worker may be let go. */
  | { readonly kind: 'closed' };
