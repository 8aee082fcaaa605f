// Turning event data into what the list shows: times with dates when needed, links to the wiki
// (only http(s), built with URL, never by pasting strings into markup), comments without wikitext
// noise, and the free "ago" durations of the start picker.

/** The value at a dotted path, if any. */
export function valueAt(/** @type {unknown} */ data, /** @type {string} */ path) {
  /** @type {unknown} */
  let node = data;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = /** @type {Record<string, unknown>} */ (node)[key];
  }
  return node;
}

/** The first string at one of the paths. */
function stringAt(/** @type {unknown} */ data, /** @type {string[]} */ paths) {
  for (const path of paths) {
    const value = valueAt(data, path);
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** An event's time (`meta.dt`, or `dt` of older schemas) in epoch ms; NaN when it has none. */
export function eventTime(/** @type {unknown} */ data) {
  return Date.parse(stringAt(data, ['meta.dt', 'dt']) ?? '');
}

const sameDay = (/** @type {Date} */ a, /** @type {Date} */ b) =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** Time of day for today's events; with the date (and the year when not this year) otherwise. */
export function eventTimeText(/** @type {number} */ ms, now = Date.now()) {
  const at = new Date(ms);
  const today = new Date(now);
  const time = at.toLocaleTimeString();
  if (sameDay(at, today)) return time;
  /** @type {Intl.DateTimeFormatOptions} */
  const date = at.getFullYear() === today.getFullYear() ? { month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short', day: 'numeric' };
  return `${at.toLocaleDateString(undefined, date)} ${time}`;
}

/** An absolute http(s) URL, or undefined: `javascript:` and friends never become links. */
export function httpUrl(/** @type {unknown} */ text, /** @type {string | undefined} */ base = undefined) {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const url = new URL(text, base);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The wiki's base URL: `server_url`, or https on the event's domain (page_change events). */
function serverOf(/** @type {unknown} */ data) {
  const server = httpUrl(valueAt(data, 'server_url'));
  if (server) return server;
  const domain = valueAt(data, 'meta.domain');
  return typeof domain === 'string' && /^[a-z0-9.-]+$/i.test(domain) ? httpUrl(`https://${domain}`) : undefined;
}

/** `index.php` of the wiki, where titles and diffs can be addressed by query parameters. */
function indexPhp(/** @type {unknown} */ data) {
  const server = serverOf(data);
  if (!server) return undefined;
  const scriptPath = valueAt(data, 'server_script_path');
  const path = typeof scriptPath === 'string' && /^(\/[\w.-]+)+$/.test(scriptPath) ? scriptPath : '/w';
  return httpUrl(`${path}/index.php`, server.href);
}

/**
 * Links for an event's title, user and change: `title_url` (or `meta.uri`), the user's
 * contributions on `server_url`, and `notify_url` (or a diff of the revision).
 * @returns {{ title?: URL, user?: URL, diff?: URL }}
 */
export function eventLinks(/** @type {unknown} */ data) {
  /** @type {{ title?: URL, user?: URL, diff?: URL }} */
  const links = {};
  const title = httpUrl(valueAt(data, 'title_url')) ?? httpUrl(valueAt(data, 'meta.uri'));
  if (title) links.title = title;
  const user = stringAt(data, ['user', 'performer.user_text']);
  const index = indexPhp(data);
  if (user !== undefined && index) {
    const url = new URL(index);
    url.searchParams.set('title', `Special:Contributions/${user}`);
    links.user = url;
  }
  const diff = httpUrl(valueAt(data, 'notify_url'));
  const revision = valueAt(data, 'revision.rev_id') ?? valueAt(data, 'rev_id');
  if (diff) links.diff = diff;
  else if (index && Number.isSafeInteger(revision)) {
    const url = new URL(index);
    url.searchParams.set('diff', String(revision));
    links.diff = url;
  }
  return links;
}

/**
 * An edit summary as plain text: `/* Section *\/` becomes `→Section:`, `[[target|text]]` its text,
 * `[https://… text]` its text, bold and italic quotes go; everything else stays as written.
 */
export function plainComment(/** @type {string} */ comment) {
  return comment
    .replace(/\/\*\s*(.*?)\s*\*\/\s*/g, (m, section, at, all) => (section === '' ? '' : at + m.length < all.length ? `→${section}: ` : `→${section}`))
    .replace(/\[\[:?([^\]|]*)\|([^\]]*)\]\]/g, '$2')
    .replace(/\[\[:?([^\]|]*)\]\]/g, '$1')
    .replace(/\[(?:https?:)?\/\/[^\s\]]+\s+([^\]]+)\]/g, '$1')
    .replace(/'{2,5}/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

const UNITS = /** @type {const} */ ({ s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 });

/** `10m`, `2h`, `3d`, `1h30m`, `90s` or `1w` in milliseconds; undefined when not a duration. */
export function parseAgo(/** @type {string} */ text) {
  const compact = text.trim().toLowerCase().replace(/\s+/g, '');
  if (!/^(\d+(\.\d+)?[smhdw])+$/.test(compact)) return undefined;
  let ms = 0;
  for (const [, n, unit] of compact.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) ms += Number(n) * UNITS[/** @type {keyof typeof UNITS} */ (unit)];
  return ms > 0 ? Math.round(ms) : undefined;
}

/** The shortest whole-unit way to write a duration: 600000 -> `10m`, 5400000 -> `90m`. */
export function formatAgo(/** @type {number} */ ms) {
  for (const unit of /** @type {const} */ (['w', 'd', 'h', 'm', 's'])) {
    if (ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
