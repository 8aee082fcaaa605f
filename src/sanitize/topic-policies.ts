import type { StreamCatalogue } from '../catalogue/types.ts';
import type { TopicPolicy } from './sanitizer.ts';

/**
 * Each topic's sanitization policy from the current catalogue: the union of the `remove_fields` of
 * the streams that read it, and its first stream's name for metrics. Rebuilt when the catalogue is.
 */
export function topicPolicies(catalogue: () => StreamCatalogue): (topic: string) => TopicPolicy | undefined {
  let built: { from: StreamCatalogue; byTopic: Map<string, TopicPolicy> } | undefined;
  return (topic) => {
    const current = catalogue();
    if (built?.from !== current) {
      const byTopic = new Map<string, TopicPolicy>();
      for (const stream of current.streams) {
        for (const t of stream.topics) {
          const policy = byTopic.get(t) ?? { stream: stream.name, removeFields: [] };
          byTopic.set(t, { stream: policy.stream, removeFields: [...policy.removeFields, ...(stream.removeFields ?? []).map((f) => f.split('.'))] });
        }
      }
      built = { from: current, byTopic };
    }
    return built.byTopic.get(topic);
  };
}
