// The fields a stream's events can have, read from its JSON schema: dotted paths with their types,
// for the filter and projection pickers.

/**
 * @typedef {{ path: string, types: string[], format?: string, description?: string, values?: string[] }} Field
 * values: what the schema allows (`enum`, `const`), as the filter syntax writes them
 */

// Added by the service to every event (docs/api.md: data), whatever the schema says.
/** @type {Field[]} */
const POSITION_FIELDS = [
  { path: 'meta.topic', types: ['string'], description: 'Kafka topic' },
  { path: 'meta.partition', types: ['integer'], description: 'Kafka partition' },
  { path: 'meta.offset', types: ['integer'], description: 'Kafka offset' },
];

const MAX_DEPTH = 6;

/**
 * Every property path of the schema, parents before children, sorted within a level.
 * @param {any} schema
 * @returns {Field[]}
 */
export function schemaFields(schema) {
  /** @type {Field[]} */
  const fields = [];
  walk(schema, '', 0, fields);
  return fields;
}

function walk(/** @type {any} */ node, /** @type {string} */ prefix, /** @type {number} */ depth, /** @type {Field[]} */ out) {
  const properties = node && typeof node === 'object' ? node.properties : undefined;
  if (!properties || typeof properties !== 'object' || depth > MAX_DEPTH) return;
  for (const name of Object.keys(properties).sort()) {
    const child = properties[name];
    const path = prefix + name;
    /** @type {Field} */
    const field = { path, types: typesOf(child) };
    if (typeof child?.format === 'string') field.format = child.format;
    if (typeof child?.description === 'string') field.description = child.description.trim();
    const values = allowedValues(child);
    if (values) field.values = values;
    out.push(field);
    walk(child, `${path}.`, depth + 1, out);
  }
}

/** `enum` or `const` of scalars, as text. @returns {string[] | undefined} */
function allowedValues(/** @type {any} */ node) {
  const list = Array.isArray(node?.enum) ? node.enum : node && 'const' in node ? [node.const] : undefined;
  if (!list) return undefined;
  const scalars = list.filter((/** @type {unknown} */ v) => v !== null && typeof v !== 'object').map(String);
  return scalars.length > 0 ? scalars : undefined;
}

/** `type` may be a string or a list (`["integer","null"]`); no `type` with properties is an object. */
function typesOf(/** @type {any} */ node) {
  const type = node?.type;
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t) => typeof t === 'string');
  return node?.properties ? ['object'] : [];
}

/**
 * The fields of several streams' schemas together, plus the Kafka position fields; a path in
 * several schemas gets the union of its types.
 * @param {any[]} schemas
 * @returns {Field[]}
 */
export function mergeFields(schemas) {
  /** @type {Map<string, Field>} */
  const byPath = new Map();
  for (const field of [...schemas.flatMap(schemaFields), ...POSITION_FIELDS]) {
    const known = byPath.get(field.path);
    if (!known) byPath.set(field.path, { ...field, types: [...field.types], ...(field.values ? { values: [...field.values] } : {}) });
    else {
      for (const t of field.types) if (!known.types.includes(t)) known.types.push(t);
      // Allowed values only bind when every schema with the field lists them.
      known.values = known.values && field.values ? [...new Set([...known.values, ...field.values])] : undefined;
      if (!known.values) delete known.values;
      known.description ??= field.description;
    }
  }
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/** `integer | null`, for labels. */
export function typeLabel(/** @type {Field} */ field) {
  const base = field.types.length > 0 ? field.types.join(' | ') : 'any';
  return field.format ? `${base}, ${field.format}` : base;
}
