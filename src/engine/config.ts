import { z } from 'zod';

/**
 * Most ticks per second any one runner may be asked for. The engine's total cap
 * (`EngineOptions.maxTotalTicksPerSecond`, by default {@link DEFAULT_MAX_TOTAL_TICKS_PER_SECOND})
 * is the tighter bound in practice: one runner may never take more than all of it.
 */
export const MAX_TICKS_PER_SECOND = 100_000;

/** Default cap on the ticks per second of all running runners together (MAX_TOTAL_TICKS_PER_SECOND). */
export const DEFAULT_MAX_TOTAL_TICKS_PER_SECOND = 20_000;

/** Default cap on the runners running at once (MAX_RUNNERS). */
export const DEFAULT_MAX_RUNNERS = 100;

/** Rate of a replay feed that does not name one: "as fast as possible" would take the whole engine. */
export const DEFAULT_REPLAY_TICKS_PER_SECOND = 1000;

/**
 * Bounds of the numbers in a runner configuration. They keep every price, size and P&L
 * far from where doubles overflow (1e6 units × 1e9 a unit is 1e15), so a runner's
 * arithmetic stays finite; the runner still checks each event it publishes.
 */
export const CONFIG_BOUNDS = {
  maxQuantity: 1e6,
  /** Exclusive: a fee of 10 % of notional per fill is no market's. */
  maxFeeRate: 0.1,
  minStartPrice: 1e-6,
  maxStartPrice: 1e9,
  maxVolatility: 0.1,
  /** 500 % a year: beyond any listed market's, and at any tick rate and speed still under maxVolatility a tick. */
  maxAnnualVolatility: 5,
  maxSpreadBps: 1000,
  /** A day of market time a second. */
  maxSpeed: 10_000,
  maxPathLength: 1024,
} as const;

const simulatedFeedSchema = z.strictObject({
  kind: z.literal('simulated'),
  ticksPerSecond: z.number().min(1).max(MAX_TICKS_PER_SECOND).default(100),
  seed: z.number().int().optional(),
  startPrice: z.number().min(CONFIG_BOUNDS.minStartPrice).max(CONFIG_BOUNDS.maxStartPrice).optional(),
  volatility: z.number().min(0).max(CONFIG_BOUNDS.maxVolatility).optional(),
  annualVolatility: z.number().min(0).max(CONFIG_BOUNDS.maxAnnualVolatility).optional(),
  spreadBps: z.number().min(0).max(CONFIG_BOUNDS.maxSpreadBps).optional(),
  speed: z.number().positive().max(CONFIG_BOUNDS.maxSpeed).optional(),
}).refine((feed) => feed.volatility === undefined || feed.annualVolatility === undefined, {
  message: 'give volatility (per tick) or annualVolatility, not both',
  path: ['volatility'],
}).refine((feed) => feed.volatility === undefined || feed.speed === undefined, {
  message: 'speed scales annualVolatility; a per-tick volatility does not change with it, so give one of the two',
  path: ['speed'],
});

const replayFeedSchema = z.strictObject({
  kind: z.literal('replay'),
  path: z
    .string()
    .min(1)
    .max(CONFIG_BOUNDS.maxPathLength)
    .refine((p) => !p.includes('\0'), 'must not contain a NUL character'),
  format: z.enum(['csv', 'jsonl']).optional(),
  /** Default {@link DEFAULT_REPLAY_TICKS_PER_SECOND}, filled in by the engine. */
  ticksPerSecond: z.number().positive().max(MAX_TICKS_PER_SECOND).optional(),
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
  quantity: z.number().positive().max(CONFIG_BOUNDS.maxQuantity).default(1),
  feeRate: z.number().min(0).lt(CONFIG_BOUNDS.maxFeeRate).default(0),
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
 * An engine error as it crosses from where it was raised (an engine thread, an engine
 * process over Redis): its code and message, or ENGINE_FAILED when the engine itself
 * failed on the request.
 */
export interface EngineErrorWire {
  readonly code: EngineErrorCode | 'ENGINE_FAILED';
  readonly message: string;
}

/** The error a thread or a remote engine answered, rebuilt here; an engine that failed is unavailable to the caller. */
export function engineErrorFromWire(error: EngineErrorWire): EngineError {
  return new EngineError(error.code === 'ENGINE_FAILED' ? 'ENGINE_UNAVAILABLE' : error.code, error.message);
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
