import SchemaBuilder from '@pothos/core';
import type { EventBus } from '../../log/bus.js';
import type { EngineControl } from '../../engine/engine.js';
import type { EventStore } from '../../store/store.js';
import type { Principal } from './principal.js';

/** What every resolver can reach: the engine to drive and the bus to subscribe to. */
export interface SchemaContext {
  /** The engine to drive: local, or remote over Redis. */
  readonly engine: EngineControl;
  readonly bus: EventBus;
  /** The event store for history queries and resume beyond memory; null without one. */
  readonly store: EventStore | null;
  /** Who is asking: what they may see and do. */
  readonly principal: Principal;
  /**
   * REPLAY_DIR: the folder replay feeds started through the API read from (paths are
   * relative to it and never leave it); null or absent: the API refuses replay feeds.
   */
  readonly replayDir?: string | null;
}

/** The Pothos types of the tickwire schema. */
export interface SchemaTypes {
  Context: SchemaContext;
  Scalars: {
    Timestamp: { Input: number; Output: number };
    ID: { Input: string; Output: string | number };
  };
  DefaultFieldNullability: false;
}

/**
 * The one schema builder. Fields are non-null by default: an event always has its
 * fields, and a nullable default would make every generated client type optional.
 */
export const builder = new SchemaBuilder<SchemaTypes>({ defaultFieldNullability: false });

/** The builder's full Pothos type parameter, for helpers that take field builders. */
export type BuilderTypes = PothosSchemaTypes.ExtendDefaultTypes<SchemaTypes>;
