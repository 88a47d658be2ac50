import { graphql } from './generated/gql.js';

/**
 * The operations of the typed client. codegen reads this file and generates
 * TypedDocumentNodes for them in ./generated; edit here, then `npm run codegen`.
 */

/**
 * Every field of every event: what a dashboard showing everything selects. `where` is
 * typed per variant (EventWhere), e.g. `{ tickReceived: { close: { gt: 61000 } } }`.
 */
export const EventsDocument = graphql(`
  subscription Events(
    $runnerIds: [ID!]
    $symbols: [String!]
    $types: [EventType!]
    $minSeverity: ErrorSeverity
    $replay: Int
    $after: ID
    $epoch: String
    $snapshot: Boolean
    $throttleMs: Int
    $where: EventWhere
  ) {
    events(
      runnerIds: $runnerIds
      symbols: $symbols
      types: $types
      minSeverity: $minSeverity
      replay: $replay
      after: $after
      epoch: $epoch
      snapshot: $snapshot
      throttleMs: $throttleMs
      where: $where
    ) {
      __typename
      ... on StreamGap {
        missed
        fromId
        toId
        reason
        epoch
      }
      ... on Event {
        id
        runnerId
        timestamp
        type
        snapshot
      }
      ... on RunnerStarted {
        symbol
      }
      ... on RunnerStopped {
        reason
      }
      ... on TickReceived {
        symbol
        data {
          symbol
          timestamp
          open
          high
          low
          close
          volume
          bid
          ask
        }
      }
      ... on StateTransition {
        from
        to
        reason
      }
      ... on ActionExecuted {
        action {
          kind
          symbol
          price
          quantity
          reason
        }
      }
      ... on PositionOpened {
        position {
          symbol
          side
          quantity
          entryPrice
          entryTime
        }
      }
      ... on PositionUpdated {
        currentPrice
        unrealizedPnl
      }
      ... on PositionClosed {
        exitPrice
        realizedPnl
        reason
      }
      ... on RunnerError {
        error
        severity
      }
      ... on StatsUpdate {
        ticksProcessed
        actionsExecuted
        errorRate
        realizedPnl
        lastPrice
        ticksPerSecond
        openPosition {
          symbol
          side
          quantity
          entryPrice
          entryTime
        }
      }
    }
  }
`);

/** The log's epoch: what the client sends back with `after` when it resumes. */
export const LogEpochDocument = graphql(`
  query LogEpoch {
    log {
      epoch
    }
  }
`);

/** What a screen shows of a runner: shared by the Runners and Dashboard queries. */
export const RunnerFieldsFragment = graphql(`
  fragment RunnerFields on Runner {
    id
    symbol
    strategy
    state
    params {
      name
      value
    }
    quantity
    feeRate
    lastPrice
    realizedPnl
    unrealizedPnl
    position {
      side
      quantity
      entryPrice
    }
    canManage
  }
`);

/** The runners with their live state. */
export const RunnersDocument = graphql(`
  query Runners {
    runners {
      ...RunnerFields
      stats {
        ticksProcessed
        actionsExecuted
        errorRate
      }
    }
  }
`);

/** Starts a runner; only id and symbol are required. */
export const StartRunnerDocument = graphql(`
  mutation StartRunner($input: StartRunnerInput!) {
    startRunner(input: $input) {
      id
      symbol
      strategy
      state
    }
  }
`);

/** Stops a runner, closing its open position. */
export const StopRunnerDocument = graphql(`
  mutation StopRunner($id: ID!, $reason: String) {
    stopRunner(id: $id, reason: $reason) {
      id
      state
      stopReason
    }
  }
`);

/** What the dashboard loads first: who is asking, and every runner it may see (and when it started: its strategy's warm-up). */
export const DashboardDocument = graphql(`
  query Dashboard {
    me {
      name
      role
    }
    runners {
      ...RunnerFields
      startedAt
    }
  }
`);

/** Starts a stopped runner again as it was configured. */
export const RestartRunnerDocument = graphql(`
  mutation RestartRunner($id: ID!) {
    restartRunner(id: $id) {
      id
      state
    }
  }
`);

/**
 * What a chart of one runner draws first: its recent candles, entries and exits, and the
 * stats its equity curve is drawn from (realized P&L, and the open position at the last
 * price, with the runner's fee rate).
 */
export const RunnerChartDocument = graphql(`
  query RunnerChart($id: ID!, $intervalMs: Int, $last: Int, $statsLast: Int) {
    runner(id: $id) {
      id
      feeRate
      candles(intervalMs: $intervalMs, last: $last) {
        start
        open
        high
        low
        close
        ticks
      }
    }
    recentEvents(runnerIds: [$id], types: [POSITION_OPENED, POSITION_CLOSED], last: 400) {
      __typename
      ... on PositionOpened {
        id
        timestamp
        position {
          side
          entryPrice
        }
      }
      ... on PositionClosed {
        id
        timestamp
        exitPrice
        realizedPnl
      }
    }
    stats: recentEvents(runnerIds: [$id], types: [STATS_UPDATE], last: $statsLast) {
      __typename
      ... on StatsUpdate {
        timestamp
        realizedPnl
        lastPrice
        openPosition {
          side
          quantity
          entryPrice
        }
      }
    }
  }
`);
