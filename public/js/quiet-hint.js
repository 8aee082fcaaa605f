// Why a connected view shows nothing: a stream can be quiet (or, like a demo stream without a
// schema, get no events at all), and "connected, 0 received" alone does not say so. The hint comes
// once the stream has been open a while, or sooner when the server sends a heartbeat (it only does
// on silence), and goes with the first event.
import { eventTimeText } from './format.js';

/** How long an open stream may stay empty before the hint says why. */
export const QUIET_MS = 5000;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * @typedef {object} QuietView
 * @property {number | undefined} since where the view started (epoch ms); undefined after an event's position
 * @property {number} streams how many streams it reads
 * @property {boolean} filtered whether it has filters
 */

/** The hint for a view that has received nothing yet. */
export function quietText(/** @type {QuietView} */ view, now = Date.now()) {
  const from = view.since === undefined ? 'the chosen position' : eventTimeText(view.since, now);
  const subject = view.streams === 1 ? 'This stream has' : 'These streams have';
  const quiet = view.streams === 1 ? 'it may be quiet' : 'they may be quiet';
  const back = view.since === undefined ? undefined : now - view.since;
  // An earlier start shows recent history, unless the view already reaches a day back.
  const earlier = back === undefined || back < HOUR_MS ? '1 hour ago' : back < DAY_MS ? '1 day ago' : undefined;
  if (view.filtered) {
    const advice = earlier ? `Try an earlier start (e.g. ${earlier}) or fewer filters.` : 'Try fewer filters.';
    return `Connected – no matching events yet. No event since ${from} matched the filters; ${quiet}, or the filters select nothing. ${advice}`;
  }
  const advice = earlier ? ` Try an earlier start (e.g. ${earlier}) to see recent history.` : '';
  return `Connected – no events yet. ${subject} had no events since ${from}; ${quiet}.${advice}`;
}

/** Shows the hint in `box` (as text) when an armed stream stays empty; any event or state change clears it. */
export class QuietHint {
  #box;
  /** @type {(() => string) | undefined} */
  #pending;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;

  constructor(/** @type {HTMLElement} */ box) {
    this.#box = box;
  }

  /** The stream opened and nothing came yet: say why after QUIET_MS, unless an event comes first. */
  arm(/** @type {() => string} */ text) {
    this.clear();
    this.#pending = text;
    this.#timer = setTimeout(() => this.#show(), QUIET_MS);
  }

  /** The server sent a heartbeat: it has nothing to send, so say why now. */
  idle() {
    this.#show();
  }

  clear() {
    clearTimeout(this.#timer);
    this.#pending = undefined;
    this.#box.textContent = '';
  }

  /** Once: a status region would read the same hint out again at every heartbeat. */
  #show() {
    clearTimeout(this.#timer);
    if (this.#pending) this.#box.textContent = this.#pending();
    this.#pending = undefined;
  }
}
