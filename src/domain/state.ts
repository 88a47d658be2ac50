/** The states of a symbol runner's state machine. */
export type RunnerState = 'Idle' | 'Analyzing' | 'Entering' | 'InPosition' | 'Exiting' | 'Stopped';

/** Every runner state, in lifecycle order. */
export const RUNNER_STATES: readonly RunnerState[] = [
  'Idle',
  'Analyzing',
  'Entering',
  'InPosition',
  'Exiting',
  'Stopped',
];

/**
 * The allowed moves of the state machine. Any state may stop; Entering may fall back to
 * Analyzing when an entry cannot be filled.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<RunnerState, readonly RunnerState[]>> = {
  Idle: ['Analyzing', 'Stopped'],
  Analyzing: ['Entering', 'Stopped'],
  Entering: ['InPosition', 'Analyzing', 'Stopped'],
  InPosition: ['Exiting', 'Stopped'],
  Exiting: ['Analyzing', 'Stopped'],
  Stopped: [],
};

/** True when the state machine allows moving from `from` to `to`. */
export function canTransition(from: RunnerState, to: RunnerState): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** Thrown on a move the state machine does not allow: a bug in the caller, never silent. */
export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly from: RunnerState,
    readonly to: RunnerState,
  ) {
    const allowed = ALLOWED_TRANSITIONS[from];
    super(`illegal state transition ${from} → ${to} (allowed from ${from}: ${allowed.length ? allowed.join(', ') : 'none'})`);
  }
}

/** Throws {@link IllegalTransitionError} unless `from → to` is allowed. */
export function assertTransition(from: RunnerState, to: RunnerState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}
