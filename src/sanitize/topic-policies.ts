import type { StreamCatalogue, StreamConfig } from '../catalogue/types.ts';
import type { TopicPolicy } from './sanitizer.ts';

/**
 * Each topic's sanitization policy from the current catalogue. Sanitization follows streams: a
 * stream's `remove_fields` apply to every topic it can serve, those it reads and those a client may
 * name in `Last-Event-ID` (`topics_allowed`). A topic's events are sanitized once into a frame
 * shared by the clients of every stream serving it, so they lose the union of those streams'
 * fields. Metrics count under the first stream that reads the topic (else the first that allows
 * it). Rebuilt when the catalogue is.
 */
export function topicPolicies(catalogue: () => StreamCatalogue): (topic: string) => TopicPolicy | undefined {
  let built: { from: StreamCatalogue; byTopic: Map<string, TopicPolicy> } | undefined;
  return (topic) => {
    const current = catalogue();
    if (built?.from !== current) built = { from: current, byTopic: policiesOf(current.streams) };
    return built.byTopic.get(topic);
  };
}

function policiesOf(streams: readonly StreamConfig[]): Map<string, TopicPolicy> {
  const byTopic = new Map<string, TopicPolicy>();
  const servers = (allowed: boolean) => streams.flatMap((stream) => (allowed ? (stream.topicsAllowed ?? []) : stream.topics).map((topic) => ({ stream, topic })));
  const seen = new Set<string>();
  // Readers first, so a topic's metrics name the stream that reads it.
  for (const { stream, topic } of [...servers(false), ...servers(true)]) {
    // topics_allowed repeats the stream's topics: count each stream once per topic.
    if (seen.has(`${stream.name}\u0000${topic}`)) continue;
    seen.add(`${stream.name}\u0000${topic}`);
    const policy = byTopic.get(topic) ?? { stream: stream.name, removeFields: [] };
    byTopic.set(topic, { stream: policy.stream, removeFields: [...policy.removeFields, ...(stream.removeFields ?? []).map((f) => f.split('.'))] });
  }
  return byTopic;
}
