/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  subscription Events(\n    $runnerIds: [ID!]\n    $symbols: [String!]\n    $types: [EventType!]\n    $minSeverity: ErrorSeverity\n    $replay: Int\n    $after: ID\n    $epoch: String\n    $snapshot: Boolean\n    $throttleMs: Int\n  ) {\n    events(\n      runnerIds: $runnerIds\n      symbols: $symbols\n      types: $types\n      minSeverity: $minSeverity\n      replay: $replay\n      after: $after\n      epoch: $epoch\n      snapshot: $snapshot\n      throttleMs: $throttleMs\n    ) {\n      __typename\n      ... on StreamGap {\n        missed\n        fromId\n        toId\n        reason\n        epoch\n      }\n      ... on Event {\n        id\n        runnerId\n        timestamp\n        type\n        snapshot\n      }\n      ... on RunnerStarted {\n        symbol\n      }\n      ... on RunnerStopped {\n        reason\n      }\n      ... on TickReceived {\n        symbol\n        data {\n          symbol\n          timestamp\n          open\n          high\n          low\n          close\n          volume\n          bid\n          ask\n        }\n      }\n      ... on StateTransition {\n        from\n        to\n        reason\n      }\n      ... on ActionExecuted {\n        action {\n          kind\n          symbol\n          price\n          quantity\n          reason\n        }\n      }\n      ... on PositionOpened {\n        position {\n          symbol\n          side\n          quantity\n          entryPrice\n          entryTime\n        }\n      }\n      ... on PositionUpdated {\n        currentPrice\n        unrealizedPnl\n      }\n      ... on PositionClosed {\n        exitPrice\n        realizedPnl\n        reason\n      }\n      ... on RunnerError {\n        error\n        severity\n      }\n      ... on StatsUpdate {\n        ticksProcessed\n        actionsExecuted\n        errorRate\n        realizedPnl\n        lastPrice\n        ticksPerSecond\n        openPosition {\n          symbol\n          side\n          quantity\n          entryPrice\n          entryTime\n        }\n      }\n    }\n  }\n": typeof types.EventsDocument,
    "\n  query LogEpoch {\n    log {\n      epoch\n    }\n  }\n": typeof types.LogEpochDocument,
    "\n  fragment RunnerFields on Runner {\n    id\n    symbol\n    strategy\n    state\n    params {\n      name\n      value\n    }\n    quantity\n    feeRate\n    lastPrice\n    realizedPnl\n    unrealizedPnl\n    position {\n      side\n      quantity\n      entryPrice\n    }\n    canManage\n  }\n": typeof types.RunnerFieldsFragmentDoc,
    "\n  query Runners {\n    runners {\n      ...RunnerFields\n      stats {\n        ticksProcessed\n        actionsExecuted\n        errorRate\n      }\n    }\n  }\n": typeof types.RunnersDocument,
    "\n  mutation StartRunner($input: StartRunnerInput!) {\n    startRunner(input: $input) {\n      id\n      symbol\n      strategy\n      state\n    }\n  }\n": typeof types.StartRunnerDocument,
    "\n  mutation StopRunner($id: ID!, $reason: String) {\n    stopRunner(id: $id, reason: $reason) {\n      id\n      state\n      stopReason\n    }\n  }\n": typeof types.StopRunnerDocument,
    "\n  query Dashboard {\n    me {\n      name\n      role\n    }\n    runners {\n      ...RunnerFields\n    }\n  }\n": typeof types.DashboardDocument,
    "\n  mutation RestartRunner($id: ID!) {\n    restartRunner(id: $id) {\n      id\n      state\n    }\n  }\n": typeof types.RestartRunnerDocument,
    "\n  query RunnerChart($id: ID!, $intervalMs: Int, $last: Int) {\n    runner(id: $id) {\n      id\n      candles(intervalMs: $intervalMs, last: $last) {\n        start\n        open\n        high\n        low\n        close\n        ticks\n      }\n    }\n    recentEvents(runnerIds: [$id], types: [POSITION_OPENED, POSITION_CLOSED], last: 400) {\n      __typename\n      ... on PositionOpened {\n        id\n        timestamp\n        position {\n          side\n          entryPrice\n        }\n      }\n      ... on PositionClosed {\n        id\n        timestamp\n        exitPrice\n        realizedPnl\n      }\n    }\n  }\n": typeof types.RunnerChartDocument,
};
const documents: Documents = {
    "\n  subscription Events(\n    $runnerIds: [ID!]\n    $symbols: [String!]\n    $types: [EventType!]\n    $minSeverity: ErrorSeverity\n    $replay: Int\n    $after: ID\n    $epoch: String\n    $snapshot: Boolean\n    $throttleMs: Int\n  ) {\n    events(\n      runnerIds: $runnerIds\n      symbols: $symbols\n      types: $types\n      minSeverity: $minSeverity\n      replay: $replay\n      after: $after\n      epoch: $epoch\n      snapshot: $snapshot\n      throttleMs: $throttleMs\n    ) {\n      __typename\n      ... on StreamGap {\n        missed\n        fromId\n        toId\n        reason\n        epoch\n      }\n      ... on Event {\n        id\n        runnerId\n        timestamp\n        type\n        snapshot\n      }\n      ... on RunnerStarted {\n        symbol\n      }\n      ... on RunnerStopped {\n        reason\n      }\n      ... on TickReceived {\n        symbol\n        data {\n          symbol\n          timestamp\n          open\n          high\n          low\n          close\n          volume\n          bid\n          ask\n        }\n      }\n      ... on StateTransition {\n        from\n        to\n        reason\n      }\n      ... on ActionExecuted {\n        action {\n          kind\n          symbol\n          price\n          quantity\n          reason\n        }\n      }\n      ... on PositionOpened {\n        position {\n          symbol\n          side\n          quantity\n          entryPrice\n          entryTime\n        }\n      }\n      ... on PositionUpdated {\n        currentPrice\n        unrealizedPnl\n      }\n      ... on PositionClosed {\n        exitPrice\n        realizedPnl\n        reason\n      }\n      ... on RunnerError {\n        error\n        severity\n      }\n      ... on StatsUpdate {\n        ticksProcessed\n        actionsExecuted\n        errorRate\n        realizedPnl\n        lastPrice\n        ticksPerSecond\n        openPosition {\n          symbol\n          side\n          quantity\n          entryPrice\n          entryTime\n        }\n      }\n    }\n  }\n": types.EventsDocument,
    "\n  query LogEpoch {\n    log {\n      epoch\n    }\n  }\n": types.LogEpochDocument,
    "\n  fragment RunnerFields on Runner {\n    id\n    symbol\n    strategy\n    state\n    params {\n      name\n      value\n    }\n    quantity\n    feeRate\n    lastPrice\n    realizedPnl\n    unrealizedPnl\n    position {\n      side\n      quantity\n      entryPrice\n    }\n    canManage\n  }\n": types.RunnerFieldsFragmentDoc,
    "\n  query Runners {\n    runners {\n      ...RunnerFields\n      stats {\n        ticksProcessed\n        actionsExecuted\n        errorRate\n      }\n    }\n  }\n": types.RunnersDocument,
    "\n  mutation StartRunner($input: StartRunnerInput!) {\n    startRunner(input: $input) {\n      id\n      symbol\n      strategy\n      state\n    }\n  }\n": types.StartRunnerDocument,
    "\n  mutation StopRunner($id: ID!, $reason: String) {\n    stopRunner(id: $id, reason: $reason) {\n      id\n      state\n      stopReason\n    }\n  }\n": types.StopRunnerDocument,
    "\n  query Dashboard {\n    me {\n      name\n      role\n    }\n    runners {\n      ...RunnerFields\n    }\n  }\n": types.DashboardDocument,
    "\n  mutation RestartRunner($id: ID!) {\n    restartRunner(id: $id) {\n      id\n      state\n    }\n  }\n": types.RestartRunnerDocument,
    "\n  query RunnerChart($id: ID!, $intervalMs: Int, $last: Int) {\n    runner(id: $id) {\n      id\n      candles(intervalMs: $intervalMs, last: $last) {\n        start\n        open\n        high\n        low\n        close\n        ticks\n      }\n    }\n    recentEvents(runnerIds: [$id], types: [POSITION_OPENED, POSITION_CLOSED], last: 400) {\n      __typename\n      ... on PositionOpened {\n        id\n        timestamp\n        position {\n          side\n          entryPrice\n        }\n      }\n      ... on PositionClosed {\n        id\n        timestamp\n        exitPrice\n        realizedPnl\n      }\n    }\n  }\n": types.RunnerChartDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Events(\n    $runnerIds: [ID!]\n    $symbols: [String!]\n    $types: [EventType!]\n    $minSeverity: ErrorSeverity\n    $replay: Int\n    $after: ID\n    $epoch: String\n    $snapshot: Boolean\n    $throttleMs: Int\n  ) {\n    events(\n      runnerIds: $runnerIds\n      symbols: $symbols\n      types: $types\n      minSeverity: $minSeverity\n      replay: $replay\n      after: $after\n      epoch: $epoch\n      snapshot: $snapshot\n      throttleMs: $throttleMs\n    ) {\n      __typename\n      ... on StreamGap {\n        missed\n        fromId\n        toId\n        reason\n        epoch\n      }\n      ... on Event {\n        id\n        runnerId\n        timestamp\n        type\n        snapshot\n      }\n      ... on RunnerStarted {\n        symbol\n      }\n      ... on RunnerStopped {\n        reason\n      }\n      ... on TickReceived {\n        symbol\n        data {\n          symbol\n          timestamp\n          open\n          high\n          low\n          close\n          volume\n          bid\n          ask\n        }\n      }\n      ... on StateTransition {\n        from\n        to\n        reason\n      }\n      ... on ActionExecuted {\n        action {\n          kind\n          symbol\n          price\n          quantity\n          reason\n        }\n      }\n      ... on PositionOpened {\n        position {\n          symbol\n          side\n          quantity\n          entryPrice\n          entryTime\n        }\n      }\n      ... on PositionUpdated {\n        currentPrice\n        unrealizedPnl\n      }\n      ... on PositionClosed {\n        exitPrice\n        realizedPnl\n        reason\n      }\n      ... on RunnerError {\n        error\n        severity\n      }\n      ... on StatsUpdate {\n        ticksProcessed\n        actionsExecuted\n        errorRate\n        realizedPnl\n        lastPrice\n        ticksPerSecond\n        openPosition {\n          symbol\n          side\n          quantity\n          entryPrice\n          entryTime\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription Events(\n    $runnerIds: [ID!]\n    $symbols: [String!]\n    $types: [EventType!]\n    $minSeverity: ErrorSeverity\n    $replay: Int\n    $after: ID\n    $epoch: String\n    $snapshot: Boolean\n    $throttleMs: Int\n  ) {\n    events(\n      runnerIds: $runnerIds\n      symbols: $symbols\n      types: $types\n      minSeverity: $minSeverity\n      replay: $replay\n      after: $after\n      epoch: $epoch\n      snapshot: $snapshot\n      throttleMs: $throttleMs\n    ) {\n      __typename\n      ... on StreamGap {\n        missed\n        fromId\n        toId\n        reason\n        epoch\n      }\n      ... on Event {\n        id\n        runnerId\n        timestamp\n        type\n        snapshot\n      }\n      ... on RunnerStarted {\n        symbol\n      }\n      ... on RunnerStopped {\n        reason\n      }\n      ... on TickReceived {\n        symbol\n        data {\n          symbol\n          timestamp\n          open\n          high\n          low\n          close\n          volume\n          bid\n          ask\n        }\n      }\n      ... on StateTransition {\n        from\n        to\n        reason\n      }\n      ... on ActionExecuted {\n        action {\n          kind\n          symbol\n          price\n          quantity\n          reason\n        }\n      }\n      ... on PositionOpened {\n        position {\n          symbol\n          side\n          quantity\n          entryPrice\n          entryTime\n        }\n      }\n      ... on PositionUpdated {\n        currentPrice\n        unrealizedPnl\n      }\n      ... on PositionClosed {\n        exitPrice\n        realizedPnl\n        reason\n      }\n      ... on RunnerError {\n        error\n        severity\n      }\n      ... on StatsUpdate {\n        ticksProcessed\n        actionsExecuted\n        errorRate\n        realizedPnl\n        lastPrice\n        ticksPerSecond\n        openPosition {\n          symbol\n          side\n          quantity\n          entryPrice\n          entryTime\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query LogEpoch {\n    log {\n      epoch\n    }\n  }\n"): (typeof documents)["\n  query LogEpoch {\n    log {\n      epoch\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment RunnerFields on Runner {\n    id\n    symbol\n    strategy\n    state\n    params {\n      name\n      value\n    }\n    quantity\n    feeRate\n    lastPrice\n    realizedPnl\n    unrealizedPnl\n    position {\n      side\n      quantity\n      entryPrice\n    }\n    canManage\n  }\n"): (typeof documents)["\n  fragment RunnerFields on Runner {\n    id\n    symbol\n    strategy\n    state\n    params {\n      name\n      value\n    }\n    quantity\n    feeRate\n    lastPrice\n    realizedPnl\n    unrealizedPnl\n    position {\n      side\n      quantity\n      entryPrice\n    }\n    canManage\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Runners {\n    runners {\n      ...RunnerFields\n      stats {\n        ticksProcessed\n        actionsExecuted\n        errorRate\n      }\n    }\n  }\n"): (typeof documents)["\n  query Runners {\n    runners {\n      ...RunnerFields\n      stats {\n        ticksProcessed\n        actionsExecuted\n        errorRate\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartRunner($input: StartRunnerInput!) {\n    startRunner(input: $input) {\n      id\n      symbol\n      strategy\n      state\n    }\n  }\n"): (typeof documents)["\n  mutation StartRunner($input: StartRunnerInput!) {\n    startRunner(input: $input) {\n      id\n      symbol\n      strategy\n      state\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StopRunner($id: ID!, $reason: String) {\n    stopRunner(id: $id, reason: $reason) {\n      id\n      state\n      stopReason\n    }\n  }\n"): (typeof documents)["\n  mutation StopRunner($id: ID!, $reason: String) {\n    stopRunner(id: $id, reason: $reason) {\n      id\n      state\n      stopReason\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Dashboard {\n    me {\n      name\n      role\n    }\n    runners {\n      ...RunnerFields\n    }\n  }\n"): (typeof documents)["\n  query Dashboard {\n    me {\n      name\n      role\n    }\n    runners {\n      ...RunnerFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RestartRunner($id: ID!) {\n    restartRunner(id: $id) {\n      id\n      state\n    }\n  }\n"): (typeof documents)["\n  mutation RestartRunner($id: ID!) {\n    restartRunner(id: $id) {\n      id\n      state\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunnerChart($id: ID!, $intervalMs: Int, $last: Int) {\n    runner(id: $id) {\n      id\n      candles(intervalMs: $intervalMs, last: $last) {\n        start\n        open\n        high\n        low\n        close\n        ticks\n      }\n    }\n    recentEvents(runnerIds: [$id], types: [POSITION_OPENED, POSITION_CLOSED], last: 400) {\n      __typename\n      ... on PositionOpened {\n        id\n        timestamp\n        position {\n          side\n          entryPrice\n        }\n      }\n      ... on PositionClosed {\n        id\n        timestamp\n        exitPrice\n        realizedPnl\n      }\n    }\n  }\n"): (typeof documents)["\n  query RunnerChart($id: ID!, $intervalMs: Int, $last: Int) {\n    runner(id: $id) {\n      id\n      candles(intervalMs: $intervalMs, last: $last) {\n        start\n        open\n        high\n        low\n        close\n        ticks\n      }\n    }\n    recentEvents(runnerIds: [$id], types: [POSITION_OPENED, POSITION_CLOSED], last: 400) {\n      __typename\n      ... on PositionOpened {\n        id\n        timestamp\n        position {\n          side\n          entryPrice\n        }\n      }\n      ... on PositionClosed {\n        id\n        timestamp\n        exitPrice\n        realizedPnl\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;