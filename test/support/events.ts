/** Real recorded recentchange events (shipped with the demo) for fixtures. */
import { readFileSync } from 'node:fs';

const FILE = new URL('../../data/demo/recentchange.2026-08-04.ndjson', import.meta.url);

export const recentchanges: Record<string, unknown>[] = readFileSync(FILE, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Record<string, unknown>);

/** The n-th real event (cycling), stripped of its recorded Kafka position and tagged with `seq`. */
export function rcEvent(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const source = recentchanges[n % recentchanges.length] ?? {};
  const event = structuredClone(source);
  const meta = { ...(event.meta as Record<string, unknown>) };
  delete meta.topic;
  delete meta.partition;
  delete meta.offset;
  return { ...event, meta, seq: n, ...extra };
}
