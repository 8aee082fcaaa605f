/**
 * Distinct filter query strings for the recorded recentchange events, as a crowd of clients would
 * write them: built from the values the events really have, so every kind matches some events.
 */

/** Distinct values of `field` in `events`, most frequent first (ties in first-seen order). */
function byFrequency(events: readonly Record<string, unknown>[], field: string): string[] {
  const counts = new Map<string, number>();
  for (const event of events) {
    const value = event[field];
    if (typeof value === 'string' || typeof value === 'number') counts.set(String(value), (counts.get(String(value)) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([value]) => value);
}

/** `wiki=<w>` for every wiki of the events, most frequent first. */
export function wikiQueries(events: readonly Record<string, unknown>[]): string[] {
  return byFrequency(events, 'wiki').map((wiki) => `wiki=${wiki}`);
}

/** Title prefixes (the namespace part, or the first letters) as `title=<prefix>*` would use them. */
function titlePrefixes(events: readonly Record<string, unknown>[]): string[] {
  const prefixes = new Set<string>();
  for (const event of events) {
    const title = event.title;
    if (typeof title !== 'string') continue;
    const colon = title.indexOf(':');
    prefixes.add(colon > 0 ? title.slice(0, colon + 1) : title.slice(0, 1));
  }
  return [...prefixes].sort();
}

/**
 * `n` distinct queries cycling over five kinds: two selective indexable ones (`wiki=` plus
 * namespace, or plus `bot=false` and a length), one indexable only on the 3-valued `type`, and
 * two no index can serve (`bot!=true` with a title glob and a length, a length alone). The j-th
 * query of a kind differs from the others of that kind by its second value, so all are distinct.
 */
export function mixedQueries(events: readonly Record<string, unknown>[], n: number): string[] {
  const wikis = byFrequency(events, 'wiki');
  const namespaces = byFrequency(events, 'namespace');
  const types = byFrequency(events, 'type');
  const prefixes = titlePrefixes(events);
  // Namespaces seen first, then others (they match nothing here, as most namespaces of most wikis).
  const namespace = (k: number): string => namespaces[k] ?? String(1000 + k);
  const kinds: ((j: number) => string)[] = [
    (j) => `wiki=${wikis[j % wikis.length]}&namespace=${namespace(Math.floor(j / wikis.length))}`,
    (j) => `wiki=${wikis[j % wikis.length]}&bot=false&length.new>=${100 * Math.floor(j / wikis.length)}`,
    (j) => `type=${types[j % types.length]}&length.new<${1000 + 10 * Math.floor(j / types.length)}`,
    (j) => `bot!=true&title=${encodeURIComponent(prefixes[j % prefixes.length] ?? '')}*&length.new>=${50 * Math.floor(j / prefixes.length)}`,
    (j) => `length.new>=${10_000 + 7 * j}`,
  ];
  return Array.from({ length: n }, (_, i) => kinds[i % kinds.length]!(Math.floor(i / kinds.length)));
}

/** The largest n in [low, high] with fits(n) (fits must hold for low and be monotonic). */
function largest(low: number, high: number, fits: (n: number) => boolean): number {
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * A recentchange filter, distinct by `tag`, costing at most `target` (`cost`: the service's cost of
 * a query) and as slow per unit of cost as a client can make one (bench/results/filter-cost.md):
 * up to 30 date-time comparisons (the event's date is parsed for each) and `*` patterns that scan
 * the title and fail but the last (`*`). Nothing to index and every clause but the last holds, so
 * every event costs the whole filter; the last (`user!=*`) fails, so nothing is sent and only the
 * filter's work shows.
 */
export function costliestQuery(tag: string, target: number, cost: (query: string) => number): string {
  const pair = (i: number): string => (i % 1296).toString(36).padStart(2, '0');
  const make = (dates: number, patterns: number): string =>
    [
      ...Array.from({ length: dates }, (_, i) => `meta.dt>=2001-01-${String(i + 1).padStart(2, '0')}T00:00:00Z`),
      `title=${[`*${tag}*`, ...Array.from({ length: patterns }, (_, i) => `*a*e*i*o*${pair(i)}*`), '*'].join(',')}`,
      'user!=*',
    ].join('&');
  const dates = largest(0, 30, (d) => d === 0 || cost(make(d, 0)) <= target);
  return make(dates, largest(0, 997, (n) => n === 0 || cost(make(dates, n)) <= target));
}
