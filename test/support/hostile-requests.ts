/**
 * Generated hostile requests for the fuzz test: stream names, filters, `since`, `Last-Event-ID`,
 * `Accept` and other headers, from plausible to absurd, as raw HTTP text. Seeded, so a failing
 * request can be regenerated from the seed and its index.
 */
import { prng } from './prng.ts';
import { getRequest } from './raw-http.ts';

export interface FuzzCatalogue {
  /** Stream names and aliases the service knows. */
  names: string[];
  /** Topics of the catalogue (read or allowed), and field paths of its schema. */
  topics: string[];
  fields: string[];
}

export interface HostileRequest {
  /** What the request varies, for the failure message. */
  kind: string;
  method: string;
  raw: string;
}

class Gen {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = prng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  times<T>(n: number, make: () => T): T[] {
    return Array.from({ length: n }, make);
  }
  /** Text from an alphabet with the characters that parsers trip on. */
  text(maxLength: number): string {
    const alphabet = ['a', 'Z', '0', '9', '.', ',', '*', '\\', '=', '!', '<', '>', '&', '%', '+', ' ', '-', '_', '"', "'", '{', '[', ']', '}', ':', '/', '?', '#', 'é', '字', '😀', '\u0000', '\u001f', '\u202e', '\ud800'];
    return this.times(this.int(0, maxLength), () => this.pick(alphabet)).join('');
  }
}

/** Percent-encodes every byte that is not unreserved (lone surrogates as U+FFFD, like browsers). */
function encode(text: string): string {
  return [...Buffer.from(text.toWellFormed(), 'utf8')]
    .map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

/** Header values may hold visible ASCII and spaces only (Node refuses the rest on its own side). */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function streamList(g: Gen, catalogue: FuzzCatalogue): string {
  const known = () => g.pick(catalogue.names);
  switch (g.int(0, 9)) {
    case 0:
      return '';
    case 1:
      return g.pick([',', ',,,', ' , ', '%2C', '%20']);
    case 2:
      return encode(g.text(12));
    case 3:
      return g.times(g.int(2, 4), known).join(g.pick([',', '%2C', ' ,', ',,']));
    case 4:
      return g.times(g.int(60, 70), known).join(',');
    case 5:
      return 'x'.repeat(g.int(200, 6000));
    case 6:
      return g.pick(['%', '%E0%A4%A', '%ZZ', '%00', '..%2F..%2Fetc%2Fpasswd', '__proto__', 'constructor', 'hasOwnProperty', encode('字幕,😀')]);
    case 7:
      return `${known()},${encode(g.text(6))}`;
    default:
      return known();
  }
}

function filterValue(g: Gen): string {
  switch (g.int(0, 9)) {
    case 0:
      return String(g.pick([0, -1, 1e21, -1e21, 2 ** 53 + 1, 1.5, -0]));
    case 1:
      return g.pick(['1e400', 'NaN', 'Infinity', '-Infinity', '0x1F', '1_000', '', ' ', 'true', 'false', 'null']);
    case 2:
      return '*'.repeat(g.int(1, 20)) + g.text(3);
    case 3:
      return g.times(g.int(2, 1100), () => g.text(3)).join(',');
    case 4:
      return 'v'.repeat(g.int(900, 3000));
    case 5:
      return g.pick(['\\,', '\\*', '\\\\', '\\', 'a\\', '\\x']) + g.text(4);
    case 6:
      return g.pick(['2026-08-04T15:25:00Z', '2026-02-30T00:00:00Z', '-271821-04-20T00:00:00Z', '9999-99-99']);
    default:
      return g.text(10);
  }
}

function filterPath(g: Gen, catalogue: FuzzCatalogue): string {
  switch (g.int(0, 6)) {
    case 0:
      return g.times(g.int(10, 40), () => g.pick(['a', 'meta', 'x'])).join('.');
    case 1:
      return g.pick(['__proto__', 'constructor', 'constructor.prototype', 'meta.__proto__', 'toString', 'prototype.x', '', '.', '..', 'a..b', 'meta.']);
    case 2:
      return g.text(8);
    case 3:
      return 'p'.repeat(g.int(250, 400));
    default:
      return g.pick(catalogue.fields);
  }
}

function clause(g: Gen, catalogue: FuzzCatalogue): string {
  const path = filterPath(g, catalogue);
  const op = g.pick(['=', '!=', '<', '<=', '>', '>=', '%3C', '%3E%3D', '%21%3D', '==', '=!', '=<', '']);
  const raw = op === '' ? `${g.pick(['', '!', '!!'])}${path}` : `${path}${op}${filterValue(g)}`;
  return g.pick([raw, encode(raw), raw.replace(/ /g, '+')]);
}

function sinceValue(g: Gen): string {
  return g.pick([
    String(Date.now() - g.int(0, 10_000_000)),
    '',
    'yesterday',
    '-1',
    '-99999999999999999',
    '1e20',
    '99999999999999999999999',
    '0',
    '-0',
    '0x10',
    ' 1700000000000 ',
    'NaN',
    '2026-08-04',
    '2026-08-04T15:25:00Z',
    '2026-08-04T15:25:00.123456789+14:00',
    '2026-W32-2',
    '+275760-09-13T00:00:00.000Z',
    '+275760-09-13T00:00:00.001Z',
    'Tue, 04 Aug 2026 15:25:00 GMT',
    encode(g.text(20)),
  ]);
}

/** A random JSON value (strings from the hostile alphabet), at most `depth` levels deep. */
function jsonValue(g: Gen, depth: number): unknown {
  const kind = depth <= 0 ? g.int(0, 3) : g.int(0, 5);
  if (kind === 0) return g.pick([0, -1, -2, -3, 1e308, -1e308, 2 ** 53, 2 ** 31, 0.5, null, true, false]);
  if (kind === 1) return g.text(12);
  if (kind === 2) return g.pick(['__consumer_offsets', '__transaction_state', '']);
  if (kind === 3) return {};
  if (kind === 4) return g.times(g.int(0, 4), () => jsonValue(g, depth - 1));
  return Object.fromEntries(g.times(g.int(0, 4), () => [g.pick(['topic', 'partition', 'offset', 'timestamp', 'ts_seen', '__proto__', g.text(4)]), jsonValue(g, depth - 1)]));
}

function lastEventId(g: Gen, catalogue: FuzzCatalogue): string {
  const topic = () => g.pick(catalogue.topics);
  switch (g.int(0, 11)) {
    case 0:
      return JSON.stringify(jsonValue(g, 4));
    case 1:
      return `${'['.repeat(g.int(100, 8000))}${g.chance(0.5) ? ']'.repeat(g.int(0, 8000)) : ''}`;
    case 2:
      return `[${'{"topic":'.repeat(g.int(10, 1500))}0${'}'.repeat(g.int(0, 1500))}]`;
    case 3:
      return JSON.stringify([{ topic: topic(), partition: 0, offset: g.pick(['1', 1e400, -3, 1.5, 2 ** 64, '0x1', null, [0], { n: 1 }]) }]).replace('null', g.pick(['1e400', '-1e400', 'null', '99999999999999999999999']));
    case 4:
      return JSON.stringify(g.times(g.int(1, 3), () => ({ topic: topic(), partition: g.pick([0, 1, 2, 5, 99, -1, 2 ** 31, 0.5]), timestamp: g.pick([0, Date.now() - 60_000, Date.now() + 1e9, 8.64e15, 8.64e15 + 1, -1]), ts_seen: g.pick([undefined, 0, 3, -1, 2 ** 40]) })));
    case 5:
      return JSON.stringify([g.pick(['__consumer_offsets', `${topic()}\u0000`, ` ${topic()}`, topic().toUpperCase(), `${topic()}\u200b`, 'é'.repeat(10), 'x'.repeat(300)])]);
    case 6:
      return JSON.stringify(g.times(g.int(2, 5), () => g.pick([topic(), { topic: topic(), partition: 0, offset: -1 }, { topic: topic(), partition: 0, offset: -2 }])));
    case 7:
      return headerSafe(g.text(60));
    case 8:
      return JSON.stringify(g.times(g.int(900, 1100), () => topic()));
    case 9:
      return JSON.stringify({ topic: topic(), partition: 0, offset: 0 });
    case 10:
      return `[${'1'.repeat(g.int(300, 5000))}]`;
    default:
      return JSON.stringify([{ topic: topic(), partition: g.int(0, 1), offset: g.int(-2, 50) }]);
  }
}

function acceptValue(g: Gen): string {
  return g.pick([
    'text/event-stream',
    'application/json',
    'application/json; charset=utf-8',
    'application/jsonx',
    '*/*',
    '',
    ',,,;;;q=',
    'text/event-stream;q=0, application/json;q=1',
    'a/'.repeat(3000),
    headerSafe(g.text(40)),
  ]);
}

function otherHeaders(g: Gen): Record<string, string> {
  const headers: Record<string, string> = {};
  const n = g.int(0, 4);
  for (let i = 0; i < n; i++) {
    const [name, value] = g.pick<[string, string]>([
      ['user-agent', 'u'.repeat(g.int(1, 9000))],
      ['x-client-ip', headerSafe(g.text(30))],
      ['x-request-id', headerSafe(g.text(200))],
      ['cache-control', 'no-cache'],
      ['origin', 'https://evil.example'],
      ['accept-encoding', 'gzip, br, zstd, *;q=0'],
      ['accept-version', headerSafe(g.text(10))],
      ['content-type', g.pick(['application/json', 'text/plain', 'multipart/form-data; boundary=x', headerSafe(g.text(20))])],
      ['expect', '100-continue'],
      ['range', 'bytes=0-1'],
      ['if-none-match', '*'],
      [`x-${encode(g.text(6)).replace(/%/g, '') || 'h'}`, headerSafe(g.text(50))],
    ]);
    headers[name] = value;
  }
  return headers;
}

function queryString(g: Gen, catalogue: FuzzCatalogue): string {
  const parts: string[] = [];
  const clauses = g.pick([0, 0, 1, 1, 2, 3, 33, 40]);
  for (let i = 0; i < clauses; i++) parts.push(clause(g, catalogue));
  if (g.chance(0.3)) parts.push(`since=${sinceValue(g)}`);
  if (g.chance(0.05)) parts.push(`since=${sinceValue(g)}`);
  if (g.chance(0.2)) parts.push(`fields=${g.times(g.int(0, g.chance(0.1) ? 120 : 4), () => filterPath(g, catalogue)).join(',')}`);
  if (g.chance(0.05)) parts.push(g.pick(['&&&', '=', '==', '%ZZ', '%', 'fields', 'fields=&fields=', '?', '#frag']));
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function otherPath(g: Gen): string {
  return g.pick([
    '/',
    '/?spec',
    '/?doc',
    '/v2/streams',
    `/v2/schema/${encode(g.text(10))}/latest`,
    '/v2/schema/mediawiki/recentchange/latest',
    `/v2/schema/${'a/'.repeat(g.int(1, 500))}`,
    '/v2/ui/../../package.json',
    '/v2/ui/%2e%2e/%2e%2e/package.json',
    '/v2/ui/..%2F..%2Fsrc%2Fmain.ts',
    '/v2/ui/vendor/yaml/../../../../package.json',
    '/v2/ui/vendor/yaml/%2e%2e/%2e%2e/package.json',
    `/_info/${encode(g.text(6))}`,
    '/_ready',
    '/metrics',
    '/robots.txt',
    `/${encode(g.text(20))}`,
    '//v2/stream/recentchange',
    '/v2/stream/',
    '/v2/stream',
    '*',
  ]);
}

/** The `index`-th request of the run with `seed`. */
export function hostileRequest(seed: number, index: number, catalogue: FuzzCatalogue): HostileRequest {
  const g = new Gen((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const method = g.pick(['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE']);
  const headers: Record<string, string> = {};
  const kinds: string[] = [];
  let target: string;
  if (g.chance(0.1)) {
    target = otherPath(g);
    kinds.push('path');
  } else {
    target = `/v2/stream/${streamList(g, catalogue)}${queryString(g, catalogue)}`;
    kinds.push('stream');
  }
  if (g.chance(0.4)) {
    headers['last-event-id'] = lastEventId(g, catalogue);
    kinds.push('last-event-id');
  }
  if (g.chance(0.3)) {
    headers['accept'] = acceptValue(g);
    kinds.push('accept');
  }
  Object.assign(headers, otherHeaders(g));
  let body = '';
  if (method === 'POST' || g.chance(0.03)) {
    body = g.pick(['{}', '{"a":', headerSafe(g.text(100)), '['.repeat(1000)]);
    headers['content-length'] = String(Buffer.byteLength(body));
    kinds.push('body');
  }
  const raw = getRequest(target, headers).replace(/^GET /, `${method} `) + body;
  return { kind: kinds.join('+'), method, raw };
}
