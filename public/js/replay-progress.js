// How far a replay (a start in the past) has come: the newest event time received against the
// moment the stream was opened. It is caught up once events reach that moment, or the server
// sends a heartbeat (it only does so when it has nothing left to send).
import { eventTimeText } from './format.js';

/** Events this close to the opening moment count as live (clocks and producers lag a little). */
const LIVE_SLACK_MS = 2000;

export class ReplayProgress {
  #from;
  #until;
  /** @type {number | undefined} */
  #latest;
  count = 0;
  caughtUp = false;

  /**
   * @param {number | undefined} from where the replay starts (epoch ms), when known
   * @param {number} until when the stream was opened (epoch ms)
   */
  constructor(from, until) {
    this.#from = from;
    this.#until = until;
  }

  /** One received event and its time (NaN when it has none); true when this one caught up. */
  event(/** @type {number} */ ms) {
    this.count++;
    if (this.caughtUp || Number.isNaN(ms)) return false;
    this.#from ??= ms;
    if (this.#latest === undefined || ms > this.#latest) this.#latest = ms;
    if (ms >= this.#until - LIVE_SLACK_MS) return this.#done();
    return false;
  }

  /** The server went quiet: nothing older is left to send. True when this caught up. */
  idle() {
    return this.caughtUp ? false : this.#done();
  }

  #done() {
    this.caughtUp = true;
    return true;
  }

  /** Share of the way from the start to the opening moment, 0 to 1. */
  get fraction() {
    if (this.caughtUp) return 1;
    if (this.#from === undefined || this.#latest === undefined || this.#until <= this.#from) return 0;
    return Math.max(0, Math.min(1, (this.#latest - this.#from) / (this.#until - this.#from)));
  }

  /** "Replaying 06:32 of 06:36, 1,240 events" or "Caught up: live since 06:36 (1,240 events replayed)". */
  text(now = Date.now()) {
    const until = eventTimeText(this.#until, now);
    const count = `${this.count.toLocaleString()} event${this.count === 1 ? '' : 's'}`;
    if (this.caughtUp) return `Caught up: live since ${until}, ${count} so far`;
    const at = this.#latest === undefined ? 'the start' : eventTimeText(this.#latest, now);
    return `Replaying ${at} of ${until}, ${count}`;
  }
}
