import { describe, expect, it } from 'vitest';
import {
  ALLOWED_TRANSITIONS,
  assertTransition,
  canTransition,
  IllegalTransitionError,
  RUNNER_STATES,
} from '../../src/domain/state.js';

describe('runner state machine', () => {
  it('allows the trading cycle and stopping from anywhere but Stopped', () => {
    const cycle = ['Idle', 'Analyzing', 'Entering', 'InPosition', 'Exiting', 'Analyzing'] as const;
    for (let i = 1; i < cycle.length; i++) expect(canTransition(cycle[i - 1]!, cycle[i]!)).toBe(true);
    for (const s of RUNNER_STATES) expect(canTransition(s, 'Stopped')).toBe(s !== 'Stopped');
    expect(canTransition('Entering', 'Analyzing')).toBe(true);
  });

  it('refuses every move not in the table, loudly', () => {
    let refused = 0;
    for (const from of RUNNER_STATES) {
      for (const to of RUNNER_STATES) {
        if (ALLOWED_TRANSITIONS[from].includes(to)) {
          expect(() => assertTransition(from, to)).not.toThrow();
        } else {
          refused++;
          expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
        }
      }
    }
    expect(refused).toBe(36 - 11); // 11 allowed moves in the table
    expect(() => assertTransition('Idle', 'InPosition')).toThrow(
      'illegal state transition Idle → InPosition (allowed from Idle: Analyzing, Stopped)',
    );
    expect(() => assertTransition('Stopped', 'Analyzing')).toThrow(/allowed from Stopped: none/);
  });
});
