/**
 * JSON Schema (draft-07, the streams' event schemas) as OpenAPI 3.0 Schema Objects, so the document
 * validates as 3.0 like EventStreams' own (service-runner's spec checks and 3.0 tooling read it).
 * 3.0's schema dialect is a subset with a few differences, mapped here without changing what a
 * value must be wherever 3.0 can say it:
 * - `type: [T, 'null']` → `type: T, nullable: true`; several types → `anyOf` of each;
 * - `const: v` → `enum: [v]`; `examples: [v, …]` → `example: v`;
 * - numeric `exclusiveMinimum`/`exclusiveMaximum` → `minimum`/`maximum` with the boolean form;
 * - `$id`, `$schema`, `$comment`, `definitions`, `$defs` dropped: `$id`s of embedded fragments would
 *   collide as base URIs, and the schemas are materialized (no `$ref` points into `definitions`);
 * - keywords 3.0 lacks (`patternProperties`, `if`, `contains`, tuple `items`, …) kept as `x-<keyword>`
 *   extensions, which documents them and leaves validators of the document alone.
 * Hand-written rather than a converter package: those resolve `$ref`s (reading files and URLs) and
 * bring a command line; this is one synchronous walk over trusted, materialized schemas.
 */

type Schema = Record<string, unknown>;

/** Keywords whose value is one subschema, or a list of them, in both dialects. */
const SUBSCHEMA = new Set(['items', 'additionalProperties', 'not']);
const SUBSCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf']);
/** Keywords that 3.0 has with the same meaning, and that hold no subschema. */
const SAME = new Set([
  'title', 'description', 'default', 'enum', 'format', 'pattern', 'multipleOf', 'minimum', 'maximum',
  'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties',
  'required', 'readOnly', 'writeOnly', '$ref',
]);
const DROPPED = new Set(['$id', '$schema', '$comment', 'definitions', '$defs']);

export function toOpenApi30Schema(schema: unknown): unknown {
  // 3.0 has no boolean schemas (but for `additionalProperties`).
  if (typeof schema === 'boolean') return schema ? {} : { not: {} };
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    if (DROPPED.has(key) || key === 'type') continue;
    if (key === 'const') out['enum'] = [value];
    else if (key === 'examples') {
      if (Array.isArray(value) && value.length > 0) out['example'] = value[0];
    } else if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number') {
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[key] = true;
    } else if (key === 'properties' && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toOpenApi30Schema(sub)]));
    } else if (key === 'additionalProperties' && typeof value === 'boolean') out[key] = value;
    else if (SUBSCHEMA.has(key) && !Array.isArray(value)) out[key] = toOpenApi30Schema(value);
    else if (SUBSCHEMA_LISTS.has(key) && Array.isArray(value)) out[key] = value.map(toOpenApi30Schema);
    else if (SAME.has(key) || key.startsWith('x-')) out[key] = value;
    else out[`x-${key}`] = value;
  }
  if ('type' in schema) {
    const { anyOf, ...rest } = typeOf((schema as Schema)['type']);
    Object.assign(out, rest);
    // Several types and an `anyOf` of the schema's own: both must hold.
    if (anyOf !== undefined) {
      if (out['anyOf'] === undefined) out['anyOf'] = anyOf;
      else out['allOf'] = [...((out['allOf'] as unknown[] | undefined) ?? []), { anyOf }];
    }
  }
  return out;
}

/** A draft-07 `type` in 3.0 terms. */
function typeOf(type: unknown): Schema {
  if (!Array.isArray(type)) return type === 'null' ? { nullable: true, enum: [null] } : { type };
  const nullable = type.includes('null');
  const types = type.filter((t) => t !== 'null');
  const nullability = nullable ? { nullable: true } : {};
  if (types.length === 0) return { nullable: true, enum: [null] };
  if (types.length === 1) return { type: types[0], ...nullability };
  return { anyOf: types.map((t) => ({ type: t })), ...nullability };
}
