/**
 * The bench events, without any Kafka client: the real recorded recentchange events, each with
 * `bench: {seq, sent_ms}` as its FIRST field. The producer (bench/lib/kafka.ts) sends them to Kafka;
 * the fan-out ceiling (bench/lib/ceiling-server.ts) frames the very same values itself.
 */
import { readProducedEvents } from './recorded-events.ts';

/** The bench stream's topics (1 partition each); seq k goes to topic k % 2. */
export const RECENTCHANGE_TOPICS = ['eqiad.mediawiki.recentchange', 'codfw.mediawiki.recentchange'];

/**
 * The 300 recorded recentchange events, each pre-serialised WITHOUT its opening brace and
 * without meta.topic/partition/offset (the service adds them), so a bench value is
 * `{"bench":{"seq":N,"sent_ms":T},` + template: the bench field first, cheap to find.
 */
export function loadTemplates(): string[] {
  return readProducedEvents().map((event) => JSON.stringify(event).slice(1));
}

export function benchValue(templates: readonly string[], seq: number, sentMs: number): Buffer {
  return Buffer.from(`{"bench":{"seq":${seq},"sent_ms":${sentMs}},${templates[seq % templates.length]!}`);
}
