import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { toServiceConfig } from './convert.ts';
import { applyEnvOverrides } from './env.ts';
import { ConfigError } from './errors.ts';
import { isObject } from './raw.ts';
import { unwrapServiceRunner } from './service-runner.ts';
import type { ServiceConfig } from './types.ts';
import { validateConfig } from './validate.ts';

export { ConfigError, configErrorMessage } from './errors.ts';

/** The configuration shipped with the service: demo mode over the bundled public stream catalogue. */
export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('../../config/config.yaml', import.meta.url));

export interface LoadConfigArgs {
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Base for a relative `--config`/`EVENTSTREAMS_CONFIG` and `STREAM_CONFIG_URI`; default `process.cwd()`. */
  cwd?: string;
}

export interface LoadedConfig {
  config: ServiceConfig;
  /** Problems that do not stop the service (unknown keys, ignored settings); the caller logs them. */
  warnings: string[];
  /** Absolute path of the file that was read. */
  source: string;
}

/**
 * Reads the file named by `--config` / `EVENTSTREAMS_CONFIG` (else the shipped one), applies
 * environment overrides, validates and converts it. Throws ConfigError on anything invalid.
 */
export async function loadConfig(args: LoadConfigArgs): Promise<LoadedConfig> {
  const cwd = args.cwd ?? process.cwd();
  const named = configFileArgument(args.argv) ?? nonEmpty(args.env['EVENTSTREAMS_CONFIG']);
  const file = named === undefined ? DEFAULT_CONFIG_FILE : path.resolve(cwd, named);
  const warnings: string[] = [];

  const conf = unwrapServiceRunner(await readDocument(file), file, warnings);
  const envOverrides = applyEnvOverrides(conf, args.env, cwd);
  const raw = validateConfig(conf, file, envOverrides, warnings);
  return { config: toServiceConfig(raw, file, warnings), warnings, source: file };
}

/** `--config <path>` or `--config=<path>`; the last one wins, like most CLIs. */
export function configFileArgument(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config') {
      const next = argv[i + 1];
      if (next === undefined || next === '' || next.startsWith('--')) {
        throw new ConfigError('--config needs a file path');
      }
      found = next;
      i++;
    } else if (arg?.startsWith('--config=')) {
      found = arg.slice('--config='.length);
      if (found === '') throw new ConfigError('--config needs a file path');
    }
  }
  return found;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

async function readDocument(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`Cannot read configuration file ${file}: ${reason}`, { file }, { cause: err });
  }
  let doc: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so .json files load too. maxAliasCount guards against alias bombs.
    doc = parseYaml(text, { maxAliasCount: 1000 });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`Cannot parse configuration file ${file}: ${reason}`, { file }, { cause: err });
  }
  // An empty file is an empty config: every key takes its default.
  if (doc === null || doc === undefined) return {};
  if (!isObject(doc)) throw new ConfigError(`Invalid configuration file ${file}: (root): must be object`, { file, key: '(root)' });
  return doc;
}
