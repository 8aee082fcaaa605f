/**
 * Filters for the fan-out benchmark's clients and the deliveries they imply: the producer cycles
 * through the recorded events (seq k carries event k % 300), so what each filter matches among
 * them says exactly which seqs each client must receive.
 */
import { mixedQueries, wikiQueries } from './filter-queries.ts';
import type { ClientFilters } from './loadgen-protocol.ts';
import { matchTable } from './recentchange-filters.ts';
import { readRecordedEvents } from './recorded-events.ts';

export const FILTER_MODES = ['none', 'wiki', 'mix'] as const;
export type FilterMode = (typeof FILTER_MODES)[number];

export function isFilterMode(value: string): value is FilterMode {
  return (FILTER_MODES as readonly string[]).includes(value);
}

/**
 * `wiki`: client i asks for one wiki, the i-th of the events' wikis (cycling), so the clients
 * split over all of them; `mix`: every client a distinct filter of the mix (some match nothing).
 */
export function clientFilters(mode: FilterMode, clients: number): ClientFilters | undefined {
  if (mode === 'none') return undefined;
  const events = readRecordedEvents();
  const queries = mode === 'wiki' ? wikiQueries(events) : mixedQueries(events, clients);
  return { queries, matches: matchTable(queries, events, { schemas: [], schemaless: true }), templates: events.length };
}

/** Events clients 0..clients-1 should receive of the seqs fromSeq..toSeq. */
export function expectedDeliveries(filters: ClientFilters, clients: number, fromSeq: number, toSeq: number): number {
  const perTemplate = new Array<number>(filters.templates).fill(0);
  for (let seq = fromSeq; seq <= toSeq; seq++) perTemplate[seq % filters.templates]!++;
  const perQuery = filters.matches.map((templates) => templates.reduce((sum, t) => sum + (perTemplate[t] ?? 0), 0));
  let total = 0;
  for (let i = 0; i < clients; i++) total += perQuery[i % perQuery.length] ?? 0;
  return total;
}
