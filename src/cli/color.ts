/** What decides whether output is coloured. */
export interface ColorContext {
  /** `--no-color` was given. */
  readonly noColorFlag: boolean;
  /** The environment (NO_COLOR, FORCE_COLOR). */
  readonly env: NodeJS.ProcessEnv;
  /** Whether the output goes to a terminal. */
  readonly isTTY: boolean;
}

/**
 * Whether to colour output, in this order: `--no-color` turns colour off; a non-empty
 * FORCE_COLOR turns it on even into a pipe (`0` or `false`: off), and, as in Node itself,
 * wins over NO_COLOR; a non-empty NO_COLOR (https://no-color.org) turns it off; otherwise
 * colour only on a terminal, so that a file or a pipe never receives escape codes.
 */
export function shouldColor({ noColorFlag, env, isTTY }: ColorContext): boolean {
  if (noColorFlag) return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  const no = env['NO_COLOR'];
  if (no !== undefined && no !== '') return false;
  return isTTY;
}
