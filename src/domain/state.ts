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
