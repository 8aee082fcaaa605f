import { clip, symbol, type Clause, type FilterQuery, type Operator, type ValueText } from './parse.ts';
import { lookupField, type FieldInfo, type JsonType, type SchemaFields } from './schema-fields.ts';

/** A value typed for the field it is compared with: each form it may match in an event. */
export interface Literal {
  text?: string;
  glob?: readonly string[];
  num?: number;
  bool?: boolean;
  null?: true;
  /** Epoch ms, for comparisons with date-time strings. */
  time?: number;
}

export interface TypedClause {
  path: string;
  segments: readonly string[];
  op: Operator;
  literals: readonly Literal[];
}

/** What the requested streams say about their events' fields. */
export interface FieldScope {
  /** Fields of each requested stream that has a schema. */
  schemas: readonly SchemaFields[];
  /** Some requested stream has no schema: any path is accepted for it, typed by its values. */
  schemaless: boolean;
}

export interface FilterProblem {
  message: string;
  field?: string;
  /** The fields one can filter on, with their types, when the problem is about a field. */
  validFields?: { path: string; type: string }[];
}

export type CheckResult =
  | { ok: true; clauses: TypedClause[]; fields?: readonly (readonly string[])[] }
  | { ok: false; problem: FilterProblem };

class CheckProblem extends Error {
  readonly field: string;
  readonly listFields: boolean;
  constructor(message: string, field: string, listFields = false) {
    super(message);
    this.field = field;
    this.listFields = listFields;
  }
}

const INTEGER = /^-?\d{1,16}$/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const ORDERED: ReadonlySet<Operator> = new Set(['lt', 'le', 'gt', 'ge']);

/**
 * Checks a parsed query against the schemas of the requested streams and types its values: a
 * field no requested stream has, a value of the wrong type or an operator that makes no sense for
 * the field is refused, naming the field (and listing the valid ones when the field is unknown).
 */
export function checkQuery(query: FilterQuery, scope: FieldScope): CheckResult {
  try {
    const clauses = query.clauses.map((clause) => typeClause(clause, fieldTypes(clause.path, scope)));
    for (const path of query.fields ?? []) fieldTypes(path.join('.'), scope);
    return query.fields === undefined ? { ok: true, clauses } : { ok: true, clauses, fields: query.fields };
  } catch (error) {
    if (!(error instanceof CheckProblem)) throw error;
    const problem: FilterProblem = { message: error.message, field: error.field };
    if (error.listFields) problem.validFields = validFields(scope);
    return { ok: false, problem };
  }
}

/** The declared types of a path across the requested streams; undefined = unknown, judge by value. */
function fieldTypes(path: string, scope: FieldScope): { types: JsonType[] | undefined; format?: string } {
  const found: FieldInfo[] = [];
  let open = scope.schemaless;
  for (const schema of scope.schemas) {
    const field = lookupField(schema, path);
    if (field === 'open') open = true;
    else if (field !== undefined) found.push(field);
  }
  if (open || found.some((f) => f.types.length === 0)) return { types: undefined };
  if (found.length === 0) throw new CheckProblem(`Unknown field \`${path}\`: none of the requested streams' schemas has it`, path, true);
  const format = found.find((f) => f.format !== undefined)?.format;
  const types = [...new Set(found.flatMap((f) => f.types))];
  return format === undefined ? { types } : { types, format };
}

function typeClause(clause: Clause, field: { types: JsonType[] | undefined; format?: string }): TypedClause {
  const { path, segments, op } = clause;
  const { types } = field;
  if (op === 'present' || op === 'absent') return { path, segments, op, literals: [] };
  if (types !== undefined && types.every((t) => t === 'object')) {
    throw new CheckProblem(`\`${path}\` is an object: filter on one of its fields (e.g. \`${path}.…\`), or test it with \`${path}\` / \`!${path}\``, path, true);
  }
  const literals = clause.values.map((value) =>
    ORDERED.has(op) ? orderedLiteral(path, op, value, types, field.format) : equalityLiteral(path, value, types),
  );
  return { path, segments, op, literals };
}

function equalityLiteral(path: string, value: ValueText, types: JsonType[] | undefined): Literal {
  const allows = (t: JsonType): boolean => types === undefined || types.includes(t);
  if (value.glob !== undefined) {
    if (!allows('string')) throw new CheckProblem(`\`*\` patterns match text, but \`${path}\` is ${describe(types)}`, path);
    return { glob: value.glob };
  }
  const { text } = value;
  const literal: Literal = {};
  if (allows('string')) literal.text = text;
  if ((allows('integer') && INTEGER.test(text)) || (allows('number') && NUMBER.test(text))) literal.num = Number(text);
  if (allows('boolean') && (text === 'true' || text === 'false')) literal.bool = text === 'true';
  if (allows('null') && text === 'null') literal.null = true;
  if (Object.keys(literal).length === 0) throw new CheckProblem(`\`${path}\` is ${describe(types)}: \`${clip(text)}\` is not`, path);
  return literal;
}

function orderedLiteral(path: string, op: Operator, value: ValueText, types: JsonType[] | undefined, format: string | undefined): Literal {
  const { text } = value;
  const numeric = types === undefined || types.includes('integer') || types.includes('number');
  const dated = types === undefined || (types.includes('string') && format === 'date-time');
  if (!numeric && !dated) {
    throw new CheckProblem(`\`${path}\` is ${describe(types)}: ${symbol(op)} compares numbers and date-times only`, path);
  }
  if (numeric && NUMBER.test(text)) return { num: Number(text) };
  const time = DATE.test(text) ? Date.parse(text) : NaN;
  if (dated && !Number.isNaN(time)) return { time };
  const wanted = numeric && dated ? 'a number or an ISO-8601 date-time' : numeric ? 'a number' : 'an ISO-8601 date-time';
  throw new CheckProblem(`\`${path}\` ${symbol(op)} needs ${wanted}, not \`${clip(text)}\``, path);
}

function describe(types: JsonType[] | undefined): string {
  if (types === undefined || types.length === 0) return 'untyped';
  const names = types.map((t) => (t === 'integer' ? 'an integer' : t === 'null' ? 'null' : t === 'array' ? 'a list' : `a ${t}`));
  return names.join(' or ');
}

function validFields(scope: FieldScope): { path: string; type: string }[] {
  const byPath = new Map<string, Set<string>>();
  for (const schema of scope.schemas) {
    for (const field of schema.fields.values()) {
      const types = byPath.get(field.path) ?? new Set<string>();
      for (const t of field.types) types.add(field.array ? `${t}[]` : t);
      byPath.set(field.path, types);
    }
  }
  return [...byPath].sort(([a], [b]) => a.localeCompare(b)).map(([path, types]) => ({ path, type: [...types].join('|') || 'any' }));
}
