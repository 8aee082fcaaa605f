/** The Kafka requests that are timed. */
export type KafkaApi = 'fetch' | 'metadata' | 'list_offsets';

/** What the Kafka layer reports about its own traffic (for metrics), without knowing Prometheus. */
export interface KafkaObserver {
  /** Times one request to the brokers; resolves or rejects as the request does. */
  timed<T>(api: KafkaApi, request: Promise<T>): Promise<T>;
  /** Messages of a topic fetched, by any reader. */
  countRead(topic: string, messages: number): void;
}

export const unobserved: KafkaObserver = {
  timed: (_api, request) => request,
  countRead: () => undefined,
};
