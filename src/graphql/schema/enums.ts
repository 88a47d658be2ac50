import type { ActionKind } from '../../domain/action.js';
import type { PositionSide } from '../../domain/position.js';
import type { RunnerState } from '../../domain/state.js';
import type { ErrorSeverity, EventVariant } from '../../events/types.js';
import { builder } from './builder.js';

/** GraphQL enum name of each event variant (SCREAMING_SNAKE_CASE of the variant). */
export const EVENT_TYPE_NAMES: Readonly<Record<EventVariant, string>> = {
  RunnerStarted: 'RUNNER_STARTED',
  RunnerStopped: 'RUNNER_STOPPED',
  TickReceived: 'TICK_RECEIVED',
  StateTransition: 'STATE_TRANSITION',
  ActionExecuted: 'ACTION_EXECUTED',
  PositionOpened: 'POSITION_OPENED',
  PositionUpdated: 'POSITION_UPDATED',
  PositionClosed: 'POSITION_CLOSED',
  Error: 'ERROR',
  StatsUpdate: 'STATS_UPDATE',
};

const EVENT_TYPE_DESCRIPTIONS: Readonly<Record<EventVariant, string>> = {
  RunnerStarted: 'A runner came up.',
  RunnerStopped: 'A runner stopped for good (critical: never dropped).',
  TickReceived: 'A tick of market data reached a runner (high-frequency).',
  StateTransition: "A runner's state machine changed state.",
  ActionExecuted: 'A runner executed an action of its strategy.',
  PositionOpened: 'A position was opened.',
  PositionUpdated: 'The open position was marked to a new price (high-frequency).',
  PositionClosed: 'A position was closed with a realized P&L.',
  Error: 'Something went wrong in a runner (critical when its severity is CRITICAL).',
  StatsUpdate: 'Periodic statistics of a runner.',
};

function enumValues<V extends string>(
  names: Readonly<Record<V, string>>,
  descriptions: Readonly<Record<V, string>>,
): Record<string, { value: V; description: string }> {
  const values: Record<string, { value: V; description: string }> = {};
  for (const value of Object.keys(names) as V[]) {
    values[names[value]] = { value, description: descriptions[value] };
  }
  return values;
}

/** The kinds of event, one per member of the RunnerEvent union. */
export const EventTypeEnum = builder.enumType('EventType', {
  description: 'The kind of an event: one value per member of the RunnerEvent union.',
  values: enumValues<EventVariant>(EVENT_TYPE_NAMES, EVENT_TYPE_DESCRIPTIONS),
});

/** Severity of a runner error, ordered WARNING < ERROR < CRITICAL. */
export const ErrorSeverityEnum = builder.enumType('ErrorSeverity', {
  description: 'Severity of a runner error, ordered: WARNING < ERROR < CRITICAL.',
  values: enumValues<ErrorSeverity>(
    { Warning: 'WARNING', Error: 'ERROR', Critical: 'CRITICAL' },
    {
      Warning: 'Something odd that the runner ignored.',
      Error: 'A failure the runner survived (a bad tick, a throwing strategy).',
      Critical: 'A failure that stops the runner; always delivered.',
    },
  ),
});

/** The states of a runner's state machine. */
export const RunnerStateEnum = builder.enumType('RunnerState', {
  description: "The states of a runner's state machine.",
  values: enumValues<RunnerState>(
    {
      Idle: 'IDLE',
      Analyzing: 'ANALYZING',
      Entering: 'ENTERING',
      InPosition: 'IN_POSITION',
      Exiting: 'EXITING',
      Stopped: 'STOPPED',
    },
    {
      Idle: 'Created, not started yet.',
      Analyzing: 'Flat, feeding ticks to the strategy.',
      Entering: 'Opening a position.',
      InPosition: 'Holding a position.',
      Exiting: 'Closing the position.',
      Stopped: 'Stopped for good.',
    },
  ),
});

/** Direction of a position. */
export const PositionSideEnum = builder.enumType('PositionSide', {
  description: 'Direction of a position.',
  values: enumValues<PositionSide>(
    { LONG: 'LONG', SHORT: 'SHORT' },
    { LONG: 'Bought: gains when the price rises.', SHORT: 'Sold: gains when the price falls.' },
  ),
});

/** What a strategy asks for on a tick. */
export const ActionKindEnum = builder.enumType('ActionKind', {
  description: 'What a strategy asks for on a tick.',
  values: enumValues<ActionKind>(
    { EnterLong: 'ENTER_LONG', EnterShort: 'ENTER_SHORT', Exit: 'EXIT', Hold: 'HOLD' },
    {
      EnterLong: 'Open a long position.',
      EnterShort: 'Open a short position.',
      Exit: 'Close the open position.',
      Hold: 'Do nothing.',
    },
  ),
});
