/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Conditions on ActionExecuted events: all given must hold. Events of other kinds are not affected. */
export type ActionExecutedWhere = {
  /** ActionExecuted.action.kind. */
  action?: ActionKindCondition | null | undefined;
  /** ActionExecuted.action.price. */
  price?: FloatCondition | null | undefined;
  /** ActionExecuted.action.quantity. */
  quantity?: FloatCondition | null | undefined;
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
};

/** What a strategy asks for on a tick. */
export type ActionKind =
  /** Open a long position. */
  | 'ENTER_LONG'
  /** Open a short position. */
  | 'ENTER_SHORT'
  /** Close the open position. */
  | 'EXIT'
  /** Do nothing. */
  | 'HOLD';

/** Comparisons on a value of ActionKind: eq or in (the enum has no order); when both are given, both must hold. */
export type ActionKindCondition = {
  /** Equal to this. */
  eq?: ActionKind | null | undefined;
  /** Equal to one of these (at most 50); an empty list matches nothing. */
  in?: Array<ActionKind> | null | undefined;
};

/** Severity of a runner error, ordered: WARNING < ERROR < CRITICAL. */
export type ErrorSeverity =
  /** A failure that stops the runner; always delivered. */
  | 'CRITICAL'
  /** A failure the runner survived (a bad tick, a throwing strategy). */
  | 'ERROR'
  /** Something odd that the runner ignored. */
  | 'WARNING';

/** Comparisons on an ErrorSeverity, in its order WARNING < ERROR < CRITICAL. Every operator given must hold (AND). */
export type ErrorSeverityCondition = {
  /** Equal to this. */
  eq?: ErrorSeverity | null | undefined;
  /** More severe than this. */
  gt?: ErrorSeverity | null | undefined;
  /** At least this severe. */
  gte?: ErrorSeverity | null | undefined;
  /** Equal to one of these (at most 50); an empty list matches nothing. */
  in?: Array<ErrorSeverity> | null | undefined;
  /** Less severe than this. */
  lt?: ErrorSeverity | null | undefined;
  /** At most this severe. */
  lte?: ErrorSeverity | null | undefined;
};

/** The kind of an event: one value per member of the RunnerEvent union. */
export type EventType =
  /** A runner executed an action of its strategy. */
  | 'ACTION_EXECUTED'
  /** Something went wrong in a runner (critical when its severity is CRITICAL). */
  | 'ERROR'
  /** A position was closed with a realized P&L. */
  | 'POSITION_CLOSED'
  /** A position was opened. */
  | 'POSITION_OPENED'
  /** The open position was marked to a new price (high-frequency). */
  | 'POSITION_UPDATED'
  /** A runner came up. */
  | 'RUNNER_STARTED'
  /** A runner stopped for good (critical: never dropped). */
  | 'RUNNER_STOPPED'
  /** A runner's state machine changed state. */
  | 'STATE_TRANSITION'
  /** Periodic statistics of a runner. */
  | 'STATS_UPDATE'
  /** A tick of market data reached a runner (high-frequency). */
  | 'TICK_RECEIVED';

/** Typed field predicates, one entry per kind of event. An entry constrains only events of its kind: an event of a kind not named here (or named with no operators) passes as without where, and where never lets through what the other arguments (types, runnerIds, symbols, minSeverity) drop. Inside an entry all field conditions must hold, and inside a condition all operators. At most 20 operators in one where and 50 values in one in. Nested values are flattened: actionExecuted.action is the action's kind, beside its price and quantity; positionOpened compares the position's side, quantity and entryPrice. */
export type EventWhere = {
  /** Conditions on ActionExecuted events. */
  actionExecuted?: ActionExecutedWhere | null | undefined;
  /** Conditions on PositionClosed events. */
  positionClosed?: PositionClosedWhere | null | undefined;
  /** Conditions on PositionOpened events. */
  positionOpened?: PositionOpenedWhere | null | undefined;
  /** Conditions on PositionUpdated events. */
  positionUpdated?: PositionUpdatedWhere | null | undefined;
  /** Conditions on RunnerError events. */
  runnerError?: RunnerErrorWhere | null | undefined;
  /** Conditions on RunnerStarted events. */
  runnerStarted?: RunnerStartedWhere | null | undefined;
  /** Conditions on RunnerStopped events. */
  runnerStopped?: RunnerStoppedWhere | null | undefined;
  /** Conditions on StateTransition events. */
  stateTransition?: StateTransitionWhere | null | undefined;
  /** Conditions on StatsUpdate events. */
  statsUpdate?: StatsUpdateWhere | null | undefined;
  /** Conditions on TickReceived events. */
  tickReceived?: TickReceivedWhere | null | undefined;
};

/** Where the runner gets its ticks. Defaults: simulated at 100 ticks/s. */
export type FeedInput = {
  /** Simulated: annualized volatility as a fraction, 0 to 5 (default the symbol's: BTCUSDT 0.6, ETHUSDT 0.75, SOLUSDT 1.0, others 0.8), scaled to the tick rate and speed. */
  annualVolatility?: number | null | undefined;
  /** SIMULATED (default) or REPLAY. */
  kind?: FeedKind | null | undefined;
  /** Replay: start again at the end of the file. */
  loop?: boolean | null | undefined;
  /** Replay: path of a regular file relative to the server's REPLAY_DIR (no absolute path, no .., never leading out of it); refused when REPLAY_DIR is not set. */
  path?: string | null | undefined;
  /** Simulated: seed of the random walk (default derived from the runner id). */
  seed?: number | null | undefined;
  /** Simulated: seconds of market time per second, above 0 and at most 10000 (default 1); 60 moves the price in a second as a real market moves in a minute. */
  speed?: number | null | undefined;
  /** Simulated: bid/ask spread in basis points, 0 to 1000 (default the symbol's: BTCUSDT 1, ETHUSDT 1.5, SOLUSDT 3, others 5). */
  spreadBps?: number | null | undefined;
  /** Simulated: first price, 0.000001 to 1000000000. */
  startPrice?: number | null | undefined;
  /** Tick rate (simulated: default 100; replay: default 1000). The rates of all running runners together may not exceed the server's MAX_TOTAL_TICKS_PER_SECOND (default 20000). */
  ticksPerSecond?: number | null | undefined;
  /** Simulated: standard deviation of the per-tick log return, 0 to 0.1; overrides annualVolatility (give one of volatility, or annualVolatility and speed). */
  volatility?: number | null | undefined;
};

/** Where ticks come from. */
export type FeedKind =
  /** A recorded CSV or JSONL file on the server. */
  | 'REPLAY'
  /** A seeded random walk. */
  | 'SIMULATED';

/** Comparisons on a number. Every operator given must hold (AND); a null operator does not filter. A null field value matches no operator. */
export type FloatCondition = {
  /** Equal to this. */
  eq?: number | null | undefined;
  /** Greater than this. */
  gt?: number | null | undefined;
  /** Greater than or equal to this. */
  gte?: number | null | undefined;
  /** Equal to one of these (at most 50); an empty list matches nothing. */
  in?: Array<number> | null | undefined;
  /** Less than this. */
  lt?: number | null | undefined;
  /** Less than or equal to this. */
  lte?: number | null | undefined;
};

/** Conditions on PositionClosed events: all given must hold. Events of other kinds are not affected. */
export type PositionClosedWhere = {
  /** PositionClosed.exitPrice. */
  exitPrice?: FloatCondition | null | undefined;
  /** PositionClosed.realizedPnl. */
  realizedPnl?: FloatCondition | null | undefined;
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
};

/** Conditions on PositionOpened events: all given must hold. Events of other kinds are not affected. */
export type PositionOpenedWhere = {
  /** PositionOpened.position.entryPrice. */
  entryPrice?: FloatCondition | null | undefined;
  /** PositionOpened.position.quantity. */
  quantity?: FloatCondition | null | undefined;
  /** PositionOpened.position.side. */
  side?: PositionSideCondition | null | undefined;
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
};

/** Direction of a position. */
export type PositionSide =
  /** Bought: gains when the price rises. */
  | 'LONG'
  /** Sold: gains when the price falls. */
  | 'SHORT';

/** Comparisons on a value of PositionSide: eq or in (the enum has no order); when both are given, both must hold. */
export type PositionSideCondition = {
  /** Equal to this. */
  eq?: PositionSide | null | undefined;
  /** Equal to one of these (at most 50); an empty list matches nothing. */
  in?: Array<PositionSide> | null | undefined;
};

/** Conditions on PositionUpdated events: all given must hold. Events of other kinds are not affected. */
export type PositionUpdatedWhere = {
  /** PositionUpdated.currentPrice. */
  currentPrice?: FloatCondition | null | undefined;
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
  /** PositionUpdated.unrealizedPnl. */
  unrealizedPnl?: FloatCondition | null | undefined;
};

/** What a token may do. */
export type Role =
  /** Also start and stop runners. */
  | 'OPERATOR'
  /** Watch and query. */
  | 'VIEWER';

/** Conditions on RunnerError events: all given must hold. Events of other kinds are not affected. */
export type RunnerErrorWhere = {
  /** RunnerError.severity. */
  severity?: ErrorSeverityCondition | null | undefined;
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
};

/** Conditions on RunnerStarted events: all given must hold. Events of other kinds are not affected. */
export type RunnerStartedWhere = {
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
};

/** The states of a runner's state machine. */
export type RunnerState =
  /** Flat, feeding ticks to the strategy. */
  | 'ANALYZING'
  /** Opening a position. */
  | 'ENTERING'
  /** Closing the position. */
  | 'EXITING'
  /** Created, not started yet. */
  | 'IDLE'
  /** Holding a position. */
  | 'IN_POSITION'
  /** Stopped for good. */
  | 'STOPPED';

/** Comparisons on a value of RunnerState: eq or in (the enum has no order); when both are given, both must hold. */
export type RunnerStateCondition = {
  /** Equal to this. */
  eq?: RunnerState | null | undefined;
  /** Equal to one of these (at most 50); an empty list matches nothing. */
  in?: Array<RunnerState> | null | undefined;
};

/** Conditions on RunnerStopped events: all given must hold. Events of other kinds are not affected. */
export type RunnerStoppedWhere = {
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
};

/** A runner to start. Only id and symbol are required. */
export type StartRunnerInput = {
  /** Fraction of notional charged per fill, 0 to below 0.1 (default 0). */
  feeRate?: number | null | undefined;
  /** Feed settings (default simulated 100 ticks/s). */
  feed?: FeedInput | null | undefined;
  /** Unique id (letters, digits, _ . : -, at most 64). */
  id: string;
  /** Strategy parameters; the rest keep their defaults. */
  params?: Array<StrategyParamInput> | null | undefined;
  /** Units per position, above 0 and at most 1000000 (default 1). */
  quantity?: number | null | undefined;
  /** Milliseconds between StatsUpdate events (default 1000). */
  statsIntervalMs?: number | null | undefined;
  /** Stop the runner on its first error (default false). */
  stopOnError?: boolean | null | undefined;
  /** ema_crossover (default) or mean_reversion. */
  strategy?: string | null | undefined;
  /** Symbol to trade, e.g. BTCUSDT. */
  symbol: string;
};

/** Conditions on StateTransition events: all given must hold. Events of other kinds are not affected. */
export type StateTransitionWhere = {
  /** StateTransition.from. */
  from?: RunnerStateCondition | null | undefined;
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
  /** StateTransition.to. */
  to?: RunnerStateCondition | null | undefined;
};

/** Conditions on StatsUpdate events: all given must hold. Events of other kinds are not affected. */
export type StatsUpdateWhere = {
  /** StatsUpdate.actionsExecuted. */
  actionsExecuted?: FloatCondition | null | undefined;
  /** StatsUpdate.errorRate. */
  errorRate?: FloatCondition | null | undefined;
  /** StatsUpdate.lastPrice (null matches no operator). */
  lastPrice?: FloatCondition | null | undefined;
  /** StatsUpdate.realizedPnl. */
  realizedPnl?: FloatCondition | null | undefined;
  /** StatsUpdate.ticksPerSecond. */
  ticksPerSecond?: FloatCondition | null | undefined;
  /** StatsUpdate.ticksProcessed. */
  ticksProcessed?: FloatCondition | null | undefined;
  /** The event's timestamp. */
  timestamp?: TimestampCondition | null | undefined;
};

/** One strategy parameter to set. */
export type StrategyParamInput = {
  /** Parameter name, e.g. fastPeriod. */
  name: string;
  /** Its value. */
  value: number;
};

/** Conditions on TickReceived events: all given must hold. Events of other kinds are not affected. */
export type TickReceivedWhere = {
  /** TickReceived.data.ask. */
  ask?: FloatCondition | null | undefined;
  /** TickReceived.data.bid. */
  bid?: FloatCondition | null | undefined;
  /** TickReceived.data.close. */
  close?: FloatCondition | null | undefined;
  /** TickReceived.data.high. */
  high?: FloatCondition | null | undefined;
  /** TickReceived.data.low. */
  low?: FloatCondition | null | undefined;
  /** TickReceived.data.open. */
  open?: FloatCondition | null | undefined;
  /** The event's timestamp (data.timestamp). */
  timestamp?: TimestampCondition | null | undefined;
  /** TickReceived.data.volume. */
  volume?: FloatCondition | null | undefined;
};

/** Comparisons on a Timestamp (ms since the epoch). Every operator given must hold (AND); a null operator does not filter. */
export type TimestampCondition = {
  /** Equal to this. */
  eq?: number | null | undefined;
  /** Greater than this. */
  gt?: number | null | undefined;
  /** Greater than or equal to this. */
  gte?: number | null | undefined;
  /** Equal to one of these (at most 50); an empty list matches nothing. */
  in?: Array<number> | null | undefined;
  /** Less than this. */
  lt?: number | null | undefined;
  /** Less than or equal to this. */
  lte?: number | null | undefined;
};

export type EventsSubscriptionVariables = Exact<{
  runnerIds?: Array<string> | string | null | undefined;
  symbols?: Array<string> | string | null | undefined;
  types?: Array<EventType> | EventType | null | undefined;
  minSeverity?: ErrorSeverity | null | undefined;
  replay?: number | null | undefined;
  after?: string | null | undefined;
  epoch?: string | null | undefined;
  snapshot?: boolean | null | undefined;
  throttleMs?: number | null | undefined;
  where?: EventWhere | null | undefined;
}>;


export type EventsSubscription = { events:
    | { __typename: 'ActionExecuted', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, action: { kind: ActionKind, symbol: string, price: number, quantity: number, reason: string } }
    | { __typename: 'PositionClosed', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, exitPrice: number, realizedPnl: number, reason: string }
    | { __typename: 'PositionOpened', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, position: { symbol: string, side: PositionSide, quantity: number, entryPrice: number, entryTime: number } }
    | { __typename: 'PositionUpdated', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, currentPrice: number, unrealizedPnl: number }
    | { __typename: 'RunnerError', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, error: string, severity: ErrorSeverity }
    | { __typename: 'RunnerStarted', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, symbol: string }
    | { __typename: 'RunnerStopped', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, reason: string }
    | { __typename: 'StateTransition', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, from: RunnerState, to: RunnerState, reason: string }
    | { __typename: 'StatsUpdate', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, ticksProcessed: number, actionsExecuted: number, errorRate: number, realizedPnl: number, lastPrice: number | null, ticksPerSecond: number, openPosition: { symbol: string, side: PositionSide, quantity: number, entryPrice: number, entryTime: number } | null }
    | { __typename: 'StreamGap', missed: number | null, fromId: string | null, toId: string | null, reason: string, epoch: string | null }
    | { __typename: 'TickReceived', id: string, runnerId: string, timestamp: number, type: EventType, snapshot: boolean, symbol: string, data: { symbol: string, timestamp: number, open: number, high: number, low: number, close: number, volume: number, bid: number, ask: number } }
   };

export type LogEpochQueryVariables = Exact<{ [key: string]: never; }>;


export type LogEpochQuery = { log: { epoch: string } };

export type RunnerFieldsFragment = { id: string, symbol: string, strategy: string, state: RunnerState, quantity: number, feeRate: number, lastPrice: number | null, realizedPnl: number, unrealizedPnl: number, canManage: boolean, params: Array<{ name: string, value: number }>, position: { side: PositionSide, quantity: number, entryPrice: number } | null };

export type RunnersQueryVariables = Exact<{ [key: string]: never; }>;


export type RunnersQuery = { runners: Array<{ id: string, symbol: string, strategy: string, state: RunnerState, quantity: number, feeRate: number, lastPrice: number | null, realizedPnl: number, unrealizedPnl: number, canManage: boolean, stats: { ticksProcessed: number, actionsExecuted: number, errorRate: number }, params: Array<{ name: string, value: number }>, position: { side: PositionSide, quantity: number, entryPrice: number } | null }> };

export type StartRunnerMutationVariables = Exact<{
  input: StartRunnerInput;
}>;


export type StartRunnerMutation = { startRunner: { id: string, symbol: string, strategy: string, state: RunnerState } };

export type StopRunnerMutationVariables = Exact<{
  id: string;
  reason?: string | null | undefined;
}>;


export type StopRunnerMutation = { stopRunner: { id: string, state: RunnerState, stopReason: string | null } };

export type DashboardQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardQuery = { me: { name: string, role: Role }, runners: Array<{ startedAt: number, id: string, symbol: string, strategy: string, state: RunnerState, quantity: number, feeRate: number, lastPrice: number | null, realizedPnl: number, unrealizedPnl: number, canManage: boolean, params: Array<{ name: string, value: number }>, position: { side: PositionSide, quantity: number, entryPrice: number } | null }> };

export type RestartRunnerMutationVariables = Exact<{
  id: string;
}>;


export type RestartRunnerMutation = { restartRunner: { id: string, state: RunnerState } };

export type RunnerChartQueryVariables = Exact<{
  id: string;
  intervalMs?: number | null | undefined;
  last?: number | null | undefined;
  statsLast?: number | null | undefined;
}>;


export type RunnerChartQuery = { runner: { id: string, feeRate: number, candles: Array<{ start: number, open: number, high: number, low: number, close: number, ticks: number }> } | null, recentEvents: Array<
    | { __typename: 'ActionExecuted' }
    | { __typename: 'PositionClosed', id: string, timestamp: number, exitPrice: number, realizedPnl: number }
    | { __typename: 'PositionOpened', id: string, timestamp: number, position: { side: PositionSide, entryPrice: number } }
    | { __typename: 'PositionUpdated' }
    | { __typename: 'RunnerError' }
    | { __typename: 'RunnerStarted' }
    | { __typename: 'RunnerStopped' }
    | { __typename: 'StateTransition' }
    | { __typename: 'StatsUpdate' }
    | { __typename: 'StreamGap' }
    | { __typename: 'TickReceived' }
  >, stats: Array<
    | { __typename: 'ActionExecuted' }
    | { __typename: 'PositionClosed' }
    | { __typename: 'PositionOpened' }
    | { __typename: 'PositionUpdated' }
    | { __typename: 'RunnerError' }
    | { __typename: 'RunnerStarted' }
    | { __typename: 'RunnerStopped' }
    | { __typename: 'StateTransition' }
    | { __typename: 'StatsUpdate', timestamp: number, realizedPnl: number, lastPrice: number | null, openPosition: { side: PositionSide, quantity: number, entryPrice: number } | null }
    | { __typename: 'StreamGap' }
    | { __typename: 'TickReceived' }
  > };

export const RunnerFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunnerFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Runner"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"strategy"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"params"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"feeRate"}},{"kind":"Field","name":{"kind":"Name","value":"lastPrice"}},{"kind":"Field","name":{"kind":"Name","value":"realizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"unrealizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"position"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"entryPrice"}}]}},{"kind":"Field","name":{"kind":"Name","value":"canManage"}}]}}]} as unknown as DocumentNode<RunnerFieldsFragment, unknown>;
export const EventsDocument = {"__meta__":{"hash":"d6891c5867ca79ac384de4b7cebe56a3d0bf718cd547339520fb3d4b0bc286b0"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"Events"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"runnerIds"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"symbols"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"types"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"EventType"}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"minSeverity"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ErrorSeverity"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"replay"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"epoch"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"snapshot"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"throttleMs"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"where"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"EventWhere"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"events"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"runnerIds"},"value":{"kind":"Variable","name":{"kind":"Name","value":"runnerIds"}}},{"kind":"Argument","name":{"kind":"Name","value":"symbols"},"value":{"kind":"Variable","name":{"kind":"Name","value":"symbols"}}},{"kind":"Argument","name":{"kind":"Name","value":"types"},"value":{"kind":"Variable","name":{"kind":"Name","value":"types"}}},{"kind":"Argument","name":{"kind":"Name","value":"minSeverity"},"value":{"kind":"Variable","name":{"kind":"Name","value":"minSeverity"}}},{"kind":"Argument","name":{"kind":"Name","value":"replay"},"value":{"kind":"Variable","name":{"kind":"Name","value":"replay"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"epoch"},"value":{"kind":"Variable","name":{"kind":"Name","value":"epoch"}}},{"kind":"Argument","name":{"kind":"Name","value":"snapshot"},"value":{"kind":"Variable","name":{"kind":"Name","value":"snapshot"}}},{"kind":"Argument","name":{"kind":"Name","value":"throttleMs"},"value":{"kind":"Variable","name":{"kind":"Name","value":"throttleMs"}}},{"kind":"Argument","name":{"kind":"Name","value":"where"},"value":{"kind":"Variable","name":{"kind":"Name","value":"where"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StreamGap"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"missed"}},{"kind":"Field","name":{"kind":"Name","value":"fromId"}},{"kind":"Field","name":{"kind":"Name","value":"toId"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"epoch"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Event"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"runnerId"}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"snapshot"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RunnerStarted"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"symbol"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RunnerStopped"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"TickReceived"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"data"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}},{"kind":"Field","name":{"kind":"Name","value":"open"}},{"kind":"Field","name":{"kind":"Name","value":"high"}},{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"close"}},{"kind":"Field","name":{"kind":"Name","value":"volume"}},{"kind":"Field","name":{"kind":"Name","value":"bid"}},{"kind":"Field","name":{"kind":"Name","value":"ask"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StateTransition"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"from"}},{"kind":"Field","name":{"kind":"Name","value":"to"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ActionExecuted"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"price"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"PositionOpened"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"position"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"entryPrice"}},{"kind":"Field","name":{"kind":"Name","value":"entryTime"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"PositionUpdated"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"currentPrice"}},{"kind":"Field","name":{"kind":"Name","value":"unrealizedPnl"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"PositionClosed"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"exitPrice"}},{"kind":"Field","name":{"kind":"Name","value":"realizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RunnerError"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"severity"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StatsUpdate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ticksProcessed"}},{"kind":"Field","name":{"kind":"Name","value":"actionsExecuted"}},{"kind":"Field","name":{"kind":"Name","value":"errorRate"}},{"kind":"Field","name":{"kind":"Name","value":"realizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"lastPrice"}},{"kind":"Field","name":{"kind":"Name","value":"ticksPerSecond"}},{"kind":"Field","name":{"kind":"Name","value":"openPosition"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"entryPrice"}},{"kind":"Field","name":{"kind":"Name","value":"entryTime"}}]}}]}}]}}]}}]} as unknown as DocumentNode<EventsSubscription, EventsSubscriptionVariables>;
export const LogEpochDocument = {"__meta__":{"hash":"ff76efbe0bfae8ff7b8ea682e405573af62fa5e56b21a893c6a15088b0091cfa"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"LogEpoch"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"log"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"epoch"}}]}}]}}]} as unknown as DocumentNode<LogEpochQuery, LogEpochQueryVariables>;
export const RunnersDocument = {"__meta__":{"hash":"c43256b8a98fac0c371fb8e272e0462c1e5ef84c0cf39ad6367255ebbd17000f"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Runners"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runners"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunnerFields"}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ticksProcessed"}},{"kind":"Field","name":{"kind":"Name","value":"actionsExecuted"}},{"kind":"Field","name":{"kind":"Name","value":"errorRate"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunnerFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Runner"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"strategy"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"params"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"feeRate"}},{"kind":"Field","name":{"kind":"Name","value":"lastPrice"}},{"kind":"Field","name":{"kind":"Name","value":"realizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"unrealizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"position"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"entryPrice"}}]}},{"kind":"Field","name":{"kind":"Name","value":"canManage"}}]}}]} as unknown as DocumentNode<RunnersQuery, RunnersQueryVariables>;
export const StartRunnerDocument = {"__meta__":{"hash":"c5da2df91d124a31fbf9a0423d7d70e768434f17640db22b978ebd5a9b16c90b"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"StartRunner"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"StartRunnerInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"startRunner"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"strategy"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}}]}}]} as unknown as DocumentNode<StartRunnerMutation, StartRunnerMutationVariables>;
export const StopRunnerDocument = {"__meta__":{"hash":"92afaa0733cdf08b2071abc031e64de9fbfd042dd34402ffafb092abbb5b77bb"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"StopRunner"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"reason"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stopRunner"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"reason"},"value":{"kind":"Variable","name":{"kind":"Name","value":"reason"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"stopReason"}}]}}]}}]} as unknown as DocumentNode<StopRunnerMutation, StopRunnerMutationVariables>;
export const DashboardDocument = {"__meta__":{"hash":"e2a943cd55e4cf7cd1fea400557851c2b5b1f172738522de51871006d82b386c"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Dashboard"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"role"}}]}},{"kind":"Field","name":{"kind":"Name","value":"runners"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"RunnerFields"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"RunnerFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Runner"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"strategy"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"params"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"feeRate"}},{"kind":"Field","name":{"kind":"Name","value":"lastPrice"}},{"kind":"Field","name":{"kind":"Name","value":"realizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"unrealizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"position"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"entryPrice"}}]}},{"kind":"Field","name":{"kind":"Name","value":"canManage"}}]}}]} as unknown as DocumentNode<DashboardQuery, DashboardQueryVariables>;
export const RestartRunnerDocument = {"__meta__":{"hash":"b213a12e4b4614b993ee4a6b99ba8c1f260d49541b6a751056de09fadcd3a927"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RestartRunner"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"restartRunner"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}}]}}]} as unknown as DocumentNode<RestartRunnerMutation, RestartRunnerMutationVariables>;
export const RunnerChartDocument = {"__meta__":{"hash":"6bb2aa6f1961e3720978330007c8850f054405e187a431dcd17aecb53ef8674e"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"RunnerChart"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"intervalMs"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"last"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"statsLast"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runner"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"feeRate"}},{"kind":"Field","name":{"kind":"Name","value":"candles"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"intervalMs"},"value":{"kind":"Variable","name":{"kind":"Name","value":"intervalMs"}}},{"kind":"Argument","name":{"kind":"Name","value":"last"},"value":{"kind":"Variable","name":{"kind":"Name","value":"last"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"start"}},{"kind":"Field","name":{"kind":"Name","value":"open"}},{"kind":"Field","name":{"kind":"Name","value":"high"}},{"kind":"Field","name":{"kind":"Name","value":"low"}},{"kind":"Field","name":{"kind":"Name","value":"close"}},{"kind":"Field","name":{"kind":"Name","value":"ticks"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"recentEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"runnerIds"},"value":{"kind":"ListValue","values":[{"kind":"Variable","name":{"kind":"Name","value":"id"}}]}},{"kind":"Argument","name":{"kind":"Name","value":"types"},"value":{"kind":"ListValue","values":[{"kind":"EnumValue","value":"POSITION_OPENED"},{"kind":"EnumValue","value":"POSITION_CLOSED"}]}},{"kind":"Argument","name":{"kind":"Name","value":"last"},"value":{"kind":"IntValue","value":"400"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"PositionOpened"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}},{"kind":"Field","name":{"kind":"Name","value":"position"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"entryPrice"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"PositionClosed"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}},{"kind":"Field","name":{"kind":"Name","value":"exitPrice"}},{"kind":"Field","name":{"kind":"Name","value":"realizedPnl"}}]}}]}},{"kind":"Field","alias":{"kind":"Name","value":"stats"},"name":{"kind":"Name","value":"recentEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"runnerIds"},"value":{"kind":"ListValue","values":[{"kind":"Variable","name":{"kind":"Name","value":"id"}}]}},{"kind":"Argument","name":{"kind":"Name","value":"types"},"value":{"kind":"ListValue","values":[{"kind":"EnumValue","value":"STATS_UPDATE"}]}},{"kind":"Argument","name":{"kind":"Name","value":"last"},"value":{"kind":"Variable","name":{"kind":"Name","value":"statsLast"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"StatsUpdate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"timestamp"}},{"kind":"Field","name":{"kind":"Name","value":"realizedPnl"}},{"kind":"Field","name":{"kind":"Name","value":"lastPrice"}},{"kind":"Field","name":{"kind":"Name","value":"openPosition"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"entryPrice"}}]}}]}}]}}]}}]} as unknown as DocumentNode<RunnerChartQuery, RunnerChartQueryVariables>;