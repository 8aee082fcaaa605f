// One tab stop for a whole collection (the event rows, the stream checkboxes): arrow keys move the
// focus inside it, Tab leaves it. Only the item last focused has tabindex 0 (a roving tabindex), so
// a thousand rows cost one Tab, not a thousand.

const PAGE = 10;

export class RovingFocus {
  #container;
  #items;
  #rowOf;
  /** @type {HTMLElement | undefined} */
  #current;
  /** Whether the current item was chosen (focused); until then the first item is the tab stop. */
  #chosen = false;

  /**
   * @param {HTMLElement} container
   * @param {string} items selector of the focusable items, in document order
   * @param {string | undefined} row selector of an item's row: Up/Down go row to row keeping the
   *   column, Left/Right stay in the row. Without rows every arrow steps through the items.
   */
  constructor(container, items, row = undefined) {
    this.#container = container;
    this.#items = items;
    this.#rowOf = row;
    container.addEventListener('keydown', (e) => this.#key(e));
    container.addEventListener('focusin', (e) => {
      if (e.target instanceof HTMLElement && e.target.matches(items)) this.moveTo(e.target);
    });
  }

  /**
   * After items were added, removed or hidden: keeps exactly one reachable item at tabindex 0, the
   * chosen one while it is there, else the first (the newest event).
   */
  refresh() {
    const current = this.#current;
    if (this.#chosen && current && current.isConnected && visible(current)) return;
    this.#chosen = false;
    const first = this.#container.querySelector(this.#items);
    const start = first instanceof HTMLElement && visible(first) ? first : this.#visibleItems()[0];
    if (start) this.#take(start);
  }

  /** Makes `item` the tab stop, and focuses it when asked. */
  moveTo(/** @type {HTMLElement} */ item, focus = false) {
    this.#take(item);
    this.#chosen = true;
    if (focus) item.focus();
  }

  #take(/** @type {HTMLElement} */ item) {
    if (this.#current === item) return;
    this.#current?.setAttribute('tabindex', '-1');
    item.setAttribute('tabindex', '0');
    this.#current = item;
  }

  #visibleItems() {
    return /** @type {HTMLElement[]} */ ([...this.#container.querySelectorAll(this.#items)]).filter(visible);
  }

  #key(/** @type {KeyboardEvent} */ e) {
    if (!(e.target instanceof HTMLElement) || !e.target.matches(this.#items) || e.altKey || e.ctrlKey || e.metaKey) return;
    const next = this.#rowOf ? this.#inGrid(e.target, e.key) : this.#inList(e.target, e.key);
    if (next === undefined) return;
    e.preventDefault();
    if (next) this.moveTo(next, true);
  }

  /** @returns {HTMLElement | null | undefined} undefined: not a navigation key */
  #inList(/** @type {HTMLElement} */ from, /** @type {string} */ key) {
    const items = this.#visibleItems();
    const at = items.indexOf(from);
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: PAGE, PageUp: -PAGE }[key];
    if (key === 'Home') return items[0] ?? null;
    if (key === 'End') return items.at(-1) ?? null;
    if (step === undefined) return undefined;
    return items[Math.max(0, Math.min(items.length - 1, at + step))] ?? null;
  }

  /** @returns {HTMLElement | null | undefined} */
  #inGrid(/** @type {HTMLElement} */ from, /** @type {string} */ key) {
    const rowSelector = /** @type {string} */ (this.#rowOf);
    const row = from.closest(rowSelector);
    if (!row) return undefined;
    const cells = (/** @type {Element} */ r) => /** @type {HTMLElement[]} */ ([...r.querySelectorAll(this.#items)]).filter(visible);
    const column = cells(row).indexOf(from);
    if (key === 'ArrowRight' || key === 'ArrowLeft') {
      const inRow = cells(row);
      return inRow[Math.max(0, Math.min(inRow.length - 1, column + (key === 'ArrowRight' ? 1 : -1)))] ?? null;
    }
    const rows = [...this.#container.querySelectorAll(rowSelector)].filter((r) => cells(r).length > 0);
    const at = rows.indexOf(row);
    const step = { ArrowDown: 1, ArrowUp: -1, PageDown: PAGE, PageUp: -PAGE, Home: -Infinity, End: Infinity }[key];
    if (step === undefined) return undefined;
    const target = rows[Math.max(0, Math.min(rows.length - 1, at + step))];
    if (!target) return null;
    const targetCells = cells(target);
    return targetCells[Math.min(column, targetCells.length - 1)] ?? null;
  }
}

function visible(/** @type {HTMLElement} */ node) {
  return node.closest('[hidden]') === null;
}
