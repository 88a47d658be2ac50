import { z } from 'zod';

/** Most ticks per second one simulated runner may be asked for. */
export const MAX_TICKS_PER_SECOND = 100_000;

const simulatedFeedSchema = z.strictObject({
  kind: z.literal('simulated'),
  ticksPerSecond: z.number().min(1).max(MAX_TICKS_PER_SECOND).default(100),
  seed: z.number().int().optional(),
  startPrice: z.number().positive().finite().optional(),
  volatility: z.number().min(0).max(0.1).optional(),
});

const replayFeedSchema = z.strictObject({
  kind: z.literal('replay'),
  path: z.string().min(1),
  format: z.enum(['csv', 'jsonl']).optional(),
  ticksPerSecond: z.number().positive().optional(),
  loop: z.boolean().default(false),
});

/** Where a runner's ticks come from. */
export const feedConfigSchema = z.discriminatedUnion('kind', [simulatedFeedSchema, replayFeedSchema]);

/**
 * A runner's configuration as users write it (runners file, GraphQL input): only `id`
 * and `symbol` are required. Unknown keys are errors so that a typo never silently
 * falls back to a default.
 */
export const runnerConfigSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ . : -'),
  symbol: z.string().regex(/^[A-Za-z0-9_.:/-]{1,32}$/, 'must be 1-32 characters of letters, digits, _ . : / -'),
  strategy: z.string().default('ema_crossover'),
  params: z.record(z.string(), z.number()).nullish(),
  quantity: z.number().positive().finite().default(1),
  feeRate: z.number().min(0).lt(1).default(0),
  feed: feedConfigSchema.default({ kind: 'simulated', ticksPerSecond: 100 }),
  stopOnError: z.boolean().default(false),
  statsIntervalMs: z.number().int().min(100).max(3_600_000).default(1000),
});

/** A runner configuration as accepted from users (optional fields may be left out). */
export type RunnerConfigInput = z.input<typeof runnerConfigSchema>;
/** A runner configuration with every default filled in. */
export type RunnerConfig = z.output<typeof runnerConfigSchema>;
/** A feed configuration with every default filled in. */
export type FeedConfig = z.output<typeof feedConfigSchema>;

/** Why the engine refused a request; `code` is stable for clients. */
export type EngineErrorCode = 'INVALID_CONFIG' | 'DUPLICATE_RUNNER' | 'UNKNOWN_RUNNER' | 'ENGINE_UNAVAILABLE';

/** A refused engine request with a message that names what was wrong. */
export class EngineError extends Error {
  /** Creates an error with a stable code. */
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/**
 * Validates and completes a runner configuration; throws {@link EngineError}
 * (INVALID_CONFIG) naming every bad key, e.g. `runner "x": quantity: Too small`.
 */
export function parseRunnerConfig(input: unknown, where = 'runner'): RunnerConfig {
  const result = runnerConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const id =
    typeof input === 'object' && input !== null && typeof (input as { id?: unknown }).id === 'string'
      ? ` "${(input as { id: string }).id}"`
      : '';
  throw new EngineError('INVALID_CONFIG', `${where}${id}: ${formatIssues(result.error)}`);
}

/** One line per problem, each with the path of the bad key. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
