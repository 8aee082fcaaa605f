/** The JSON types a field may have, as JSON schema names them. */
export type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'null' | 'object' | 'array';

/** A filterable field of a stream's events, as its JSON schema declares it. */
export interface FieldInfo {
  path: string;
  /** Types of its values; for an array, of its elements (filters test each element). */
  types: JsonType[];
  array: boolean;
  format?: string;
  description?: string;
}

export interface SchemaFields {
  /** Every declared path, parents included. */
  fields: ReadonlyMap<string, FieldInfo>;
  /** Paths whose contents the schema leaves open (free-form objects): any sub-path is accepted. */
  open: readonly string[];
}

/** The Kafka position the service adds to `meta`, filterable on every stream. */
const POSITION_FIELDS: readonly FieldInfo[] = [
  { path: 'meta.topic', types: ['string'], array: false, description: 'Kafka topic (added by this service)' },
  { path: 'meta.partition', types: ['integer'], array: false, description: 'Kafka partition (added by this service)' },
  { path: 'meta.offset', types: ['integer'], array: false, description: 'Kafka offset (added by this service)' },
];
const MAX_DEPTH = 16;
const JSON_TYPES: ReadonlySet<string> = new Set(['string', 'integer', 'number', 'boolean', 'null', 'object', 'array']);

const computed = new WeakMap<object, SchemaFields>();

/** The fields of an event schema (computed once per schema object). */
export function schemaFields(schema: Record<string, unknown>): SchemaFields {
  let result = computed.get(schema);
  if (result === undefined) {
    const fields = new Map<string, FieldInfo>();
    const open: string[] = ['meta.key'];
    walk(schema, '', 0, fields, open);
    for (const field of POSITION_FIELDS) fields.set(field.path, field);
    result = { fields, open };
    computed.set(schema, result);
  }
  return result;
}

/** Whether `path` names something in the schema: a declared field or anything inside an open one. */
export function lookupField(schema: SchemaFields, path: string): FieldInfo | 'open' | undefined {
  const declared = schema.fields.get(path) ?? mapEntry(schema, path);
  if (declared !== undefined) return declared;
  return openMatch(schema, path) ? 'open' : undefined;
}

/** A path through map keys, e.g. `revision.content_slots.main.content_model` for `….content_slots.*.content_model`. */
function mapEntry(schema: SchemaFields, path: string): FieldInfo | undefined {
  const segments = path.split('.');
  for (const [pattern, field] of schema.fields) {
    if (pattern.includes('*') && segmentsMatch(pattern.split('.'), segments, false)) return field;
  }
  return undefined;
}

function openMatch(schema: SchemaFields, path: string): boolean {
  const segments = path.split('.');
  return schema.open.some((prefix) => segmentsMatch(prefix.split('.'), segments, true));
}

/** `*` stands for any one segment; `deeper` accepts paths that go on below the pattern. */
function segmentsMatch(pattern: readonly string[], segments: readonly string[], deeper: boolean): boolean {
  if (deeper ? segments.length <= pattern.length : segments.length !== pattern.length) return false;
  return pattern.every((p, i) => p === '*' || p === segments[i]);
}

function walk(node: Record<string, unknown>, path: string, depth: number, fields: Map<string, FieldInfo>, open: string[]): void {
  if (depth > MAX_DEPTH) return;
  for (const variant of variants(node)) {
    const properties = variant.properties;
    if (isObject(properties)) {
      for (const [name, child] of Object.entries(properties)) {
        if (!isObject(child)) continue;
        const childPath = path === '' ? name : `${path}.${name}`;
        record(child, childPath, fields);
        walk(elementSchema(child), childPath, depth + 1, fields, open);
      }
    }
    const additional = variant.additionalProperties;
    if (path === '') continue;
    if (isObject(additional) && Object.keys(additional).length > 0) {
      // A map (e.g. revision slots by role): any key, then the fields of its values, as `path.*.field`.
      const entries = `${path}.*`;
      record(additional, entries, fields);
      walk(elementSchema(additional), entries, depth + 1, fields, open);
    } else if (additional === true || isObject(additional) || (typesOf(variant).includes('object') && !isObject(properties) && additional !== false)) {
      // A free-form object: declared open, or an object with nothing declared inside.
      if (!open.includes(path)) open.push(path);
    }
  }
}

function record(node: Record<string, unknown>, path: string, fields: Map<string, FieldInfo>): void {
  const own = typesOf(node);
  const array = own.includes('array');
  const element = array ? typesOf(elementSchema(node)) : [];
  const types = [...new Set([...own.filter((t) => t !== 'array'), ...element])];
  const previous = fields.get(path);
  const info: FieldInfo = { path, types: previous ? [...new Set([...previous.types, ...types])] : types, array: array || (previous?.array ?? false) };
  const format = typeof node.format === 'string' ? node.format : previous?.format;
  if (format !== undefined) info.format = format;
  const description = typeof node.description === 'string' ? node.description : previous?.description;
  if (description !== undefined) info.description = description;
  fields.set(path, info);
}

/** The schema of an array's elements, or the node itself. */
function elementSchema(node: Record<string, unknown>): Record<string, unknown> {
  const items = node.items;
  return typesOf(node).includes('array') && isObject(items) ? items : node;
}

function variants(node: Record<string, unknown>): Record<string, unknown>[] {
  const found = [node];
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const list = node[key];
    if (Array.isArray(list)) for (const item of list) if (isObject(item)) found.push(item);
  }
  return found;
}

function typesOf(node: Record<string, unknown>): JsonType[] {
  const type = node.type;
  const list = Array.isArray(type) ? type : type === undefined ? [] : [type];
  const types = list.filter((t): t is JsonType => typeof t === 'string' && JSON_TYPES.has(t));
  if (types.length === 0 && isObject(node.properties)) return ['object'];
  return types;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
