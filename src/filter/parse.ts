/**
 * The filter and projection syntax of `/v2/stream/{streams}?…`, parsed from the raw query string.
 *
 *   wiki=enwiki,dewiki      equals any of the values        bot!=true         equals none of them
 *   length.new>=10000       also <=, > and <                 title=Talk:*      `*` matches any text
 *   comment                 present (and not null)           !comment          absent (or null)
 *   fields=meta.dt,title    only these fields are sent (the Kafka position in `meta` always is)
 *
 * Keys and values are percent-decoded first (`+` is a space), so any client's URL encoding works;
 * inside a value `\,` `\*` and `\\` stand for a literal comma, star and backslash. Clauses AND.
 */

export type Operator = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'present' | 'absent';

/** One value as written: literal text, or a glob (the literal pieces between its `*`s). */
export interface ValueText {
  text: string;
  glob?: readonly string[];
}

export interface Clause {
  /** Dotted field path as written, e.g. `length.new`. */
  path: string;
  segments: readonly string[];
  op: Operator;
  values: readonly ValueText[];
}

export interface FilterQuery {
  clauses: readonly Clause[];
  /** Projected field paths, when `fields` is given. */
  fields?: readonly (readonly string[])[];
}

export type ParseResult = { ok: true; query: FilterQuery } | { ok: false; error: string };

/** Query parameters that are not filters. */
export const RESERVED_PARAMS: ReadonlySet<string> = new Set(['since', 'fields']);

export const FILTER_LIMITS = {
  clauses: 32,
  valuesPerClause: 1000,
  totalValues: 4000,
  valueLength: 1024,
  pathLength: 256,
  pathDepth: 16,
  fields: 100,
  starsPerValue: 8,
} as const;

const SEGMENT = /^[A-Za-z0-9_$@-]+$/;
const COMPARISONS: Record<string, Operator> = { '!': 'ne', '>': 'ge', '<': 'le' };

class SyntaxProblem extends Error {}

/** Parses the part of a URL after `?` (without the `?`); never throws. */
export function parseFilterQuery(rawQuery: string): ParseResult {
  try {
    return { ok: true, query: parsePieces(rawQuery) };
  } catch (error) {
    if (error instanceof SyntaxProblem) return { ok: false, error: error.message };
    throw error;
  }
}

function parsePieces(rawQuery: string): FilterQuery {
  const clauses: Clause[] = [];
  let fields: (readonly string[])[] | undefined;
  let totalValues = 0;
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const clause = parsePiece(piece);
    if (clause === undefined) continue;
    if (clause === 'fields') {
      if (fields !== undefined) throw new SyntaxProblem('`fields` may be given only once');
      fields = parseFields(piece.slice(piece.indexOf('=') + 1));
      continue;
    }
    clauses.push(clause);
    totalValues += clause.values.length;
    if (clauses.length > FILTER_LIMITS.clauses) throw new SyntaxProblem(`At most ${FILTER_LIMITS.clauses} filter clauses per request`);
    if (totalValues > FILTER_LIMITS.totalValues) throw new SyntaxProblem(`At most ${FILTER_LIMITS.totalValues} filter values per request`);
  }
  return fields === undefined ? { clauses } : { clauses, fields };
}

/** A clause, `'fields'` for the projection, or undefined for another reserved parameter. */
function parsePiece(piece: string): Clause | 'fields' | undefined {
  const eq = piece.indexOf('=');
  if (eq < 0) return bareClause(decode(piece));
  const key = decode(piece.slice(0, eq));
  if (RESERVED_PARAMS.has(key)) return key === 'fields' ? 'fields' : undefined;
  const last = key.slice(-1);
  const compound = COMPARISONS[last];
  if (compound !== undefined) return clause(key.slice(0, -1), compound, decode(piece.slice(eq + 1)));
  // `a<b=c` is the clause a < "b=c" (the `=` belongs to the value).
  const strict = /[<>]/.exec(key);
  if (strict !== null) return clause(key.slice(0, strict.index), key[strict.index] === '<' ? 'lt' : 'gt', `${key.slice(strict.index + 1)}=${decode(piece.slice(eq + 1))}`);
  return clause(key, 'eq', decode(piece.slice(eq + 1)));
}

/**
 * A piece without a raw `=`: `namespace<100`, `length.old>5`, `comment`, `!comment`, or a whole
 * clause percent-encoded by a client (`length.old%3E%3D5`).
 */
function bareClause(text: string): Clause | undefined {
  if (RESERVED_PARAMS.has(text)) return undefined;
  const operator = /!=|>=|<=|[<>=]/.exec(text.startsWith('!') ? ` ${text.slice(1)}` : text);
  if (operator === null) return text.startsWith('!') ? clause(text.slice(1), 'absent', undefined) : clause(text, 'present', undefined);
  const ops: Record<string, Operator> = { '!=': 'ne', '>=': 'ge', '<=': 'le', '<': 'lt', '>': 'gt', '=': 'eq' };
  return clause(text.slice(0, operator.index), ops[operator[0]] as Operator, text.slice(operator.index + operator[0].length));
}

function clause(path: string, op: Operator, rawValues: string | undefined): Clause {
  const segments = parsePath(path);
  if (rawValues === undefined) return { path, segments, op, values: [] };
  if (rawValues === '') {
    throw new SyntaxProblem(`No value given for \`${path}\`; to test whether the field is there, write \`${path}\` (present) or \`!${path}\` (absent)`);
  }
  const values = splitValues(rawValues).map((raw) => valueText(raw, path));
  if (values.length > FILTER_LIMITS.valuesPerClause) throw new SyntaxProblem(`At most ${FILTER_LIMITS.valuesPerClause} values for \`${path}\``);
  if (op !== 'eq' && op !== 'ne' && values.length > 1) throw new SyntaxProblem(`\`${path}\` ${symbol(op)} takes one value, not a list`);
  if (op !== 'eq' && op !== 'ne' && values[0]?.glob !== undefined) throw new SyntaxProblem(`\`*\` patterns work only with = and !=, not with ${symbol(op)}`);
  return { path, segments, op, values };
}

export function symbol(op: Operator): string {
  return { eq: '=', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', present: '(present)', absent: '(absent)' }[op];
}

export function parsePath(path: string): string[] {
  if (path === '') throw new SyntaxProblem('A filter needs a field name before its operator');
  if (path.length > FILTER_LIMITS.pathLength) throw new SyntaxProblem(`Field paths are at most ${FILTER_LIMITS.pathLength} characters`);
  const segments = path.split('.');
  if (segments.length > FILTER_LIMITS.pathDepth) throw new SyntaxProblem(`Field paths are at most ${FILTER_LIMITS.pathDepth} levels deep`);
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) {
      throw new SyntaxProblem(`\`${clip(path)}\` is not a field path: use dotted names of letters, digits, \`_\`, \`-\`, \`$\` or \`@\` (e.g. \`meta.domain\`)`);
    }
  }
  return segments;
}

function parseFields(rawValue: string): (readonly string[])[] {
  const text = decode(rawValue);
  if (text === '') throw new SyntaxProblem('`fields` needs at least one field path, e.g. `fields=meta.dt,title`');
  const paths = text.split(',').map((p) => p.trim());
  if (paths.length > FILTER_LIMITS.fields) throw new SyntaxProblem(`At most ${FILTER_LIMITS.fields} paths in \`fields\``);
  return paths.map(parsePath);
}

/** Splits at commas that are not escaped; escapes are kept for `valueText`. */
function splitValues(text: string): string[] {
  const values: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === ',') {
      values.push(text.slice(start, i));
      start = i + 1;
    }
  }
  values.push(text.slice(start));
  return values;
}

function valueText(raw: string, path: string): ValueText {
  if (raw === '') throw new SyntaxProblem(`Empty value in the list for \`${path}\` (write \`\\,\` for a literal comma)`);
  if (raw.length > FILTER_LIMITS.valueLength) throw new SyntaxProblem(`Values are at most ${FILTER_LIMITS.valueLength} characters (\`${path}\`)`);
  const pieces: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === '\\') {
      const next = raw[i + 1];
      if (next !== ',' && next !== '*' && next !== '\\') {
        throw new SyntaxProblem(`\`\\\` in a value escapes only \`,\`, \`*\` or \`\\\` (\`${path}\`)`);
      }
      current += next;
      i++;
    } else if (c === '*') {
      pieces.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (pieces.length === 0) return { text: current };
  pieces.push(current);
  if (pieces.length - 1 > FILTER_LIMITS.starsPerValue) throw new SyntaxProblem(`At most ${FILTER_LIMITS.starsPerValue} \`*\` per value (\`${path}\`)`);
  return { text: raw, glob: pieces };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    throw new SyntaxProblem(`Malformed percent-encoding in \`${clip(text)}\``);
  }
}

/** A value shortened for an error message. */
export function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
