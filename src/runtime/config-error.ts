/** A configuration that cannot be used; the message names the variable or key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
