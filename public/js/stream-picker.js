// The stream checkboxes, from the catalogue (`GET /v2/streams`): name, aliases, description, and a
// search box that narrows the list without unticking anything. The list is one tab stop (arrow
// keys inside), so a long catalogue does not stand between the keyboard and the filters.
import { el } from './dom.js';
import { RovingFocus } from './roving.js';

/** @typedef {{ name: string, aliases: string[], description: string | null, schema_url: string | null }} CatalogueStream */

export class StreamPicker {
  #list;
  #search;
  #summary;
  /** @type {CatalogueStream[]} */
  streams = [];
  #onChange;
  #roving;

  /**
   * @param {HTMLElement} list
   * @param {HTMLInputElement} search
   * @param {HTMLElement} summary says which are ticked, since the list scrolls
   * @param {() => void} onChange
   */
  constructor(list, search, summary, onChange) {
    this.#list = list;
    this.#search = search;
    this.#summary = summary;
    this.#onChange = onChange;
    this.#roving = new RovingFocus(list, 'input[type="checkbox"]');
    search.addEventListener('input', () => this.#narrow());
    list.addEventListener('change', () => {
      this.#summarize();
      this.#onChange();
    });
  }

  /** @param {CatalogueStream[]} streams @param {string[]} selected names or aliases */
  render(streams, selected) {
    this.streams = streams;
    const wanted = new Set(selected.map((s) => this.resolve(s) ?? s));
    this.#list.replaceChildren(
      ...streams.map((s, i) => {
        const id = `stream-${i}`;
        const aliases = s.aliases.length > 0 ? ` (${s.aliases.join(', ')})` : '';
        return el(
          'div',
          { class: 'stream', 'data-search': `${s.name} ${s.aliases.join(' ')} ${s.description ?? ''}`.toLowerCase() },
          el('input', { type: 'checkbox', id, value: s.name, checked: wanted.has(s.name), 'aria-describedby': `${id}-d`, tabindex: '-1' }),
          el('label', { for: id }, el('span', { class: 'name' }, s.name), aliases),
          el('p', { id: `${id}-d`, class: 'description' }, s.description ?? 'No description.'),
        );
      }),
    );
    this.#roving.refresh();
    this.#summarize();
  }

  /** The catalogue name of a name or alias. */
  resolve(/** @type {string} */ nameOrAlias) {
    return this.streams.find((s) => s.name === nameOrAlias || s.aliases.includes(nameOrAlias))?.name;
  }

  /** Ticked stream names, in catalogue order. */
  selected() {
    return [...this.#list.querySelectorAll('input:checked')].map((input) => /** @type {HTMLInputElement} */ (input).value);
  }

  #summarize() {
    const names = this.selected();
    this.#summary.textContent = names.length > 0 ? `Selected: ${names.join(', ')}` : 'None selected.';
  }

  #narrow() {
    const query = this.#search.value.trim().toLowerCase();
    for (const row of this.#list.querySelectorAll('.stream')) {
      const node = /** @type {HTMLElement} */ (row);
      node.hidden = query !== '' && !(node.dataset.search ?? '').includes(query);
    }
    // The first match is where Tab from the search box lands.
    const first = /** @type {HTMLElement | null} */ (this.#list.querySelector('.stream:not([hidden]) input'));
    if (first) this.#roving.moveTo(first);
  }
}
