/** What a strategy can ask for on a tick. */
export type ActionKind = 'EnterLong' | 'EnterShort' | 'Exit' | 'Hold';

/** Every action kind. */
export const ACTION_KINDS: readonly ActionKind[] = ['EnterLong', 'EnterShort', 'Exit', 'Hold'];

/** An action a runner carried out (never `Hold`: holding executes nothing). */
export interface Action {
  readonly kind: ActionKind;
  readonly symbol: string;
  readonly price: number;
  readonly quantity: number;
  /** Why the strategy asked for it, in words a human can read. */
  readonly reason: string;
}
