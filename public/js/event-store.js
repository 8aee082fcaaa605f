// What was received: every event (for the detail view and the download), the ones held back while
// the list is paused, and the cap that stops a forgotten tab from filling its memory.

/** @typedef {{ seq: number, raw: string, data: any, id: string | undefined }} Received */

export class EventStore {
  /** @type {Received[]} */
  all = [];
  /** @type {Received[]} arrived while paused, not shown yet */
  held = [];
  paused = false;
  #cap;
  #allowance;
  #seq = 0;

  constructor(/** @type {number} */ cap) {
    this.#cap = cap;
    this.#allowance = cap;
  }

  setCap(/** @type {number} */ cap) {
    this.#allowance += cap - this.#cap;
    this.#cap = cap;
  }

  /** True once as many events arrived as allowed; the stream is stopped until `extend()`. */
  get capReached() {
    return this.all.length >= this.#allowance;
  }

  /** Allows another `cap` events. */
  extend() {
    this.#allowance = this.all.length + this.#cap;
  }

  /**
   * Records one event; returns it when it is to be shown now, undefined while paused.
   * @param {string} raw the data line
   * @param {string | undefined} id its SSE id
   */
  add(raw, id) {
    /** @type {Received} */
    const entry = { seq: ++this.#seq, raw, data: parse(raw), id };
    this.all.push(entry);
    if (this.paused) {
      this.held.push(entry);
      return undefined;
    }
    return entry;
  }

  pause() {
    this.paused = true;
  }

  /** Ends the pause and hands back, oldest first, what arrived meanwhile. */
  resume() {
    this.paused = false;
    const held = this.held;
    this.held = [];
    return held;
  }

  /**
   * Forgets what arrived after event `seq` (held or shown) and ends a pause: the view reads on
   * right after that event.
   */
  keepUpTo(/** @type {number} */ seq) {
    this.all = this.all.filter((e) => e.seq <= seq);
    this.held = [];
    this.paused = false;
  }

  clear() {
    this.all = [];
    this.held = [];
    this.#allowance = this.#cap;
  }

  bySeq(/** @type {number} */ seq) {
    return this.all.find((e) => e.seq === seq);
  }

  /** Newline-delimited JSON of everything received, as the server sent it. */
  ndjson() {
    return this.all.map((e) => `${e.raw}\n`).join('');
  }
}

function parse(/** @type {string} */ raw) {
  try {
    return JSON.parse(raw);
  } catch {
    return { unparsable: raw };
  }
}
