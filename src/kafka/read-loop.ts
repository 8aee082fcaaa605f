import { findErrorBy } from '@platformatic/kafka';
import { partitionKey, type PositionNoticeReason } from '../protocol/position.ts';
import type { Fetcher, FetchPosition, FetchResult } from './fetch.ts';
import { isUnknownTopic } from './gateway.ts';
import type { OffsetLookup } from './start-positions.ts';

/** What a reader plugs into the shared fetch-retry loop. */
export interface ReadLoopHooks {
  /** Partitions and offsets to fetch now; empty ends the loop. */
  positions(): FetchPosition[];
  /** Waits until the reader's clients can take the fetched batch (backpressure); optional. */
  ready?(): Promise<void>;
  /** Handles one fetch's result; the loop waits for it. */
  deliver(result: FetchResult): Promise<void> | void;
  /** Offsets Kafka no longer has were moved to the closest ones it has. */
  moved(moves: PositionMove[]): void;
  /** Kafka trouble that the loop rides out by retrying. */
  retrying(error: Error, attempt: number): void;
  /** Reading cannot go on (a topic was deleted); the loop ends once this settles. */
  fatal(error: Error): void | Promise<void>;
  /** Counted per fetch request sent (metrics). */
  fetched(): void;
  /**
   * Fetch the next batch while the current one is delivered. Only for readers whose positions
   * move just by reading (catch-up, per connection): the prefetch uses the offsets the fetch returned.
   */
  prefetch?: boolean;
  closed(): boolean;
}

export interface PositionMove extends FetchPosition {
  to: number;
  notice: PositionNoticeReason;
}

const MAX_BACKOFF_MS = 5000;

/** Fetches until told to stop, retrying Kafka errors with backoff and recovering lost positions. */
export async function runReadLoop(fetcher: Fetcher, offsets: Pick<OffsetLookup, 'bounds'>, hooks: ReadLoopHooks): Promise<void> {
  let attempt = 0;
  let prefetched: { positions: FetchPosition[]; result: Promise<FetchResult> } | undefined;
  while (!hooks.closed()) {
    const positions = hooks.positions();
    if (positions.length === 0) return;
    try {
      const ahead = prefetched !== undefined && samePositions(prefetched.positions, positions) ? prefetched.result : undefined;
      prefetched = undefined;
      if (ahead === undefined) hooks.fetched();
      const result = await (ahead ?? fetcher.fetch(positions));
      attempt = 0;
      if (hooks.prefetch === true && !hooks.closed()) {
        const next = positions.map((p) => ({ ...p, offset: result.next.get(partitionKey(p.topic, p.partition)) ?? p.offset }));
        hooks.fetched();
        prefetched = { positions: next, result: fetcher.fetch(next) };
        // A prefetch that is never used must not surface as an unhandled rejection.
        prefetched.result.catch(() => undefined);
      }
      // Fetching first and then waiting for room overlaps Kafka's round trip with the client's reading.
      if (hooks.ready !== undefined) await hooks.ready();
      if (hooks.closed()) return;
      await hooks.deliver(result);
    } catch (error) {
      if (hooks.closed()) return;
      const err = error instanceof Error ? error : new Error(String(error));
      if (isUnknownTopic(err)) {
        await hooks.fatal(new Error('a topic of this stream no longer exists in Kafka'));
        return;
      }
      if (findErrorBy(err, 'apiId', 'OFFSET_OUT_OF_RANGE') !== null) {
        const moves = await outOfRangeMoves(offsets, positions).catch(() => []);
        if (moves.length > 0) {
          hooks.moved(moves);
          continue;
        }
      }
      attempt++;
      hooks.retrying(err, attempt);
      fetcher.clearMetadata();
      await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt));
    }
  }
}

/** For positions outside what Kafka retains, the closest offset it has. */
async function outOfRangeMoves(offsets: Pick<OffsetLookup, 'bounds'>, positions: readonly FetchPosition[]): Promise<PositionMove[]> {
  const bounds = await offsets.bounds(positions);
  const moves: PositionMove[] = [];
  for (const position of positions) {
    const bound = bounds.get(partitionKey(position.topic, position.partition));
    if (bound === undefined) continue;
    if (position.offset < bound.earliest) moves.push({ ...position, to: bound.earliest, notice: 'offset_before_earliest' });
    else if (position.offset > bound.latest) moves.push({ ...position, to: bound.latest, notice: 'offset_beyond_end' });
  }
  return moves;
}

function samePositions(a: readonly FetchPosition[], b: readonly FetchPosition[]): boolean {
  return a.length === b.length && a.every((p, i) => p.topic === b[i]?.topic && p.partition === b[i]?.partition && p.offset === b[i]?.offset);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
