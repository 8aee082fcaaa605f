// Filter clauses and field projection, edited with pickers built from the selected streams'
// schemas: each field with its type, description and allowed values, only the operators that make
// sense for that type, and one-click presets for the filters people use most.
import { el } from './dom.js';
import { OP_LABELS, opsForTypes } from './filters.js';
import { typeLabel } from './schema-fields.js';

/** @typedef {import('./filters.js').Clause} Clause */
/** @typedef {import('./filters.js').Op} Op */
/** @typedef {import('./schema-fields.js').Field} Field */
/** @typedef {{ label: string, name: string, paths: string[], value: string }} Preset */

/** Common filters; each applies to the first of its paths the selected streams' schemas have. */
/** @type {Preset[]} */
const PRESETS = [
  { label: 'enwiki only', name: 'wiki', paths: ['wiki', 'wiki_id', 'database'], value: 'enwiki' },
  { label: 'No bots', name: 'bot', paths: ['bot', 'performer.user_is_bot'], value: 'false' },
  { label: 'Edits only', name: 'type', paths: ['type', 'page_change_kind'], value: 'edit' },
  { label: 'Articles only', name: 'namespace', paths: ['namespace', 'page.namespace_id', 'page_namespace'], value: '0' },
];

/** Description and allowed values of a field, as one sentence for hints. */
export function fieldHelp(/** @type {Field | undefined} */ field) {
  if (!field) return '';
  const parts = [];
  if (field.description) parts.push(field.description);
  if (field.values) parts.push(`Allowed values: ${field.values.join(', ')}.`);
  else if (field.types.includes('boolean')) parts.push('Allowed values: true, false.');
  return parts.join(' ');
}

export class FilterForm {
  #clauseList;
  #fieldList;
  #fieldSearch;
  #count;
  #presets;
  #onChange;
  /** @type {Field[]} */
  #fields = [];
  #nextId = 0;

  /**
   * @param {{ clauses: HTMLElement, fieldList: HTMLElement, fieldSearch: HTMLInputElement, count: HTMLElement, presets: HTMLElement }} nodes
   * @param {() => void} onChange
   */
  constructor(nodes, onChange) {
    this.#clauseList = nodes.clauses;
    this.#fieldList = nodes.fieldList;
    this.#fieldSearch = nodes.fieldSearch;
    this.#count = nodes.count;
    this.#presets = nodes.presets;
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
    this.#renderPresets();
  }

  #renderPresets() {
    const paths = new Set(this.#fields.map((f) => f.path));
    const usable = PRESETS.flatMap((preset) => {
      const path = preset.paths.find((p) => paths.has(p));
      return path === undefined ? [] : [{ ...preset, path }];
    });
    this.#presets.hidden = usable.length === 0;
    this.#presets.replaceChildren(
      ...usable.map((preset) => {
        const button = el('button', { type: 'button', class: 'preset', title: `${preset.path} = ${preset.value}` }, preset.label);
        button.addEventListener('click', () => this.#applyPreset(preset.path, preset.value));
        return button;
      }),
    );
  }

  /** Sets the clause on `path` to `= value` (adding one if needed) and focuses its value to edit. */
  #applyPreset(/** @type {string} */ path, /** @type {string} */ value) {
    const rows = [...this.#clauseList.querySelectorAll('li.clause')];
    const row = rows.find((r) => /** @type {HTMLSelectElement} */ (r.querySelector('.clause-field')).value === path);
    if (row) {
      /** @type {HTMLSelectElement} */ (row.querySelector('.clause-op')).value = '=';
      const input = /** @type {HTMLInputElement} */ (row.querySelector('.clause-value'));
      input.value = value;
      this.#fitOps(row, '=');
      input.focus();
    } else {
      this.addClause({ path, op: '=', value });
      /** @type {HTMLInputElement} */ (this.#clauseList.lastElementChild?.querySelector('.clause-value')).focus();
    }
    this.#changed();
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
    for (const field of this.#fields) fieldSelect.append(el('option', { value: field.path, title: fieldHelp(field) }, `${field.path} (${typeLabel(field)})`));
    // A restored field the schemas do not list still shows, so the view is what the URL says.
    if (clause.path !== '' && !paths.includes(clause.path)) fieldSelect.append(el('option', { value: clause.path }, `${clause.path} (not in the schema)`));
    fieldSelect.value = clause.path;
    const opSelect = el('select', { id: `clause-op-${n}`, class: 'clause-op' });
    const help = el('p', { id: `clause-help-${n}`, class: 'hint clause-help' });
    const choices = el('datalist', { id: `clause-values-${n}` });
    const value = el('input', {
      id: `clause-value-${n}`,
      class: 'clause-value',
      type: 'text',
      autocomplete: 'off',
      list: choices.id,
      'aria-describedby': `${help.id} filter-hint`,
    });
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
      choices,
      remove,
      help,
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
    const allowed = field?.values ?? (types.includes('boolean') ? ['true', 'false'] : []);
    /** @type {HTMLElement} */ (row.querySelector('datalist')).replaceChildren(...allowed.map((v) => el('option', { value: v })));
    /** @type {HTMLElement} */ (row.querySelector('.clause-help')).textContent = fieldHelp(field);
  }

  #renderProjection(/** @type {string[]} */ chosen) {
    const paths = new Set([...this.#fields.map((f) => f.path), ...chosen]);
    this.#fieldList.replaceChildren(
      ...[...paths].sort().map((path, i) => {
        const field = this.#fields.find((f) => f.path === path);
        const id = `proj-${i}`;
        const help = fieldHelp(field);
        return el(
          'div',
          { class: 'field', 'data-search': `${path} ${help}`.toLowerCase() },
          el('input', { type: 'checkbox', id, value: path, checked: chosen.includes(path), ...(help ? { 'aria-describedby': `${id}-d` } : {}) }),
          el('label', { for: id }, path, el('span', { class: 'type' }, ` ${field ? typeLabel(field) : 'not in the schema'}`)),
          help ? el('p', { id: `${id}-d`, class: 'description' }, help) : null,
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
