// An event as a collapsible tree: objects and arrays are <details> that open and close, values are
// text (strings keep their JSON quotes and escapes, so what is shown is exactly what was sent).
import { el } from './dom.js';

/**
 * @param {unknown} value the parsed event
 * @param {number} openDepth levels open at first; deeper ones start closed
 * @returns {HTMLUListElement}
 */
export function jsonTree(value, openDepth = 2) {
  return children(value, 0, openDepth);
}

/** @returns {HTMLUListElement} */
function children(/** @type {unknown} */ value, /** @type {number} */ depth, /** @type {number} */ openDepth) {
  const entries = Array.isArray(value) ? value.map((v, i) => /** @type {[string, unknown]} */ ([String(i), v])) : Object.entries(/** @type {object} */ (value));
  return el('ul', { class: depth === 0 ? 'tree-root' : '' }, ...entries.map(([key, v]) => item(key, v, depth, openDepth)));
}

/** @returns {HTMLLIElement} */
function item(/** @type {string} */ key, /** @type {unknown} */ value, /** @type {number} */ depth, /** @type {number} */ openDepth) {
  const name = el('span', { class: 'key' }, key);
  if (value !== null && typeof value === 'object') {
    const size = Array.isArray(value) ? `[${value.length}]` : `{${Object.keys(value).length}}`;
    return el(
      'li',
      {},
      el('details', { open: depth < openDepth }, el('summary', {}, name, el('span', { class: 'size' }, ` ${size}`)), children(value, depth + 1, openDepth)),
    );
  }
  const kind = value === null ? 'null' : typeof value;
  return el('li', {}, name, ': ', el('span', { class: `v-${kind}` }, JSON.stringify(value)));
}
