/** The 300 real recentchange events recorded for the demo, which every benchmark replays. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/lib/repo-root.ts';

export const RECORDED_EVENTS_FILE = join(repoRoot, 'data', 'demo', 'recentchange.2026-08-04.ndjson');

/** The recorded events in file order (producers cycle through them: seq k carries event k % 300). */
export function readRecordedEvents(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(RECORDED_EVENTS_FILE, 'utf8').split('\n')) {
    if (line.trim() !== '') out.push(JSON.parse(line) as Record<string, unknown>);
  }
  if (out.length === 0) throw new Error(`no events in ${RECORDED_EVENTS_FILE}`);
  return out;
}

/**
 * The recorded events as producers write them to Kafka: without `meta.topic`, `partition` and
 * `offset`, which the service adds (an event that already has them takes its slow path).
 */
export function readProducedEvents(): Record<string, unknown>[] {
  return readRecordedEvents().map((event) => {
    const meta = event.meta;
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return event;
    const { topic: _topic, partition: _partition, offset: _offset, ...rest } = meta as Record<string, unknown>;
    return { ...event, meta: rest };
  });
}
