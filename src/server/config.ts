import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues, runnerConfigSchema, type RunnerConfigInput } from '../engine/config.js';
import { DEFAULT_RUNNERS } from '../engine/defaults.js';

/** Start-up settings of the server. */
export interface ServerConfig {
  readonly port: number;
  readonly host: string;
  /** Runners to start with: from RUNNERS_FILE, or the three defaults. */
  readonly runners: readonly RunnerConfigInput[];
  /** Where the runners came from, for the start-up banner. */
  readonly runnersSource: string;
}

/** A configuration that cannot be used; the message names the variable or key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  RUNNERS_FILE: z.string().min(1).optional(),
});

const runnersFileSchema = z.strictObject({ runners: z.array(runnerConfigSchema) });

/**
 * Reads the configuration from the environment: PORT (default 4000), HOST (default
 * 127.0.0.1) and RUNNERS_FILE, a JSON or YAML file `{ runners: [...] }`. Everything is
 * validated here, before anything starts, so a typo stops the server with a message
 * naming the key instead of surfacing later.
 */
export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = envSchema.safeParse({
    PORT: env['PORT'] === '' ? undefined : env['PORT'],
    HOST: env['HOST'] === '' ? undefined : env['HOST'],
    RUNNERS_FILE: env['RUNNERS_FILE'] === '' ? undefined : env['RUNNERS_FILE'],
  });
  if (!parsed.success) throw new ConfigError(`invalid environment: ${formatIssues(parsed.error)}`);
  const { PORT, HOST, RUNNERS_FILE } = parsed.data;
  if (RUNNERS_FILE === undefined) {
    return { port: PORT, host: HOST, runners: DEFAULT_RUNNERS, runnersSource: 'the default simulated runners' };
  }
  return { port: PORT, host: HOST, runners: loadRunnersFile(RUNNERS_FILE), runnersSource: RUNNERS_FILE };
}

/** Reads and validates a runners file (JSON, or YAML for .yaml/.yml). */
export function loadRunnersFile(path: string): RunnerConfigInput[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read runners file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    const ext = extname(path).toLowerCase();
    value = ext === '.yaml' || ext === '.yml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`runners file ${path} is not valid ${extname(path) || 'JSON'}: ${(err as Error).message}`);
  }
  const result = runnersFileSchema.safeParse(value);
  if (!result.success) throw new ConfigError(`runners file ${path}: ${formatIssues(result.error)}`);
  const seen = new Set<string>();
  result.data.runners.forEach((runner, i) => {
    if (seen.has(runner.id)) throw new ConfigError(`runners file ${path}: runners.${i}.id: duplicate runner id "${runner.id}"`);
    seen.add(runner.id);
  });
  return result.data.runners;
}
