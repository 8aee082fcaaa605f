import { COMMENT, CONTENT, PARTS, USER, type HiddenParts } from './hidden.ts';

export type Path = readonly string[];

/** A field an event schema declares: dotted path (`*` for map keys, arrays crossed) and JSON types. */
export interface DeclaredField {
  path: string;
  types: readonly string[];
}

/** Where events of one schema name a revision, and where they carry that revision's hideable parts. */
export interface ScopeSpec {
  /** The object holding the revision id (empty = the event itself); its visibility flags are read there. */
  at: Path;
  revId: Path;
  /** Candidates for the wiki of the revision id, nearest first. */
  wiki: readonly Path[];
  /** Fields holding each part (USER, COMMENT, CONTENT) of the revision. */
  fields: Readonly<Record<number, readonly Path[]>>;
}

/** What the schemas cannot tell, per schema title: from the schema descriptions and EventBus. */
interface TitleKnowledge {
  /** Fields beside the revision id that are not the revision's, for sure. */
  notTheRevisions?: readonly string[];
  /** Fields that also quote other parts of the revision. */
  quotes?: Readonly<Record<string, HiddenParts>>;
  /** Revision objects made along with another scope's revision, by the same user with the same comment. */
  madeAlongWith?: Readonly<Record<string, string>>;
}

/*
 * Everything else beside a revision id is taken to be its, even where it is in doubt (privacy over
 * completeness): page-delete's and page-undelete's performer deleted or restored the page and is
 * seldom the head revision's author; revision-tags-change's performer is whoever tagged it, or its
 * author when nobody did (EventBus); page-links-change's and page-properties-change's is the user
 * whose edit triggered the update. page-move's and page-restrictions-change's head revision is the
 * null revision the move or protection made, whose author is the performer and whose comment
 * quotes the reason.
 */
const KNOWLEDGE: Readonly<Record<string, TitleKnowledge>> = {
  // The performer is whoever changed the visibility (an admin), never the revision's author.
  'mediawiki/revision/visibility-change': { notTheRevisions: ['performer'] },
  // MediaWiki's default deletion reason quotes the content and names the only contributor.
  'mediawiki/page/delete': { quotes: { comment: USER | CONTENT, parsedcomment: USER | CONTENT } },
  // The redirect left behind is created by the mover, with the move's comment.
  'mediawiki/page/move': { madeAlongWith: { new_redirect_page: '' } },
};

/** Titles whose scopes need knowledge beyond the field names (built even without their schema). */
export const KNOWN_TITLES: readonly string[] = Object.keys(KNOWLEDGE);

const USER_FIELDS = new Set(['performer', 'editor', 'user']);
const WIKI_FIELDS = ['database', 'wiki_id', 'wiki'];
const BITS = PARTS.map((part) => part.bit);

/** Which part of a revision a field holds, by its name (a value, not a visibility flag). */
function partOf(field: DeclaredField): HiddenParts {
  if (!field.types.some((t) => t === 'string' || t === 'object')) return 0;
  const name = field.path.slice(field.path.lastIndexOf('.') + 1);
  if (USER_FIELDS.has(name)) return USER;
  if (name.endsWith('comment') || name === 'reason') return COMMENT;
  if (name.endsWith('sha1') || name === 'content_body') return CONTENT;
  return 0;
}

/**
 * The revision scopes of a schema's events: each integer `rev_id` property names a revision, whose
 * editor, comment and content are the part fields (`performer`/`editor`/`user`, `*comment`/`reason`,
 * `*sha1`/`content_body`) nearest to it: in its object or below, not inside another revision's. Part
 * fields with no revision above them go to the one in a sibling `revision` object (page_change's
 * form, where the event's performer and comment are its revision's). Ids of other revisions
 * (`rev_parent_id`, `origin_rev_id`, a prior state's `rev_id`) give no scope: none of their parts
 * are in the event.
 */
export function deriveScopes(title: string, declared: Iterable<DeclaredField>): ScopeSpec[] {
  const fields = [...declared];
  const types = new Map(fields.map((f) => [f.path, f.types]));
  const scopes = new Map<string, Record<number, string[]>>();
  for (const field of fields) {
    if (leaf(field.path) === 'rev_id' && field.types.includes('integer')) scopes.set(parent(field.path), { [USER]: [], [COMMENT]: [], [CONTENT]: [] });
  }
  const knowledge = KNOWLEDGE[title] ?? {};
  const claimed: string[] = [];
  for (const field of [...fields].sort((a, b) => depth(a.path) - depth(b.path))) {
    const part = partOf(field);
    if (part === 0 || claimed.some((c) => within(field.path, c)) || knowledge.notTheRevisions?.includes(field.path)) continue;
    const at = ownerOf(field.path, scopes);
    const owner = at === undefined ? undefined : scopes.get(at);
    if (owner === undefined) continue;
    claimed.push(field.path);
    const quoted = knowledge.quotes?.[field.path] ?? 0;
    for (const bit of BITS) if ((part | quoted) & bit) owner[bit]?.push(field.path);
  }
  for (const [made, along] of Object.entries(knowledge.madeAlongWith ?? {})) {
    const source = scopes.get(along);
    const target = scopes.get(made);
    if (source !== undefined && target !== undefined) for (const bit of BITS) target[bit]?.push(...(source[bit] ?? []));
  }
  const specs: ScopeSpec[] = [];
  for (const [at, parts] of scopes) {
    if (BITS.every((bit) => (parts[bit] ?? []).length === 0)) continue;
    const wiki = ancestors(at)
      .flatMap((object) => WIKI_FIELDS.map((name) => join(object, name)))
      .filter((path) => types.get(path)?.includes('string'));
    specs.push({
      at: split(at),
      revId: split(join(at, 'rev_id')),
      wiki: wiki.map(split),
      fields: Object.fromEntries(BITS.map((bit) => [bit, withoutCovered(parts[bit] ?? []).map(split)])),
    });
  }
  return specs;
}

/** The scope object a part field belongs to: the nearest one above it, else a sibling `revision`. */
function ownerOf(path: string, scopes: ReadonlyMap<string, unknown>): string | undefined {
  const above = ancestors(parent(path)).find((object) => scopes.has(object));
  if (above !== undefined) return above;
  const sibling = join(parent(path), 'revision');
  return scopes.has(sibling) ? sibling : undefined;
}

/** `a.b.c` → [`a.b.c`, `a.b`, `a`, ``]: the object and the ones enclosing it. */
function ancestors(object: string): string[] {
  const found = [object];
  for (let at = object; at !== ''; ) found.push((at = parent(at)));
  return found;
}

/** Drops concrete paths a `*` path also names (`rev_slots.main.x` beside `rev_slots.*.x`). */
function withoutCovered(paths: readonly string[]): string[] {
  const wild = paths.filter((p) => p.includes('*')).map(split);
  return [...new Set(paths)].filter((p) => p.includes('*') || !wild.some((w) => matches(w, split(p))));
}

function matches(pattern: Path, path: Path): boolean {
  return pattern.length === path.length && pattern.every((s, i) => s === '*' || s === path[i]);
}

const split = (path: string): Path => (path === '' ? [] : path.split('.'));
const join = (object: string, name: string): string => (object === '' ? name : `${object}.${name}`);
const parent = (path: string): string => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');
const leaf = (path: string): string => path.slice(path.lastIndexOf('.') + 1);
const depth = (path: string): number => path.split('.').length;
const within = (path: string, ancestor: string): boolean => path.startsWith(`${ancestor}.`);
