// Stream health panel: connection state and why, reconnects, events/s with a 60 s sparkline, the
// age of the last bytes (events or heartbeats), and the server's in-stream notices and errors.
import { byId, el } from './dom.js';

/** @typedef {import('./connection.js').ConnState} ConnState */

const STATE_TEXT = {
  idle: 'not connected',
  connecting: 'connecting…',
  open: 'connected',
  reconnecting: 'reconnecting',
  stopped: 'stopped',
  failed: 'refused by the server',
};
const WINDOW_S = 60;
const MAX_NOTICES = 50;

export class HealthPanel {
  #state = byId('conn-state');
  #reason = byId('conn-reason');
  #reconnects = byId('reconnects');
  #rate = byId('rate');
  #age = byId('heartbeat-age');
  #received = byId('received');
  #notices = byId('notices');
  #line = /** @type {SVGPolylineElement} */ (byId('sparkline').querySelector('polyline'));
  /** @type {number[]} events per second, oldest first */
  #perSecond = new Array(WINDOW_S).fill(0);
  #current = 0;
  /** @type {number | undefined} */
  #lastActivity;
  #hasNotices = false;

  constructor() {
    setInterval(() => this.#tick(), 1000);
  }

  /** @param {ConnState | 'idle'} state @param {string} reason */
  setState(state, reason) {
    this.#state.textContent = STATE_TEXT[state];
    this.#state.dataset.state = state;
    this.#reason.textContent = reason;
  }

  setReconnects(/** @type {number} */ n) {
    this.#reconnects.textContent = String(n);
  }

  setReceived(/** @type {number} */ n) {
    this.#received.textContent = n.toLocaleString();
  }

  countEvent() {
    this.#current++;
  }

  activity() {
    this.#lastActivity = Date.now();
  }

  /** A `notice` or `error` block from the server, shown as plain sentences. */
  control(/** @type {string} */ event, /** @type {string} */ data) {
    let body;
    try {
      body = JSON.parse(data);
    } catch {
      body = { message: data };
    }
    const time = new Date().toLocaleTimeString();
    /** @type {string[]} */
    const lines = [];
    if (event === 'notice' && body?.type === 'position' && Array.isArray(body.positions)) {
      for (const p of body.positions) {
        const where = p.offset === undefined ? '' : ` (starts at offset ${p.offset})`;
        lines.push(`${p.topic}/${p.partition}: ${p.message ?? p.reason ?? 'start position changed'}${where}`);
      }
    } else if (event === 'error') {
      lines.push(`${body?.name ?? 'Error'}: ${body?.message ?? data}`);
    } else {
      lines.push(data);
    }
    if (!this.#hasNotices) this.#notices.replaceChildren();
    this.#hasNotices = true;
    // Phones show the notices only once there are some.
    byId('health').classList.add('has-notices');
    for (const line of lines) {
      this.#notices.prepend(el('li', { class: event === 'error' ? 'error' : 'notice' }, el('strong', {}, `${time} ${event}: `), line));
    }
    while (this.#notices.children.length > MAX_NOTICES) this.#notices.lastElementChild?.remove();
  }

  resetRate() {
    this.#perSecond.fill(0);
    this.#current = 0;
    this.#lastActivity = undefined;
    this.#tick();
  }

  #tick() {
    this.#perSecond.shift();
    this.#perSecond.push(this.#current);
    this.#rate.textContent = String(this.#current);
    this.#current = 0;
    const max = Math.max(1, ...this.#perSecond);
    const step = 120 / (WINDOW_S - 1);
    this.#line.setAttribute('points', this.#perSecond.map((v, i) => `${(i * step).toFixed(1)},${(23 - (v / max) * 22).toFixed(1)}`).join(' '));
    this.#age.textContent = this.#lastActivity === undefined ? '–' : `${Math.round((Date.now() - this.#lastActivity) / 1000)} s ago`;
  }
}
