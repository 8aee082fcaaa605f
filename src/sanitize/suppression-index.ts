import type { HiddenParts } from './hidden.ts';

/**
 * Which revisions have hidden parts: (wiki, revision id) -> parts, from the visibility-change events.
 * Bounded: past `maxEntries` the oldest entries go first (counted, so an operator sees it), since
 * suppressions older than the served topics' retention no longer matter.
 */
export class SuppressionIndex {
  /** `wiki\0revId` -> parts, in the order entries were last set (a Map keeps it): oldest first. */
  readonly #entries = new Map<string, HiddenParts>();
  readonly #maxEntries: number;
  /** Bumped on every change, so cached events know when to be checked again. */
  version = 0;
  evicted = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  hidden(wiki: string, revId: number): HiddenParts {
    return this.#entries.get(`${wiki}\u0000${revId}`) ?? 0;
  }

  /** Records a revision's current hidden parts (0 = all visible again); true when that changed anything. */
  set(wiki: string, revId: number, hidden: HiddenParts): boolean {
    const key = `${wiki}\u0000${revId}`;
    if ((this.#entries.get(key) ?? 0) === hidden) return false;
    this.#entries.delete(key);
    if (hidden !== 0) {
      this.#entries.set(key, hidden);
      if (this.#entries.size > this.#maxEntries) {
        this.#entries.delete(this.#entries.keys().next().value as string);
        this.evicted++;
      }
    }
    this.version++;
    return true;
  }
}
