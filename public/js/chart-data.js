// What the charts show, computed from the events already received (no server cost): counts of a
// field's values, and events per second over event time split by the most common values.
import { valueAt } from './format.js';

/** Fields to chart by, each read from the first of its paths an event has. */
export const CHART_FIELDS = /** @type {const} */ ({
  wiki: ['wiki', 'wiki_id', 'database', 'meta.domain'],
  type: ['type', 'page_change_kind'],
  namespace: ['namespace', 'page.namespace_id', 'page_namespace'],
  bot: ['bot', 'performer.user_is_bot'],
  stream: ['meta.stream'],
});
/** @typedef {keyof typeof CHART_FIELDS} ChartField */

// Bucket widths to choose from: the smallest that keeps the series within MAX_BUCKETS.
const WIDTHS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 21_600, 86_400].map((s) => s * 1000);
const MAX_BUCKETS = 40;
export const OTHER = '(other)';
const NONE = '(none)';

/** The value an event has for the field, as text. */
export function fieldValue(/** @type {unknown} */ data, /** @type {readonly string[]} */ paths) {
  for (const path of paths) {
    const value = valueAt(data, path);
    if (value !== undefined && value !== null && typeof value !== 'object') return String(value);
  }
  return NONE;
}

/**
 * The `n` most common values, most common first (ties by value), with their counts.
 * @param {unknown[]} events
 * @param {readonly string[]} paths
 * @returns {[string, number][]}
 */
export function topValues(events, paths, n = 10) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const data of events) {
    const value = fieldValue(data, paths);
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}

/**
 * Events per bucket of event time, each bucket split by `keys` (other values count as OTHER).
 * @param {{ ms: number, data: unknown }[]} events with their event times (NaN: left out)
 * @param {readonly string[]} paths
 * @param {string[]} keys
 * @returns {{ start: number, width: number, buckets: Map<string, number>[] } | undefined}
 */
export function timeSeries(events, paths, keys) {
  const timed = events.filter((e) => !Number.isNaN(e.ms));
  if (timed.length === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  for (const { ms } of timed) {
    if (ms < min) min = ms;
    if (ms > max) max = ms;
  }
  const width = WIDTHS.find((w) => Math.floor(max / w) - Math.floor(min / w) < MAX_BUCKETS) ?? /** @type {number} */ (WIDTHS.at(-1));
  const start = Math.floor(min / width) * width;
  const buckets = Array.from({ length: Math.floor((max - start) / width) + 1 }, () => /** @type {Map<string, number>} */ (new Map()));
  const known = new Set(keys);
  for (const { ms, data } of timed) {
    const value = fieldValue(data, paths);
    const key = known.has(value) ? value : OTHER;
    const bucket = /** @type {Map<string, number>} */ (buckets[Math.floor((ms - start) / width)]);
    bucket.set(key, (bucket.get(key) ?? 0) + 1);
  }
  return { start, width, buckets };
}
