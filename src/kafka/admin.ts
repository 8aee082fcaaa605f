/**
 * Topic administration for tests, the demo and local setups: idempotent creation and deletion
 * with @platformatic/kafka's Admin client.
 */
import { Admin, findErrorBy } from '@platformatic/kafka';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TopicSpec {
  name: string;
  partitions: number;
}

const WAIT_TIMEOUT_MS = 30_000;

function newAdmin(brokers: string[]): Admin {
  return new Admin({ clientId: 'eventstreams-admin', bootstrapBrokers: brokers, timeout: 10_000, retries: 3, retryDelay: 250 });
}

function isApiError(err: unknown, apiId: string): boolean {
  return err instanceof Error && findErrorBy(err, 'apiId', apiId) !== null;
}

/**
 * Every partition of every topic has a leader in the metadata AND that leader already serves
 * it. The second check matters: right after creation the metadata names a leader a moment before
 * the leader hosts the partition, and a produce in that window gets NOT_LEADER_OR_FOLLOWER for
 * some partitions. @platformatic/kafka then re-sends the whole multi-partition request, which
 * duplicates the records of the partitions that had succeeded. A ListOffsets to each partition's
 * leader only succeeds once the partition is really online.
 */
async function topicsReady(admin: Admin, topics: TopicSpec[]): Promise<boolean> {
  try {
    const md = await admin.metadata({ topics: topics.map((t) => t.name), forceUpdate: true });
    const leadersKnown = topics.every((t) => {
      const topic = md.topics.get(t.name);
      return (
        topic !== undefined &&
        topic.partitionsCount >= t.partitions &&
        topic.partitions.length === topic.partitionsCount &&
        topic.partitions.every((p) => p !== undefined && p.leader >= 0)
      );
    });
    if (!leadersKnown) return false;
    await admin.listOffsets({
      topics: topics.map((t) => ({
        name: t.name,
        partitions: Array.from({ length: md.topics.get(t.name)?.partitionsCount ?? 0 }, (_, i) => ({
          partitionIndex: i,
          timestamp: -1n,
        })),
      })),
    });
    return true;
  } catch {
    // UNKNOWN_TOPIC_OR_PARTITION / LEADER_NOT_AVAILABLE / NOT_LEADER_OR_FOLLOWER right after
    // creation: not ready yet.
    return false;
  }
}

/**
 * Creates the topics that do not exist yet (replication factor 1 suits the local single broker;
 * on a real cluster the broker default is used), grows existing topics that have fewer partitions
 * than asked, and waits until every partition has a leader. Idempotent and safe to race.
 */
export async function ensureTopics(brokers: string[], topics: TopicSpec[]): Promise<void> {
  if (topics.length === 0) return;
  for (const t of topics) {
    if (!Number.isInteger(t.partitions) || t.partitions < 1) {
      throw new Error(`ensureTopics: topic ${t.name}: partitions must be a positive integer`);
    }
  }
  const admin = newAdmin(brokers);
  try {
    const existing = new Set(await admin.listTopics({ includeInternals: false }));
    const missing = topics.filter((t) => !existing.has(t.name));
    for (const t of missing) {
      try {
        await admin.createTopics({ topics: [t.name], partitions: t.partitions, replicas: -1 });
      } catch (err) {
        if (!isApiError(err, 'TOPIC_ALREADY_EXISTS')) throw err;
      }
    }
    const present = topics.filter((t) => existing.has(t.name));
    if (present.length > 0) {
      const md = await admin.metadata({ topics: present.map((t) => t.name), forceUpdate: true });
      for (const t of present) {
        const count = md.topics.get(t.name)?.partitionsCount ?? 0;
        if (count > 0 && count < t.partitions) {
          try {
            await admin.createPartitions({ topics: [{ name: t.name, count: t.partitions }] });
          } catch (err) {
            if (!isApiError(err, 'INVALID_PARTITIONS')) throw err;
          }
        }
      }
    }
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    while (!(await topicsReady(admin, topics))) {
      if (Date.now() > deadline) {
        throw new Error(`ensureTopics: topics ${topics.map((t) => t.name).join(', ')} have no leaders after ${WAIT_TIMEOUT_MS / 1000} s`);
      }
      await sleep(100);
    }
  } finally {
    await admin.close().catch(() => {});
  }
}

/** Deletes the topics that exist (others are ignored) and waits until they are gone. */
export async function deleteTopics(brokers: string[], names: string[]): Promise<void> {
  if (names.length === 0) return;
  const admin = newAdmin(brokers);
  try {
    const existing = new Set(await admin.listTopics({ includeInternals: false }));
    const present = names.filter((n) => existing.has(n));
    if (present.length === 0) return;
    try {
      await admin.deleteTopics({ topics: present });
    } catch (err) {
      if (!isApiError(err, 'UNKNOWN_TOPIC_OR_PARTITION') && !isApiError(err, 'UNKNOWN_TOPIC_ID')) throw err;
    }
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    for (;;) {
      const left = new Set(await admin.listTopics({ includeInternals: false }));
      if (!present.some((n) => left.has(n))) return;
      if (Date.now() > deadline) {
        throw new Error(`deleteTopics: ${present.filter((n) => left.has(n)).join(', ')} still listed after ${WAIT_TIMEOUT_MS / 1000} s`);
      }
      await sleep(100);
    }
  } finally {
    await admin.close().catch(() => {});
  }
}
