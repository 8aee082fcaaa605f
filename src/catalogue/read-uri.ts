import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export interface ReadUriOptions {
  headers?: Record<string, string>;
  /** Replaceable for tests; by default node:http(s) is used (it keeps a configured Host header). */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * Text of a local path, `file://` or http(s) URL. Resolves `undefined` when the resource does not
 * exist (ENOENT, a directory, HTTP 404/410) so lookups can try the next candidate; any other failure throws.
 */
export async function readUri(uri: string, options: ReadUriOptions = {}): Promise<string | undefined> {
  if (/^https?:\/\//i.test(uri)) return readHttp(uri, options);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !/^file:\/\//i.test(uri)) {
    throw new Error(`Unsupported URI scheme: ${displayUri(uri)} (use a file path, file:// or http(s)://)`);
  }
  const file = /^file:\/\//i.test(uri) ? fileURLToPath(uri) : uri;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
}

/** The URI as messages and logs may show it: without the credentials of a `user:password@` part. */
export function displayUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1');
}

async function readHttp(uri: string, options: ReadUriOptions): Promise<string | undefined> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const headers = options.headers ?? {};
  const response = options.fetch ? await viaFetch(options.fetch, uri, headers, timeoutMs) : await httpGet(uri, headers, timeoutMs);
  if (response.status === 404 || response.status === 410) return undefined;
  if (response.status < 200 || response.status >= 300) {
    throw new Error(`GET ${displayUri(uri)} failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
  return response.body;
}

interface HttpResult {
  status: number;
  statusText: string;
  body: string;
}

async function viaFetch(fetchImpl: typeof fetch, uri: string, headers: Record<string, string>, timeoutMs: number): Promise<HttpResult> {
  const response = await fetchImpl(uri, { headers, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, statusText: response.statusText, body: await response.text() };
}

/**
 * Plain node:http(s) GET, not fetch: fetch replaces a `Host` header with the URL's host, and
 * production EventStreams reaches the MediaWiki API through a local proxy as
 * `http://localhost:6500/...` with `Host: meta.wikimedia.org`. Follows a few redirects.
 */
function httpGet(uri: string, headers: Record<string, string>, timeoutMs: number, redirects = 5): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const url = new URL(uri);
    const request = (url.protocol === 'https:' ? https : http).get(url, { headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location !== undefined && redirects > 0) {
        res.resume();
        const next = new URL(location, url);
        // A Host header meant for the first server must not follow a redirect elsewhere.
        const nextHeaders = next.host === url.host ? headers : withoutHost(headers);
        httpGet(next.href, nextHeaders, timeoutMs, redirects - 1).then(resolve, reject);
        return;
      }
      res.setEncoding('utf8');
      let body = '';
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status, statusText: res.statusMessage ?? '', body }));
      res.on('error', reject);
    });
    request.on('error', reject);
  });
}

function withoutHost(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'host'));
}

/** Parses JSON or YAML (YAML for anything that is not JSON); `what` names the source in the error. */
export function parseDocument(text: string, what: string): unknown {
  const trimmed = text.trimStart();
  try {
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return JSON.parse(text);
      } catch {
        // Flow-style YAML also starts with a brace: fall through to the YAML parser.
      }
    }
    return parseYaml(text, { maxAliasCount: 1000 });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`Cannot parse ${what}: ${reason}`, { cause: err });
  }
}
