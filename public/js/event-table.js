// The live list: one compact row per event, newest first, with the fields people look for in
// Wikimedia streams. Each column takes the first of its paths the event has, so recentchange,
// page_change and revision events all fill it. Titles, users and diffs link to the wiki; the
// whole table is one tab stop, with arrow keys inside it.
import { el } from './dom.js';
import { eventLinks, eventTime, eventTimeText, plainComment, valueAt } from './format.js';
import { RovingFocus } from './roving.js';

/** @typedef {import('./event-store.js').Received} Received */

/** Column paths in order of preference (the table header in index.html has the same columns). */
const PATHS = {
  stream: ['meta.stream'],
  wiki: ['wiki', 'wiki_id', 'database', 'meta.domain'],
  type: ['type', 'page_change_kind', 'log_type', 'meta.stream'],
  title: ['title', 'page.page_title', 'page_title'],
  user: ['user', 'performer.user_text'],
  comment: ['comment', 'revision.comment'],
};

// More rows slow every insertion; the download and the store keep everything.
const MAX_ROWS = 1000;

function cellText(/** @type {unknown} */ data, /** @type {string[]} */ paths) {
  for (const path of paths) {
    const value = valueAt(data, path);
    if (value !== undefined && value !== null) return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return '';
}

/** A link to the wiki that opens beside the stream, or the plain text when there is no URL. */
function linkOr(/** @type {URL | undefined} */ url, /** @type {string} */ text) {
  return url && text !== '' ? el('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer', tabindex: '-1' }, text) : text;
}

export class EventTable {
  #table;
  #body;
  #onSelect;
  #roving;

  /**
   * @param {HTMLTableElement} table its tbody receives the rows
   * @param {(seq: number) => void} onSelect an event's time was activated
   */
  constructor(table, onSelect) {
    this.#table = table;
    this.#body = /** @type {HTMLTableSectionElement} */ (table.tBodies[0]);
    this.#onSelect = onSelect;
    this.#roving = new RovingFocus(this.#body, 'button[data-seq], a', 'tr');
    this.#body.addEventListener('click', (e) => {
      const button = e.target instanceof Element ? e.target.closest('button[data-seq]') : null;
      if (button instanceof HTMLElement) this.#onSelect(Number(button.dataset.seq));
    });
  }

  /** With several streams a column says which each event came from. */
  showStreams(/** @type {boolean} */ several) {
    this.#table.classList.toggle('several-streams', several);
  }

  /** Adds events (oldest first) at the top. */
  add(/** @type {Received[]} */ events) {
    if (events.length === 0) return;
    const now = Date.now();
    const fragment = document.createDocumentFragment();
    for (let i = events.length - 1; i >= 0; i--) fragment.append(this.#row(/** @type {Received} */ (events[i]), now));
    this.#body.prepend(fragment);
    while (this.#body.children.length > MAX_ROWS) this.#body.lastElementChild?.remove();
    this.#roving.refresh();
  }

  /** Removes the rows of events received after `seq`. */
  removeAfter(/** @type {number} */ seq) {
    for (const row of [...this.#body.rows]) if (Number(row.dataset.seq) > seq) row.remove();
    this.#roving.refresh();
  }

  clear() {
    this.#body.replaceChildren();
  }

  markSelected(/** @type {number} */ seq) {
    for (const row of this.#body.querySelectorAll('tr[aria-current]')) row.removeAttribute('aria-current');
    const row = this.#body.querySelector(`tr[data-seq="${seq}"]`);
    row?.setAttribute('aria-current', 'true');
    const button = row?.querySelector('button');
    if (button) this.#roving.moveTo(button);
  }

  #row(/** @type {Received} */ event, /** @type {number} */ now) {
    const { data } = event;
    const ms = eventTime(data);
    const button = el(
      'button',
      { type: 'button', class: 'link', 'data-seq': String(event.seq), tabindex: '-1' },
      Number.isNaN(ms) ? `#${event.seq}` : el('time', { datetime: new Date(ms).toISOString() }, eventTimeText(ms, now)),
    );
    const links = eventLinks(data);
    const title = cellText(data, PATHS.title);
    const user = cellText(data, PATHS.user);
    const rawComment = cellText(data, PATHS.comment);
    const type = cellText(data, PATHS.type);
    const cell = (/** @type {string} */ name, /** @type {Node | string} */ content, /** @type {string} */ full) =>
      el('td', { class: name, title: full }, content);
    return el(
      'tr',
      { 'data-seq': String(event.seq) },
      el('td', { class: 'time' }, button),
      cell('stream', cellText(data, PATHS.stream), cellText(data, PATHS.stream)),
      cell('wiki', cellText(data, PATHS.wiki), cellText(data, PATHS.wiki)),
      el('td', { class: 'type', title: type }, type, links.diff ? ' ' : '', links.diff ? linkOr(links.diff, 'diff') : ''),
      cell('title', linkOr(links.title, title), title),
      cell('user', linkOr(links.user, user), user),
      cell('comment wide', plainComment(rawComment), rawComment),
    );
  }
}
