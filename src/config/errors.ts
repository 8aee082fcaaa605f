/** Where a configuration problem sits, so callers and tests can tell a bad key from a bad variable. */
export interface ConfigErrorDetails {
  /** Absolute path of the configuration file involved. */
  file?: string;
  /** Dotted key path inside the file, e.g. `kafka.brokers`. */
  key?: string;
  /** Environment variable involved, e.g. `PORT`. */
  variable?: string;
}

/** Invalid or unreadable configuration: the service must not start. The message is meant for operators. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string | undefined;
  readonly key: string | undefined;
  readonly variable: string | undefined;

  constructor(message: string, details: ConfigErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.file = details.file;
    this.key = details.key;
    this.variable = details.variable;
  }
}

/** One-line text for any error thrown while loading configuration (ConfigError or not). */
export function configErrorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
