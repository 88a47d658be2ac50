/**
 * A time budget per turn of the event loop, shared by every loop that fans work out
 * (shared-execution pumps, socket writers). Under overload each of thousands of streams
 * has a little work ready at once; counted per stream ("yield every 64 items"), their sum
 * still makes turns of seconds, during which no socket is read: /health, handshakes and
 * pongs wait. Counted in time across all of them, a turn ends after about
 * {@link TURN_BUDGET_MS}, and the loop polls I/O before the rest goes on.
 */

/** Milliseconds of fan-out work a turn may do before it lets the loop poll I/O. */
export const TURN_BUDGET_MS = 5;

// Read the clock once per this many checks: a check must cost next to nothing.
const CHECK_EVERY = 8;

let deadline = 0;
let spent = false;
let checks = 0;
let nextTurn: Promise<void> | null = null;

const newTurn = (): void => {
  deadline = 0;
  spent = false;
};

/**
 * True when this turn's budget is spent: the caller should `await` {@link yieldTurn}
 * before more work. The first check of a turn starts the budget; it is renewed in the
 * check phase (after the loop has polled I/O), whatever ran in between.
 */
export function turnSpent(): boolean {
  if (spent) return true;
  if (deadline === 0) {
    deadline = performance.now() + TURN_BUDGET_MS;
    setImmediate(newTurn);
    return false;
  }
  if (++checks % CHECK_EVERY !== 0) return false;
  if (performance.now() < deadline) return false;
  spent = true;
  return true;
}

/**
 * Resolves in the next check phase, after the loop has polled I/O. One promise per turn
 * for every waiter: they resume in the order they yielded, and each checks the budget again.
 */
export function yieldTurn(): Promise<void> {
  nextTurn ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      nextTurn = null;
      resolve();
    }),
  );
  return nextTurn;
}
