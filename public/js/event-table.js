// The live list: one compact row per event, newest first, with the fields people look for in
// Wikimedia streams. Each column takes the first of its paths the event has, so recentchange,
// page_change and revision events all fill it.
import { el } from './dom.js';

/** @typedef {import('./event-store.js').Received} Received */

/** Column paths in order of preference (the table header in index.html has the same columns). */
const COLUMNS = [
  ['meta.dt', 'dt'],
  ['wiki', 'wiki_id', 'database', 'meta.domain'],
  ['type', 'page_change_kind', 'log_type', 'meta.stream'],
  ['title', 'page.page_title', 'page_title'],
  ['user', 'performer.user_text'],
  ['comment', 'revision.comment'],
];

// More rows slow every insertion; the download and the store keep everything.
const MAX_ROWS = 1000;

/** The value at a dotted path, if any. */
function valueAt(/** @type {any} */ data, /** @type {string} */ path) {
  let node = data;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[key];
  }
  return node;
}

function cellText(/** @type {any} */ data, /** @type {string[]} */ paths) {
  for (const path of paths) {
    const value = valueAt(data, path);
    if (value !== undefined && value !== null) return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return '';
}

function timeText(/** @type {string} */ dt) {
  const ms = Date.parse(dt);
  return Number.isNaN(ms) ? dt : new Date(ms).toLocaleTimeString();
}

export class EventTable {
  #body;
  #onSelect;

  /**
   * @param {HTMLElement} body the table's tbody
   * @param {(seq: number) => void} onSelect
   */
  constructor(body, onSelect) {
    this.#body = body;
    this.#onSelect = onSelect;
    body.addEventListener('click', (e) => {
      const button = e.target instanceof Element ? e.target.closest('button[data-seq]') : null;
      if (button instanceof HTMLElement) this.#onSelect(Number(button.dataset.seq));
    });
  }

  /** Adds events (oldest first) at the top. */
  add(/** @type {Received[]} */ events) {
    if (events.length === 0) return;
    const fragment = document.createDocumentFragment();
    for (let i = events.length - 1; i >= 0; i--) {
      const event = /** @type {Received} */ (events[i]);
      fragment.append(this.#row(event));
    }
    this.#body.prepend(fragment);
    while (this.#body.children.length > MAX_ROWS) this.#body.lastElementChild?.remove();
  }

  clear() {
    this.#body.replaceChildren();
  }

  markSelected(/** @type {number} */ seq) {
    for (const row of this.#body.querySelectorAll('tr[aria-current]')) row.removeAttribute('aria-current');
    this.#body.querySelector(`tr[data-seq="${seq}"]`)?.setAttribute('aria-current', 'true');
  }

  #row(/** @type {Received} */ event) {
    const [timePaths = [], ...rest] = COLUMNS;
    const time = cellText(event.data, timePaths);
    const button = el('button', { type: 'button', class: 'link', 'data-seq': String(event.seq), title: time }, timeText(time) || `#${event.seq}`);
    const cells = rest.map((paths, i) => el('td', i === rest.length - 1 ? { class: 'wide' } : {}, cellText(event.data, paths)));
    return el('tr', { 'data-seq': String(event.seq) }, el('td', {}, button), ...cells);
  }
}
