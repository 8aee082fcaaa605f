import type { ServiceConfig, StreamSettings } from '../config/types.ts';
import { CatalogueError, createCatalogue } from './catalogue.ts';
import { mergeSettings } from './merge.ts';
import { displayUri, parseDocument, readUri } from './read-uri.ts';
import type { StreamCatalogue, StreamConfig } from './types.ts';

export { CatalogueError, createCatalogue } from './catalogue.ts';

export interface LoadCatalogueOptions {
  /** Replaceable for tests; by default node:http(s) is used. */
  fetch?: typeof fetch;
  /** Receives non-fatal findings (skipped regex streams, allowed streams that do not exist). */
  warn?: (message: string) => void;
}

/**
 * Resolves the public streams like EventStreams does: the document at `streamConfigUri` (at
 * `streamConfigObjectPath`), with `stream_config_defaults` merged under and `stream_config_overrides`
 * over each stream, inline `streams` on top, filtered by `allowed_streams`. Throws CatalogueError.
 */
export async function loadCatalogue(config: ServiceConfig, opts: LoadCatalogueOptions = {}): Promise<StreamCatalogue> {
  const warn = opts.warn ?? (() => {});
  const fetched = config.streamConfigUri === undefined ? {} : await fetchStreams(config, opts);

  let names = [...new Set([...Object.keys(fetched), ...Object.keys(config.streams)])];
  // MediaWiki's stream config keys regex patterns like "/^mediawiki\.job\..+/"; they are not streams.
  const patterns = names.filter((n) => n.startsWith('/'));
  if (patterns.length > 0) warn(`Skipping regex stream names, which cannot be served: ${patterns.join(', ')}`);
  names = names.filter((n) => !n.startsWith('/'));

  if (config.allowedStreams !== undefined) {
    const allowed = new Set(config.allowedStreams);
    const present = new Set(names);
    const missing = config.allowedStreams.filter((n) => !present.has(n));
    if (missing.length > 0) warn(`allowed_streams not found in the stream config: ${missing.join(', ')}`);
    names = names.filter((n) => allowed.has(n));
  }

  const streams = names.sort().map((name) =>
    toStreamConfig(
      name,
      mergeSettings(config.streamConfigDefaults[name], fetched[name], config.streamConfigOverrides[name], config.streams[name]),
      config.dropCanaryEvents,
    ),
  );
  if (streams.length === 0) {
    throw new CatalogueError(`No streams to serve from ${config.streamConfigUri === undefined ? 'the inline streams' : displayUri(config.streamConfigUri)}${config.allowedStreams ? ' after applying allowed_streams' : ''}`);
  }
  return createCatalogue(streams);
}

async function fetchStreams(config: ServiceConfig, opts: LoadCatalogueOptions): Promise<Record<string, StreamSettings>> {
  const uri = config.streamConfigUri ?? '';
  const shown = displayUri(uri);
  let doc: unknown;
  try {
    const text = await readUri(uri, { headers: config.streamConfigHeaders, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
    if (text === undefined) throw new Error('not found');
    doc = parseDocument(text, shown);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CatalogueError(`Cannot load stream config from ${shown}: ${reason}`, { cause: err });
  }
  const path = config.streamConfigObjectPath;
  const streams = path ? getPath(doc, path) : doc;
  if (!isObject(streams)) {
    const where = path ? `at "${path}" ` : '';
    throw new CatalogueError(`Stream config ${shown} has no object of streams ${where}(check stream_config_object_path)`);
  }
  for (const [name, settings] of Object.entries(streams)) {
    if (!isObject(settings)) throw new CatalogueError(`Stream "${name}" in ${shown}: settings must be an object`);
  }
  return streams as Record<string, StreamSettings>;
}

const FIELD_PATH = /^(\*|[A-Za-z0-9_$@-]+)(\.(\*|[A-Za-z0-9_$@-]+))*$/;

function toStreamConfig(name: string, settings: StreamSettings, dropCanaryDefault: boolean): StreamConfig {
  const check = new SettingsReader(name, settings);
  const explicitTopics = check.strings('topics');
  const prefixes = check.strings('topic_prefixes');
  const topics = explicitTopics ?? prefixes?.map((p) => p + name) ?? [];
  if (topics.length === 0) {
    throw new CatalogueError(`Stream "${name}" has no topics: set "topics" or "topic_prefixes"`);
  }
  const stream: StreamConfig = {
    name,
    aliases: check.strings('stream_aliases') ?? [],
    topics: unique(topics),
    dropCanaryEvents: check.boolean('drop_canary_events') ?? dropCanaryDefault,
  };
  const allowed = check.strings('topics_allowed');
  if (allowed !== undefined) stream.topicsAllowed = unique([...stream.topics, ...allowed]);
  const description = check.string('description');
  if (description !== undefined) stream.description = description;
  const schemaTitle = check.string('schema_title');
  if (schemaTitle !== undefined) stream.schemaTitle = schemaTitle;
  const schemaUri = check.string('$schema');
  if (schemaUri !== undefined) stream.schemaUri = schemaUri;
  const removeFields = check.strings('remove_fields');
  if (removeFields !== undefined) {
    const bad = removeFields.find((f) => !FIELD_PATH.test(f));
    if (bad !== undefined) throw new CatalogueError(`Stream "${name}": remove_fields entry "${bad}" is not a dotted field path (letters, digits, _-$@ or *)`);
    stream.removeFields = removeFields;
  }
  return stream;
}

/** Type checks for settings that came from a fetched document, which the config schema never saw. */
class SettingsReader {
  readonly #name: string;
  readonly #settings: StreamSettings;

  constructor(name: string, settings: StreamSettings) {
    this.#name = name;
    this.#settings = settings;
  }

  strings(key: string): string[] | undefined {
    const value = this.#settings[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string' && v !== '')) {
      throw this.#error(key, 'must be a list of non-empty strings');
    }
    return value;
  }

  string(key: string): string | undefined {
    const value = this.#settings[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw this.#error(key, 'must be a string');
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.#settings[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw this.#error(key, 'must be true or false');
    return value;
  }

  #error(key: string, problem: string): CatalogueError {
    return new CatalogueError(`Stream "${this.#name}": ${key} ${problem}`);
  }
}

function getPath(doc: unknown, dotted: string): unknown {
  let node = doc;
  for (const part of dotted.split('.')) {
    if (!isObject(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
