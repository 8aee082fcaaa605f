import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { parseDocument, readUri } from './read-uri.ts';
import type { StreamConfig } from './types.ts';

/** A stream's JSON schema and the versioned URI it was found under (e.g. `/mediawiki/recentchange/1.0.1`). */
export interface ResolvedSchema {
  uri: string;
  schema: Record<string, unknown>;
}

export interface SchemaStoreOptions {
  /** Replaceable for tests; by default node:http(s) is used. */
  fetch?: typeof fetch;
  /** Cached lookups (hits and misses); default 500. */
  max?: number;
  /** How long a lookup is cached, in ms; default 10 minutes, so a new "latest" version shows up eventually. */
  ttlMs?: number;
}

// A versioned `$schema` may be stored as `1.0.0.json`, `1.0.0.yaml` or a bare `1.0.0` (schema repos have all three).
const EXTENSIONS = ['.json', '.yaml', ''] as const;
const VERSION_FILE = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\.json|\.ya?ml)?$/;

/**
 * Finds event JSON schemas in `schema_base_uris` (directories or http(s) bases, tried in order).
 * Missing schemas resolve `undefined`; unreadable or unparsable ones reject with a message naming the file.
 */
export class SchemaStore {
  readonly #bases: readonly string[];
  readonly #fetch: typeof fetch | undefined;
  // Promises are cached so concurrent requests for one schema share a single read.
  readonly #cache: LRUCache<string, Promise<{ found: ResolvedSchema | undefined }>>;

  constructor(baseUris: readonly string[], options: SchemaStoreOptions = {}) {
    this.#bases = baseUris.map((b) => (/^file:\/\//i.test(b) ? fileURLToPath(b) : b));
    this.#fetch = options.fetch;
    this.#cache = new LRUCache({ max: options.max ?? 500, ttl: options.ttlMs ?? 600_000 });
  }

  /** The stream's schema: its `$schema` URI if set, else the latest version of its `schema_title`. */
  async get(stream: Pick<StreamConfig, 'schemaUri' | 'schemaTitle'>): Promise<ResolvedSchema | undefined> {
    if (stream.schemaUri !== undefined) return this.byUri(stream.schemaUri);
    if (stream.schemaTitle !== undefined) return this.latest(stream.schemaTitle);
    return undefined;
  }

  /** A versioned schema URI such as `/mediawiki/recentchange/1.0.0`, or an absolute http(s) URL. */
  byUri(uri: string): Promise<ResolvedSchema | undefined> {
    return this.#cached(`uri:${uri}`, async () => {
      if (/^https?:\/\//i.test(uri)) return this.#read(uri, uri);
      for (const base of this.#bases) {
        const found = await this.#findInBase(base, uri);
        if (found) return found;
      }
      return undefined;
    });
  }

  /**
   * Latest version of a schema title such as `mediawiki/recentchange`: the highest semver file in
   * the first directory base that has the title, or `<base>/<title>/latest` (http bases, or a
   * directory with only a `latest` file).
   */
  latest(title: string): Promise<ResolvedSchema | undefined> {
    const clean = title.replace(/^\/+|\/+$/g, '');
    return this.#cached(`title:${clean}`, async () => {
      for (const base of this.#bases) {
        if (!isHttp(base)) {
          const version = await latestVersionIn(path.join(base, clean));
          if (version !== undefined) {
            const found = await this.#findInBase(base, `/${clean}/${version}`);
            if (found) return found;
          }
        }
        const found = await this.#findInBase(base, `/${clean}/latest`);
        if (found) {
          // The `$id` of a "latest" file names the real version.
          const id = found.schema['$id'];
          return typeof id === 'string' && id !== '' ? { uri: id, schema: found.schema } : found;
        }
      }
      return undefined;
    });
  }

  async #findInBase(base: string, uri: string): Promise<ResolvedSchema | undefined> {
    const relative = uri.replace(/^\/+/, '');
    const extensions = /\.(json|ya?ml)$/i.test(relative) ? [''] : EXTENSIONS;
    for (const ext of extensions) {
      const target = isHttp(base) ? `${base.replace(/\/+$/, '')}/${relative}${ext}` : path.join(base, relative + ext);
      const found = await this.#read(target, uri);
      if (found) return found;
    }
    return undefined;
  }

  async #read(target: string, uri: string): Promise<ResolvedSchema | undefined> {
    let text: string | undefined;
    try {
      text = await readUri(target, this.#fetch ? { fetch: this.#fetch } : {});
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`Cannot read schema ${uri} from ${target}: ${reason}`, { cause: err });
    }
    if (text === undefined) return undefined;
    const schema = parseDocument(text, `schema ${target}`);
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw new Error(`Schema ${target} is not a JSON schema object`);
    }
    return { uri, schema: schema as Record<string, unknown> };
  }

  async #cached(key: string, load: () => Promise<ResolvedSchema | undefined>): Promise<ResolvedSchema | undefined> {
    let entry = this.#cache.get(key);
    if (entry === undefined) {
      entry = load().then((found) => ({ found }));
      this.#cache.set(key, entry);
      // Errors are not cached: a fixed file or a recovered server is picked up on the next call.
      entry.catch(() => this.#cache.delete(key));
    }
    return (await entry).found;
  }
}

function isHttp(base: string): boolean {
  return /^https?:\/\//i.test(base);
}

/** Highest semver among `<dir>`'s version files (release beats pre-release), or undefined. */
async function latestVersionIn(dir: string): Promise<string | undefined> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return undefined; // no such title here
  }
  let best: { version: string; key: (number | string)[] } | undefined;
  for (const entry of entries) {
    const m = VERSION_FILE.exec(entry);
    if (!m) continue;
    const version = entry.replace(/\.(json|ya?ml)$/, '');
    // Sort key: major, minor, patch, then 1 for a release and 0 for a pre-release, then the pre-release text.
    const key = [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : 0, m[4] ?? ''];
    if (best === undefined || compareKeys(key, best.key) > 0) best = { version, key };
  }
  return best?.version;
}

function compareKeys(a: (number | string)[], b: (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}
