import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SchemaStore } from '../../src/catalogue/schemas.ts';
import { eventObject, prepareEvent } from '../../src/event/prepared-event.ts';
import { schemaFields, type FieldInfo } from '../../src/filter/schema-fields.ts';
import { Metrics } from '../../src/metrics/registry.ts';
import { deriveScopes, type DeclaredField } from '../../src/sanitize/derive-scopes.ts';
import { COMMENT, CONTENT, PARTS, USER, type HiddenParts } from '../../src/sanitize/hidden.ts';
import { loadShapes } from '../../src/sanitize/load-shapes.ts';
import { RedactedPages } from '../../src/sanitize/redacted-pages.ts';
import { removePath } from '../../src/sanitize/remove-path.ts';
import { sanitize } from '../../src/sanitize/sanitize.ts';
import { Sanitizer } from '../../src/sanitize/sanitizer.ts';
import { FALLBACK_SHAPE, schemaTitle, shapeOf } from '../../src/sanitize/shape-table.ts';
import { visibilityChange } from '../../src/sanitize/shapes.ts';
import { SuppressionIndex } from '../../src/sanitize/suppression-index.ts';
import { leaves } from '../support/leaves.ts';

type Event = Record<string, unknown>;
const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
const catalogue = JSON.parse(readFileSync(new URL('../../config/stream-config.json', import.meta.url), 'utf8')) as { streams: Record<string, { schema_title?: string }> };
const streams = Object.entries(catalogue.streams).map(([name, settings]) => (settings.schema_title === undefined ? { name } : { name, schemaTitle: settings.schema_title }));
const store = new SchemaStore([SCHEMAS]);
const SHAPES = await loadShapes(streams, store, () => undefined);
const examples: Event[] = readFileSync(new URL('../../data/demo/schema-examples.wmf-schemas.ndjson', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Event);

const WIKI = 'testwiki';
const REV = 4242;
const silent = pino({ level: 'silent' });
const hideAll = (wiki: string, revId: number): HiddenParts => (wiki === WIKI && revId === REV ? USER | COMMENT | CONTENT : 0);
const rules = (hidden: (wiki: string, revId: number) => HiddenParts) => ({ removeFields: [], hidden, redacted: () => false, shapes: SHAPES });
const leafOf = (path: string) => path.slice(path.lastIndexOf('.') + 1);

describe('every catalogue stream whose schema names a revision is covered (config/stream-config.json, config/schemas)', () => {
  /** Fields naming a revision, told apart independently of the derivation: by name or description. */
  const namesRevision = (info: FieldInfo, fields: ReadonlyMap<string, FieldInfo>) =>
    info.types.includes('integer') &&
    (leafOf(info.path).endsWith('rev_id') || /revision id/i.test(info.description ?? '') || /revision ids/i.test(fields.get(info.path.slice(0, info.path.lastIndexOf('.')))?.description ?? ''));
  /** Fields that hold an editor, a comment or content, by the names MediaWiki events use. */
  const isPart = (info: FieldInfo) =>
    info.types.some((t) => t === 'string' || t === 'object') && /^(performer|editor|user|.*comment|reason|.*sha1|content_body)$/.test(leafOf(info.path));
  /** Part fields the schema description says are not the revision's (the only exceptions allowed). */
  const NOT_THE_REVISIONS: Record<string, string[]> = { 'mediawiki/revision/visibility-change': ['performer'] };

  /** An event with every declared field set; all revision ids are REV on WIKI. */
  function fullEvent(uri: string, fields: ReadonlyMap<string, FieldInfo>): Event {
    const event: Event = { $schema: uri };
    const paths = [...fields.keys()];
    for (const [path, info] of fields) {
      if (path === '$schema' || paths.some((p) => p.startsWith(`${path}.`))) continue;
      const type = info.types.find((t) => t !== 'null');
      const value =
        path === 'page_change_kind' ? 'edit' // page_change's performer and comment are its revision's on edits
        : type === 'integer' ? (namesRevision(info, fields) && !/parent|origin/.test(path) ? REV : 7)
        : type === 'number' ? 1.5
        : type === 'boolean' ? true // visible
        : type === 'object' ? {}
        : /^(database|wiki_id|wiki)$/.test(path) ? WIKI
        : `value of ${path}`;
      const segments = path.split('.').map((s) => (s === '*' ? 'main' : s));
      let node = event;
      for (const segment of segments.slice(0, -1)) node = (node[segment] ??= {}) as Event;
      node[segments.at(-1) as string] = info.array ? [value] : value;
    }
    return event;
  }

  /** Schemas that name a revision but give the sanitizer nothing to go on, and why. */
  const NOT_COVERED: Record<string, string> = {
    'mediawiki/wikibase/entity/rdf_change': 'names a revision but no wiki, editor, comment or content field; its RDF data is not sanitized',
  };

  const covered: string[] = [];
  for (const { name, schemaTitle: title } of streams) {
    const notCovered = NOT_COVERED[title ?? ''];
    if (notCovered !== undefined) {
      it(`${name} (${title ?? ''}) is not covered: it ${notCovered}`, async () => {
        const found = await store.get({ schemaTitle: title ?? '' });
        const fields = found === undefined ? undefined : schemaFields(found.schema).fields;
        expect(fields, 'its schema is in config/schemas').toBeDefined();
        const declared = [...fields!.values()];
        expect(declared.some((info) => namesRevision(info, fields!)), 'it names a revision').toBe(true);
        expect(declared.filter(isPart).map((info) => info.path), 'it has no editor, comment or content field to hide').toEqual([]);
      });
      continue;
    }
    it(`${name} (${title ?? 'no schema'})`, async () => {
      const found = await store.get(title === undefined ? {} : { schemaTitle: title });
      const fields = found === undefined ? undefined : schemaFields(found.schema).fields;
      if (found === undefined || fields === undefined || ![...fields.values()].some((info) => namesRevision(info, fields))) return;
      covered.push(name);
      const event = fullEvent(found.uri, fields);
      expect(shapeOf(event, SHAPES), 'a shape of its own, not the structural fallback').not.toBe(FALLBACK_SHAPE);
      const before = structuredClone(event);
      expect(sanitize(event, rules(() => 0)).removals, 'nothing hidden, nothing removed').toEqual([]);

      const result = sanitize(event, rules(hideAll));
      expect(result.revisions.map((r) => [r.wiki, r.revId])).toContainEqual([WIKI, REV]);
      const excepted = NOT_THE_REVISIONS[title ?? ''] ?? [];
      const parts = [...fields.values()].filter((info) => isPart(info) && !excepted.includes(info.path)).map((info) => info.path.replaceAll('*', 'main'));
      const roots = parts.filter((path) => !parts.some((other) => path.startsWith(`${other}.`)));
      expect(roots.length, 'the schema has editor, comment or content fields').toBeGreaterThan(0);
      const kept = leaves(event);
      for (const root of roots) expect([...kept.keys()].filter((path) => path === root || path.startsWith(`${root}.`)), `${root} is removed`).toEqual([]);
      for (const [path, value] of leaves(before)) {
        if (!roots.some((root) => path === root || path.startsWith(`${root}.`))) expect(kept.get(path), `${path} is kept`).toEqual(value);
      }
    });
  }

  it('covers the streams the issue names, so the check above is not vacuous', () => {
    expect(covered).toEqual(
      expect.arrayContaining([
        'mediawiki.page-links-change',
        'mediawiki.page-properties-change',
        'mediawiki.page-move',
        'mediawiki.page-undelete',
        'mediawiki.revision-tags-change',
        'mediawiki.revision-score',
        'mediawiki.revision-create',
        'mediawiki.page_change.v1',
        'mediawiki.recentchange',
      ]),
    );
  });
});

describe('each event type, from its official example, with its revision hidden in the suppression index', () => {
  /** What goes, per hidden part: the schema's fields, as the derivation is documented to read them. */
  const EXPECTED: Record<string, Record<'user' | 'comment' | 'content', string[]>> = {
    'mediawiki/revision/create': { user: ['performer'], comment: ['comment', 'parsedcomment'], content: ['rev_sha1', 'rev_slots.*.rev_slot_sha1'] },
    // The performer is whoever changed the visibility.
    'mediawiki/revision/visibility-change': { user: [], comment: ['comment', 'parsedcomment'], content: ['rev_sha1'] },
    'mediawiki/revision/tags-change': { user: ['performer'], comment: ['comment', 'parsedcomment'], content: ['rev_sha1'] },
    'mediawiki/revision/score': { user: ['performer'], comment: [], content: [] },
    'mediawiki/page/links-change': { user: ['performer'], comment: [], content: [] },
    'mediawiki/page/properties-change': { user: ['performer'], comment: [], content: [] },
    'mediawiki/page/move': { user: ['performer'], comment: ['comment', 'parsedcomment'], content: [] },
    'mediawiki/page/undelete': { user: ['performer'], comment: ['comment', 'parsedcomment'], content: [] },
    'mediawiki/page/restrictions-change': { user: ['performer'], comment: ['reason'], content: [] },
    // The default deletion reason quotes the content and names the only contributor.
    'mediawiki/page/delete': { user: ['performer', 'comment', 'parsedcomment'], comment: ['comment', 'parsedcomment'], content: ['comment', 'parsedcomment'] },
  };

  /** The newest example of the schema, with the editor and comment fields its schema declares filled in. */
  async function exampleOf(title: string): Promise<Event> {
    const example = structuredClone(examples.filter((e) => schemaTitle(String(e.$schema)) === title).at(-1) as Event);
    const fields = schemaFields((await store.latest(title))?.schema ?? {}).fields;
    const filled: Event = { performer: { user_text: 'Hidden Editor', user_id: 77, user_groups: ['*'], user_is_bot: false }, comment: 'an edit summary', parsedcomment: 'an <i>edit</i> summary', reason: 'a reason' };
    for (const [key, value] of Object.entries(filled)) if (fields.has(key) && example[key] === undefined) example[key] = value;
    return example;
  }

  /** The event as a client is sent it by a Sanitizer whose index hides `hidden` of the event's revision. */
  function served(event: Event, hidden: HiddenParts): Event {
    const index = new SuppressionIndex(10);
    index.set(String(event.database), Number(event.rev_id), hidden);
    const sanitizer = new Sanitizer(index, new RedactedPages({}), () => undefined, new Metrics(), silent);
    sanitizer.shapes = SHAPES;
    const prepared = sanitizer.prepare(prepareEvent({ topic: 't', partition: 0, offset: 1, timestamp: 1, key: null, value: Buffer.from(JSON.stringify(event)) }, 1e7));
    const out = structuredClone(eventObject(prepared)) as Event;
    // The service adds the Kafka position to meta.
    for (const key of ['topic', 'partition', 'offset']) delete (out.meta as Event)[key];
    return out;
  }

  for (const [title, expected] of Object.entries(EXPECTED)) {
    it(title, async () => {
      const example = await exampleOf(title);
      for (const hidden of [0, ...PARTS.map((part) => part.bit)]) {
        // A visibility change is the latest word on its own revision: it says what is hidden.
        if (visibilityChange(example) !== undefined) example.visibility = { text: !(hidden & CONTENT), comment: !(hidden & COMMENT), user: !(hidden & USER) };
        const want = structuredClone(example);
        for (const part of PARTS) if (hidden & part.bit) for (const path of expected[part.name]) removePath(want, path.split('.'));
        expect(served(example, hidden), `hidden: ${hidden}`).toEqual(want);
      }
    });
  }
});

describe('deriving the scopes from a schema', () => {
  const declared = (...specs: [string, string][]): DeclaredField[] => specs.map(([path, type]) => ({ path, types: [type] }));
  const dotted = (title: string, fields: DeclaredField[]) =>
    deriveScopes(title, fields).map((spec) => {
      const of = (bit: number) => (spec.fields[bit] ?? []).map((p) => p.join('.'));
      return { at: spec.at.join('.'), wiki: spec.wiki.map((p) => p.join('.')), user: of(USER), comment: of(COMMENT), content: of(CONTENT) };
    });

  it('scopes each rev_id on its nearest part fields, never parent, origin or prior ids, nor visibility booleans', () => {
    const fields = declared(
      ['wiki', 'string'],
      ['rev_id', 'integer'],
      ['rev_parent_id', 'integer'],
      ['editor', 'object'],
      ['editor.user_text', 'string'],
      ['visibility.user', 'boolean'],
      ['visibility.comment', 'boolean'],
      ['summary_comment', 'string'],
      ['slots.*.origin_rev_id', 'integer'],
      ['slots.*.content_body', 'string'],
      ['prior_state.rev_id', 'integer'],
      ['prior_state.page_title', 'string'],
      ['undone.rev_id', 'integer'],
      ['undone.user', 'string'],
    );
    expect(dotted('example/new-schema', fields)).toEqual([
      { at: '', wiki: ['wiki'], user: ['editor'], comment: ['summary_comment'], content: ['slots.*.content_body'] },
      { at: 'undone', wiki: ['wiki'], user: ['undone.user'], comment: [], content: [] },
    ]);
  });

  it("gives an event's performer and comment to its `revision` when the event names no revision of its own", () => {
    const fields = declared(['wiki_id', 'string'], ['performer', 'object'], ['comment', 'string'], ['revision.rev_id', 'integer'], ['revision.rev_sha1', 'string'], ['revision.editor', 'object']);
    expect(dotted('example/page-like', fields)).toEqual([{ at: 'revision', wiki: ['wiki_id'], user: ['performer', 'revision.editor'], comment: ['comment'], content: ['revision.rev_sha1'] }]);
  });

  it('applies what the schemas cannot tell: who the performer is, what a reason quotes, what a move makes', () => {
    const flat = declared(['database', 'string'], ['rev_id', 'integer'], ['performer', 'object'], ['comment', 'string']);
    expect(dotted('mediawiki/revision/visibility-change', flat)).toEqual([{ at: '', wiki: ['database'], user: [], comment: ['comment'], content: [] }]);
    expect(dotted('mediawiki/page/delete', flat)).toEqual([{ at: '', wiki: ['database'], user: ['performer', 'comment'], comment: ['comment'], content: ['comment'] }]);
    const move = [...flat, ...declared(['new_redirect_page.rev_id', 'integer'], ['new_redirect_page.page_title', 'string'])];
    expect(dotted('mediawiki/page/move', move).map((s) => [s.at, s.user])).toEqual([
      ['', ['performer']],
      ['new_redirect_page', ['performer']],
    ]);
  });
});

describe('events of unknown schemas: the structural fallback', () => {
  it('scopes a top-level rev_id on database, and page_change-like revision.rev_id on wiki_id', () => {
    const flat: Event = { $schema: '/example/unknown/1.0.0', database: WIKI, rev_id: REV, performer: { user_text: 'x' }, comment: 'c', parsedcomment: 'p', rev_sha1: 's', page_title: 'T' };
    sanitize(flat, rules(hideAll));
    expect(flat).toEqual({ $schema: '/example/unknown/1.0.0', database: WIKI, rev_id: REV, page_title: 'T' });
    const nested: Event = { $schema: '/example/prediction/1.0.0', wiki_id: WIKI, performer: { user_text: 'x' }, revision: { rev_id: REV, editor: { user_text: 'x' }, rev_dt: 'd' }, predicted: true };
    sanitize(nested, rules((wiki, revId) => (wiki === WIKI && revId === REV ? USER : 0)));
    expect(nested).toEqual({ $schema: '/example/prediction/1.0.0', wiki_id: WIKI, revision: { rev_id: REV, rev_dt: 'd' }, predicted: true });
  });

  it('finds a known title behind a full schema URL', () => {
    const uri = 'https://schema.wikimedia.org/repositories/primary/jsonschema/mediawiki/page/links-change/1.0.0';
    expect(schemaTitle(uri)).toBe('https://schema.wikimedia.org/repositories/primary/jsonschema/mediawiki/page/links-change');
    expect(shapeOf({ $schema: uri }, SHAPES)).toBe(SHAPES.get('mediawiki/page/links-change'));
  });
});
