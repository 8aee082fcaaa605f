import { schemaFields } from '../filter/schema-fields.ts';
import { KNOWN_TITLES, deriveScopes, type DeclaredField } from './derive-scopes.ts';
import { PAGE_CHANGE, RECENTCHANGE, derivedShape, type EventShape } from './shapes.ts';

/** Event shapes by schema title (`mediawiki/page/links-change`), built once, read per event. */
export type ShapeTable = ReadonlyMap<string, EventShape>;

/** A schema document and the title its events' `$schema` names (without the version). */
export interface TitledSchema {
  title: string;
  schema: Record<string, unknown>;
}

/** Where the schema alone cannot tell (page_change's kinds, recentchange's `revision.new`). */
const HAND_WRITTEN: ReadonlyMap<string, EventShape> = new Map([
  ['mediawiki/recentchange', RECENTCHANGE],
  ['mediawiki/page/change', PAGE_CHANGE],
]);

const field = (path: string, type: string): DeclaredField => ({ path, types: [type] });
const WIKIS = [field('database', 'string'), field('wiki_id', 'string'), field('wiki', 'string')];
/** What an unknown event with a top-level `rev_id` is taken to carry (EventBus' revision entity form). */
const FLAT_FIELDS = [
  ...WIKIS,
  field('rev_id', 'integer'),
  field('performer', 'object'),
  field('comment', 'string'),
  field('parsedcomment', 'string'),
  field('rev_sha1', 'string'),
  field('rev_slots.*.rev_slot_sha1', 'string'),
];
/** ... and one with `revision.rev_id` (page_change's form: its performer and comment go with it). */
const NESTED_FIELDS = [
  ...WIKIS,
  field('revision.rev_id', 'integer'),
  field('revision.editor', 'object'),
  field('revision.comment', 'string'),
  field('revision.rev_sha1', 'string'),
  field('revision.content_slots.*.content_body', 'string'),
  field('revision.content_slots.*.content_sha1', 'string'),
  field('performer', 'object'),
  field('comment', 'string'),
];

/** For events whose schema is unknown: the structure each event has decides. */
function fallbackShape(title: string): EventShape {
  const flat = derivedShape(title, deriveScopes(title, FLAT_FIELDS));
  const nested = derivedShape(title, deriveScopes(title, NESTED_FIELDS));
  return { name: `${title} (structural)`, revisions: (event) => (event.rev_id !== undefined ? flat : nested).revisions(event), redaction: flat.redaction };
}

export const FALLBACK_SHAPE: EventShape = fallbackShape('unknown');

/**
 * The shapes of the given schemas' events, derived from their fields, besides the hand-written
 * ones; titles with known rules get them even when their schema is missing. Schema versions only
 * ever add optional fields (an Event Platform rule), so the latest version covers older events.
 */
export function shapeTable(schemas: Iterable<TitledSchema>): ShapeTable {
  const table = new Map<string, EventShape>(KNOWN_TITLES.map((title) => [title, fallbackShape(title)]));
  for (const { title, schema } of schemas) table.set(title, derivedShape(title, deriveScopes(title, schemaFields(schema).fields.values())));
  for (const [title, shape] of HAND_WRITTEN) table.set(title, shape);
  return table;
}

/** With no schemas at all: the hand-written shapes and the structural fallback. */
export const BUILTIN_SHAPES: ShapeTable = shapeTable([]);

/** `/mediawiki/page/move/1.0.0` (or a full URL, or a file name) → `mediawiki/page/move`. */
export function schemaTitle(uri: string): string {
  return uri.replace(/\/\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\.json|\.ya?ml)?$/, '').replace(/^\/+/, '');
}

// Per table, `$schema` → shape: the events of a stream carry a handful of distinct `$schema`s.
const resolved = new WeakMap<ShapeTable, Map<string, EventShape>>();
const MAX_RESOLVED = 1000;

/** The shape of an event, from its `$schema`: by title, also when the URI has a base before it. */
export function shapeOf(event: Record<string, unknown>, table: ShapeTable): EventShape {
  const uri = typeof event.$schema === 'string' ? event.$schema : '';
  let cache = resolved.get(table);
  if (cache === undefined) resolved.set(table, (cache = new Map()));
  let shape = cache.get(uri);
  if (shape === undefined) {
    const title = schemaTitle(uri);
    shape = table.get(title) ?? [...table].find(([known]) => title.endsWith(`/${known}`))?.[1] ?? FALLBACK_SHAPE;
    if (cache.size >= MAX_RESOLVED) cache.clear();
    cache.set(uri, shape);
  }
  return shape;
}
