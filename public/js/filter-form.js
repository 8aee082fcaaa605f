// Filter clauses and field projection, edited with pickers built from the selected streams'
// schemas: each field with its type, and only the operators that make sense for that type.
import { el } from './dom.js';
import { OP_LABELS, opsForTypes } from './filters.js';
import { typeLabel } from './schema-fields.js';

/** @typedef {import('./filters.js').Clause} Clause */
/** @typedef {import('./filters.js').Op} Op */
/** @typedef {import('./schema-fields.js').Field} Field */

export class FilterForm {
  #clauseList;
  #fieldList;
  #fieldSearch;
  #count;
  #onChange;
  /** @type {Field[]} */
  #fields = [];
  #nextId = 0;

  /**
   * @param {{ clauses: HTMLElement, fieldList: HTMLElement, fieldSearch: HTMLInputElement, count: HTMLElement }} nodes
   * @param {() => void} onChange
   */
  constructor(nodes, onChange) {
    this.#clauseList = nodes.clauses;
    this.#fieldList = nodes.fieldList;
    this.#fieldSearch = nodes.fieldSearch;
    this.#count = nodes.count;
    this.#onChange = onChange;
    this.#clauseList.addEventListener('input', (e) => this.#edited(e));
    this.#clauseList.addEventListener('change', (e) => this.#edited(e));
    this.#fieldList.addEventListener('change', () => this.#changed());
    this.#fieldSearch.addEventListener('input', () => this.#narrowFields());
  }

  /** New schema fields: pickers are rebuilt, keeping what was chosen. */
  setFields(/** @type {Field[]} */ fields) {
    const clauses = this.clauses();
    const projection = this.projection();
    this.#fields = fields;
    this.load(clauses, projection);
  }

  /** Restores a saved view. */
  load(/** @type {Clause[]} */ clauses, /** @type {string[]} */ projection) {
    this.#clauseList.replaceChildren();
    for (const clause of clauses) this.addClause(clause);
    this.#renderProjection(projection);
  }

  /** Adds a clause row (a blank one by default) and returns its field picker for focus. */
  addClause(/** @type {Clause} */ clause = { path: '', op: '=', value: '' }) {
    const n = this.#nextId++;
    const fieldSelect = el('select', { id: `clause-field-${n}`, class: 'clause-field' }, el('option', { value: '' }, 'Choose a field'));
    const paths = this.#fields.map((f) => f.path);
    for (const field of this.#fields) fieldSelect.append(el('option', { value: field.path }, `${field.path} (${typeLabel(field)})`));
    // A restored field the schemas do not list still shows, so the view is what the URL says.
    if (clause.path !== '' && !paths.includes(clause.path)) fieldSelect.append(el('option', { value: clause.path }, `${clause.path} (not in the schema)`));
    fieldSelect.value = clause.path;
    const opSelect = el('select', { id: `clause-op-${n}`, class: 'clause-op' });
    const value = el('input', { id: `clause-value-${n}`, class: 'clause-value', type: 'text', autocomplete: 'off', 'aria-describedby': 'filter-hint' });
    value.value = clause.value;
    const remove = el('button', { type: 'button', class: 'remove' }, 'Remove');
    const row = el(
      'li',
      { class: 'clause' },
      el('label', { for: fieldSelect.id, class: 'visually-hidden', 'data-part': 'field' }),
      fieldSelect,
      el('label', { for: opSelect.id, class: 'visually-hidden', 'data-part': 'condition' }),
      opSelect,
      el('label', { for: value.id, class: 'visually-hidden', 'data-part': 'value' }),
      value,
      remove,
    );
    remove.addEventListener('click', () => {
      row.remove();
      this.#renumber();
      this.#changed();
    });
    this.#clauseList.append(row);
    this.#renumber();
    this.#fitOps(row, clause.op);
    return fieldSelect;
  }

  /** Labels say the clause's place in the list ("Filter 2 value"), also after a removal. */
  #renumber() {
    [...this.#clauseList.children].forEach((row, i) => {
      for (const label of row.querySelectorAll('label[data-part]')) label.textContent = `Filter ${i + 1} ${/** @type {HTMLElement} */ (label).dataset.part}`;
      row.querySelector('button.remove')?.setAttribute('aria-label', `Remove filter ${i + 1}`);
    });
  }

  /** @returns {Clause[]} */
  clauses() {
    return [...this.#clauseList.querySelectorAll('li.clause')].map((row) => ({
      path: /** @type {HTMLSelectElement} */ (row.querySelector('.clause-field')).value,
      op: /** @type {Op} */ (/** @type {HTMLSelectElement} */ (row.querySelector('.clause-op')).value),
      value: /** @type {HTMLInputElement} */ (row.querySelector('.clause-value')).value,
    }));
  }

  /** Ticked projection paths. */
  projection() {
    return [...this.#fieldList.querySelectorAll('input:checked')].map((input) => /** @type {HTMLInputElement} */ (input).value);
  }

  #edited(/** @type {Event} */ e) {
    const target = e.target;
    if (target instanceof HTMLSelectElement && target.classList.contains('clause-field')) {
      const row = target.closest('li');
      if (row) this.#fitOps(row, /** @type {Op} */ (/** @type {HTMLSelectElement} */ (row.querySelector('.clause-op')).value));
    }
    this.#changed();
  }

  /** Offers the operators of the row's field type and a matching value input. */
  #fitOps(/** @type {Element} */ row, /** @type {Op} */ wanted) {
    const path = /** @type {HTMLSelectElement} */ (row.querySelector('.clause-field')).value;
    const field = this.#fields.find((f) => f.path === path);
    const ops = opsForTypes(field?.types ?? [], field?.format);
    const opSelect = /** @type {HTMLSelectElement} */ (row.querySelector('.clause-op'));
    opSelect.replaceChildren(...ops.map((op) => el('option', { value: op }, OP_LABELS[op])));
    opSelect.value = ops.includes(wanted) ? wanted : (ops[0] ?? '=');
    const value = /** @type {HTMLInputElement} */ (row.querySelector('.clause-value'));
    const types = field?.types ?? [];
    const numeric = types.includes('integer') || types.includes('number');
    value.inputMode = numeric ? 'numeric' : 'text';
    value.placeholder = types.includes('boolean') ? 'true or false' : numeric ? 'e.g. 0 or 0,1' : field?.format === 'date-time' ? 'e.g. 2026-01-01T00:00:00Z' : 'e.g. enwiki or Talk:*';
    value.hidden = opSelect.value === 'exists' || opSelect.value === 'absent';
  }

  #renderProjection(/** @type {string[]} */ chosen) {
    const paths = new Set([...this.#fields.map((f) => f.path), ...chosen]);
    this.#fieldList.replaceChildren(
      ...[...paths].sort().map((path, i) => {
        const field = this.#fields.find((f) => f.path === path);
        const id = `proj-${i}`;
        return el(
          'div',
          { class: 'field', 'data-search': path.toLowerCase() },
          el('input', { type: 'checkbox', id, value: path, checked: chosen.includes(path) }),
          el('label', { for: id }, path, el('span', { class: 'type' }, ` ${field ? typeLabel(field) : 'not in the schema'}`)),
        );
      }),
    );
    this.#narrowFields();
    this.#count.textContent = chosen.length > 0 ? `(${chosen.length} chosen)` : '(all)';
  }

  #narrowFields() {
    const query = this.#fieldSearch.value.trim().toLowerCase();
    for (const row of this.#fieldList.querySelectorAll('.field')) {
      const node = /** @type {HTMLElement} */ (row);
      node.hidden = query !== '' && !(node.dataset.search ?? '').includes(query);
    }
  }

  #changed() {
    const n = this.projection().length;
    this.#count.textContent = n > 0 ? `(${n} chosen)` : '(all)';
    this.#onChange();
  }
}
