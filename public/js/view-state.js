// The whole view as data: which streams, filters, projection and start position. It is written to
// the location hash (`#/?streams=a,b&…`, like the original UI) so a copied URL restores the view,
// and turned into the stream URL the page and the snippets use.
import { encodeClause, isComplete, parseClause } from './filters.js';

/** @typedef {import('./filters.js').Clause} Clause */
/**
 * @typedef {{ mode: 'now' } | { mode: 'ago', ms: number } | { mode: 'time', time: string } | { mode: 'resume', id: string }} Start
 * time: an ISO-8601 instant; id: an SSE event id (the JSON position array) sent as Last-Event-ID.
 */
/** @typedef {{ streams: string[], clauses: Clause[], fields: string[], start: Start }} ViewState */

// Hash keys of the view itself; every other key is a filter clause, exactly as in the stream URL.
const VIEW_KEYS = new Set(['streams', 'fields', 'since', 'ago', 'resume']);

/** @returns {ViewState} */
function emptyState() {
  return { streams: [], clauses: [], fields: [], start: { mode: 'now' } };
}

/** `since` for the stream URL: none for now and resume (the Last-Event-ID header wins), epoch ms otherwise. */
export function sinceParam(/** @type {Start} */ start, now = Date.now()) {
  if (start.mode === 'ago') return String(now - start.ms);
  if (start.mode === 'time') {
    const ms = Date.parse(start.time);
    return Number.isNaN(ms) ? undefined : String(ms);
  }
  return undefined;
}

/** Filter and projection parameters, without `since`. */
function selectionQuery(/** @type {ViewState} */ state) {
  const parts = state.clauses.filter(isComplete).map(encodeClause);
  if (state.fields.length > 0) parts.push(`fields=${state.fields.map(encodeURIComponent).join(',')}`);
  return parts;
}

/** Path and query of the stream for this view, e.g. `/v2/stream/recentchange?wiki=enwiki&since=…`. */
export function streamPath(/** @type {ViewState} */ state, now = Date.now()) {
  const parts = selectionQuery(state);
  const since = sinceParam(state.start, now);
  if (since !== undefined) parts.push(`since=${since}`);
  const query = parts.length > 0 ? `?${parts.join('&')}` : '';
  return `/v2/stream/${state.streams.map(encodeURIComponent).join(',')}${query}`;
}

/** The Last-Event-ID to send on the first request, if the view resumes from an event. */
export function startEventId(/** @type {ViewState} */ state) {
  return state.start.mode === 'resume' ? state.start.id : undefined;
}

export function toHash(/** @type {ViewState} */ state) {
  const parts = [`streams=${state.streams.map(encodeURIComponent).join(',')}`, ...selectionQuery(state)];
  const { start } = state;
  if (start.mode === 'ago') parts.push(`ago=${start.ms}`);
  if (start.mode === 'time') parts.push(`since=${encodeURIComponent(start.time)}`);
  if (start.mode === 'resume') parts.push(`resume=${encodeURIComponent(start.id)}`);
  return `#/?${parts.join('&')}`;
}

/** Reads a hash written by toHash (or typed by hand); unknown or broken parts are dropped. */
export function fromHash(/** @type {string} */ hash) {
  const state = emptyState();
  const query = hash.replace(/^#\/?\??/, '');
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const key = safeDecode(eq < 0 ? piece : piece.slice(0, eq));
    const raw = eq < 0 ? undefined : piece.slice(eq + 1);
    if (key === undefined) continue;
    if (VIEW_KEYS.has(key)) readViewKey(state, key, raw ?? '');
    else {
      const value = raw === undefined ? undefined : decodeList(raw);
      const clause = value === null ? undefined : parseClause(key, value);
      if (clause) state.clauses.push(clause);
    }
  }
  return state;
}

function readViewKey(/** @type {ViewState} */ state, /** @type {string} */ key, /** @type {string} */ raw) {
  const list = () => raw.split(',').map(safeDecode).filter((s) => s !== undefined && s !== '').map(String);
  if (key === 'streams') state.streams = list();
  else if (key === 'fields') state.fields = list();
  else if (key === 'ago' && /^\d+$/.test(raw)) state.start = { mode: 'ago', ms: Number(raw) };
  else if (key === 'since') {
    const time = safeDecode(raw);
    if (time !== undefined && !Number.isNaN(Date.parse(time))) state.start = { mode: 'time', time };
  } else if (key === 'resume') {
    const id = safeDecode(raw);
    if (id !== undefined && id !== '') state.start = { mode: 'resume', id };
  }
}

/** Decodes `a,b%2Cc` keeping the list commas: each value was encoded on its own. */
function decodeList(/** @type {string} */ raw) {
  const values = raw.split(',').map(safeDecode);
  return values.includes(undefined) ? null : values.join(',');
}

function safeDecode(/** @type {string} */ text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
