// Filter clauses of /v2/stream/{streams}: the model the form edits, and its query-string form.
// The operator belongs to the key side (`bot!=true`, `length.new>=10`, `namespace<100`,
// `!comment`), so keys and values are percent-encoded separately.

/** @typedef {'=' | '!=' | '>' | '>=' | '<' | '<=' | 'exists' | 'absent'} Op */
/** @typedef {{ path: string, op: Op, value: string }} Clause  value: server value syntax (`a,b`, `Talk:*`, `\,`) */

/** @type {Op[]} */
const OPS = ['=', '!=', '>', '>=', '<', '<=', 'exists', 'absent'];

/** @type {Record<Op, string>} */
export const OP_LABELS = {
  '=': 'is any of',
  '!=': 'is none of',
  '>': '>',
  '>=': '≥',
  '<': '<',
  '<=': '≤',
  exists: 'is present',
  absent: 'is absent',
};

/** Operators that make sense for a field of these JSON schema types (date-time strings compare too). */
export function opsForTypes(/** @type {string[]} */ types, /** @type {string | undefined} */ format) {
  const scalar = types.some((t) => t === 'string' || t === 'integer' || t === 'number' || t === 'boolean');
  const ordered = types.includes('integer') || types.includes('number') || format === 'date-time';
  return OPS.filter((op) => {
    if (op === 'exists' || op === 'absent') return true;
    if (op === '=' || op === '!=') return scalar || types.length === 0;
    return ordered;
  });
}

/** Splits a server value on its unescaped commas (`a\,b,c` is two values). */
export function splitValues(/** @type {string} */ value) {
  /** @type {string[]} */
  const parts = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[i + 1];
      i++;
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/** The query-string piece of one clause, e.g. `wiki=enwiki,dewiki` or `namespace%3C100`. */
export function encodeClause(/** @type {Clause} */ clause) {
  const { path, op, value } = clause;
  switch (op) {
    case 'exists':
      return encodeURIComponent(path);
    case 'absent':
      return encodeURIComponent(`!${path}`);
    case '>':
    case '<':
      // Strict comparisons have no `=`: the whole clause is the key.
      return encodeURIComponent(`${path}${op}${value}`);
    default: {
      const key = op === '=' ? path : path + op.slice(0, -1);
      return `${encodeURIComponent(key)}=${splitValues(value).map(encodeURIComponent).join(',')}`;
    }
  }
}

const FIELD = /^[A-Za-z0-9_$][A-Za-z0-9_$.-]*$/;

/**
 * Reads one decoded query parameter back into a clause (the inverse of encodeClause).
 * @param {string} key decoded key
 * @param {string | undefined} value decoded value; undefined when the parameter had no `=`
 * @returns {Clause | undefined}
 */
export function parseClause(key, value) {
  if (value === undefined) {
    if (key.startsWith('!')) return FIELD.test(key.slice(1)) ? { path: key.slice(1), op: 'absent', value: '' } : undefined;
    const strict = /^([^<>]+)([<>])(.*)$/.exec(key);
    if (strict) return FIELD.test(strict[1] ?? '') ? { path: strict[1] ?? '', op: /** @type {Op} */ (strict[2]), value: strict[3] ?? '' } : undefined;
    return FIELD.test(key) ? { path: key, op: 'exists', value: '' } : undefined;
  }
  const suffix = key.at(-1);
  if (suffix === '!' || suffix === '>' || suffix === '<') {
    const path = key.slice(0, -1);
    return FIELD.test(path) ? { path, op: /** @type {Op} */ (`${suffix}=`), value } : undefined;
  }
  return FIELD.test(key) ? { path: key, op: '=', value } : undefined;
}

/** A clause the form can send: a field, and a value when the operator needs one. */
export function isComplete(/** @type {Clause} */ clause) {
  if (clause.path === '') return false;
  return clause.op === 'exists' || clause.op === 'absent' || clause.value !== '';
}
