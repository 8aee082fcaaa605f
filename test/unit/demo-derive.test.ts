import { beforeAll, describe, expect, it } from 'vitest';
import type { StreamConfig } from '../../src/catalogue/types.ts';
import { DERIVED_STREAMS, deriveFromRecentchange, deriveFromRecordedPageChange, type DerivedEvent } from '../../src/demo/derive/derive.ts';
import { freshen, groupByStream, isJsonObject, PAGE_CHANGE_STREAM, readDemoSources, RECENTCHANGE_STREAM, type JsonObject } from '../../src/demo/events.ts';
import { shippedCatalogue, type ShippedCatalogue } from '../support/demo-schemas.ts';

const sources = readDemoSources();
const NOW = new Date('2030-01-02T03:04:05.678Z');

/** A source event as the replay sends it (second pass: shifted ids, fresh times) with what derives from it. */
interface Bundle {
  source: DerivedEvent;
  derived: DerivedEvent[];
}

const fromRecentchange: Bundle[] = sources.recentchange.map((rc) => {
  const event = freshen(rc, NOW, 1);
  return { source: { stream: RECENTCHANGE_STREAM, event }, derived: deriveFromRecentchange(event) };
});
const fromPageChange: Bundle[] = sources.pageChange.map((pc) => {
  const event = freshen(pc, NOW, 1);
  return { source: { stream: PAGE_CHANGE_STREAM, event }, derived: deriveFromRecordedPageChange(event) };
});
const bundles = [...fromRecentchange, ...fromPageChange];

function obj(value: unknown): JsonObject {
  return isJsonObject(value as JsonObject) ? (value as JsonObject) : {};
}

/**
 * What a consumer joins events on — wiki, page title, revision, user, time, request — read from
 * each schema family's own fields; undefined where a schema does not say.
 */
interface Identity {
  wiki?: string;
  title?: string;
  revId?: number;
  user?: string;
  timeS?: number;
  requestId?: string;
  metaDt?: string;
}

const dbKey = (t: unknown): string | undefined => (typeof t === 'string' ? t.replace(/ /g, '_') : undefined);
const seconds = (iso: unknown): number | undefined => (typeof iso === 'string' ? Math.floor(Date.parse(iso) / 1000) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function identity(stream: string, e: JsonObject): Identity {
  const meta = obj(e['meta']);
  const requestId = str(meta['request_id']);
  const metaDt = str(meta['dt']);
  if (stream === RECENTCHANGE_STREAM) {
    return { wiki: str(e['wiki']), title: dbKey(e['title']), revId: num(obj(e['revision'])['new']), user: str(e['user']), timeS: num(e['timestamp']), requestId, metaDt };
  }
  if ('wiki_id' in e) {
    // mediawiki/page/change and the prediction streams that repeat it.
    const performer = obj(e['performer']);
    return { wiki: str(e['wiki_id']), title: str(obj(e['page'])['page_title']), revId: num(obj(e['revision'])['rev_id']), user: str(performer['user_text']), timeS: seconds(e['dt']), requestId, metaDt };
  }
  if ('entity_id' in e) return { revId: num(e['rev_id']), timeS: seconds(e['dt']), requestId, metaDt };
  // The older mediawiki/revision/* and mediawiki/page/* schemas.
  // Their rev_timestamp is the revision's time, which is the event's only for revision-create.
  return { wiki: str(e['database']), title: str(e['page_title']), revId: num(e['rev_id']), user: str(obj(e['performer'])['user_text']), timeS: seconds(e['dt']), requestId, metaDt };
}

function streamsOf(bundle: Bundle): string[] {
  return bundle.derived.map((d) => d.stream);
}

describe('demo events derived from the recordings', () => {
  let catalogue: ShippedCatalogue;
  beforeAll(async () => {
    catalogue = await shippedCatalogue();
  });

  it('every event of every stream validates against its stream schema and the schema it names', async () => {
    const byName = new Map<string, StreamConfig>(catalogue.streams.map((s) => [s.name, s]));
    const examples = groupByStream(sources, catalogue.streams);
    const all: DerivedEvent[] = [
      ...bundles.flatMap((b) => [b.source, ...b.derived]),
      ...[...examples].filter(([name]) => name !== RECENTCHANGE_STREAM && name !== PAGE_CHANGE_STREAM).flatMap(([stream, events]) => events.map((event) => ({ stream, event: freshen(event, NOW, 1) }))),
    ];
    const errors: string[] = [];
    const counts = new Map<string, number>();
    for (const { stream, event } of all) {
      const config = byName.get(stream);
      expect(config, stream).toBeDefined();
      if (!config) continue;
      counts.set(stream, (counts.get(stream) ?? 0) + 1);
      expect(obj(event['meta'])['stream']).toBe(stream);
      errors.push(...(await catalogue.errors(config, event)));
    }
    expect([...new Set(errors)]).toEqual([]);
    // Every stream gets events, except the one whose schema is nowhere to be had (docs/demo.md).
    const withoutSchema = await catalogue.withoutSchema();
    expect(withoutSchema).toEqual(['mediawiki.page_html_feature_counts_change.v1']);
    const silent = catalogue.streams.map((s) => s.name).filter((name) => !counts.has(name));
    expect(silent).toEqual(withoutSchema);
  });

  it('the derivations write only to streams of the shipped catalogue', () => {
    const names = new Set(catalogue.streams.map((s) => s.name));
    expect(DERIVED_STREAMS.filter((s) => !names.has(s))).toEqual([]);
  });

  it('related events agree on wiki, page, revision, user, time and request', () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const { source, derived } of bundles) {
      const want = identity(source.stream, source.event);
      const kind = source.event['page_change_kind'] ?? source.event['log_type'];
      for (const d of derived) {
        const got = identity(d.stream, d.event);
        for (const key of Object.keys(got) as (keyof Identity)[]) {
          if (got[key] === undefined || want[key] === undefined) continue;
          // A move's events name the new title; its recentchange log entry the old one. Properties
          // change on the Wikipedia page a Wikidata sitelink names, not on the item.
          if (key === 'title' && (kind === 'move' || d.stream === 'mediawiki.page-properties-change')) continue;
          if ((key === 'wiki' || key === 'revId' || key === 'user') && d.stream === 'mediawiki.page-properties-change') continue;
          // A deletion's events are about the deleted revision, which the log entry does not name.
          if (key === 'revId' && (kind === 'delete' || kind === 'move')) continue;
          compared++;
          if (got[key] !== want[key]) mismatches.push(`${d.stream} ${key}: ${String(got[key])} != ${String(want[key])} (from ${source.stream} ${String(want.title)})`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(3_000);
  });

  it('an edit is in recentchange, revision-create and page_change with the same revision', () => {
    const edits = fromRecentchange.filter((b) => b.source.event['type'] === 'edit');
    expect(edits.length).toBeGreaterThan(100);
    for (const b of edits) {
      expect(streamsOf(b)).toEqual(expect.arrayContaining([PAGE_CHANGE_STREAM, 'mediawiki.revision-create']));
      expect(streamsOf(b)).not.toContain('mediawiki.page-create');
      const rev = num(obj(b.source.event['revision'])['new']);
      const pc = b.derived.find((d) => d.stream === PAGE_CHANGE_STREAM)?.event ?? {};
      expect(obj(pc['revision'])['rev_parent_id']).toBe(obj(b.source.event['revision'])['old']);
      expect(b.derived.find((d) => d.stream === 'mediawiki.revision-create')?.event['rev_id']).toBe(rev);
    }
  });

  it('a new page (type new, or an upload) is also a page-create, the same event as its revision-create', () => {
    const edit = sources.recentchange.find((e) => e['type'] === 'edit') ?? {};
    const created = { ...edit, type: 'new', revision: { new: num(obj(edit['revision'])['new']) ?? 0 } };
    const derived = deriveFromRecentchange(created);
    const pageCreate = derived.find((d) => d.stream === 'mediawiki.page-create')?.event;
    const revisionCreate = derived.find((d) => d.stream === 'mediawiki.revision-create')?.event;
    expect(pageCreate?.['rev_id']).toBe(obj(edit['revision'])['new']);
    expect(pageCreate).not.toHaveProperty('rev_parent_id');
    expect({ ...pageCreate, meta: {} }).toEqual({ ...revisionCreate, meta: {} });
    const uploads = fromRecentchange.filter((b) => b.source.event['log_type'] === 'upload');
    expect(uploads.length).toBeGreaterThan(0);
    for (const b of uploads) expect(streamsOf(b)).toEqual(expect.arrayContaining(['mediawiki.page-create', 'mediawiki.revision-create', PAGE_CHANGE_STREAM]));
  });

  it('log entries yield the matching page events', () => {
    const logs = (action: string): Bundle[] => fromRecentchange.filter((b) => `${String(b.source.event['log_type'])}/${String(b.source.event['log_action'])}` === action);
    for (const b of logs('delete/delete')) expect(streamsOf(b)).toEqual([PAGE_CHANGE_STREAM, 'mediawiki.page-delete']);
    const moves = logs('move/move');
    expect(moves.length).toBeGreaterThan(0);
    for (const b of moves) {
      const move = b.derived.find((d) => d.stream === 'mediawiki.page-move')?.event ?? {};
      expect(move['page_title']).toBe(dbKey(obj(b.source.event['log_params'])['target']));
      expect(obj(move['prior_state'])['page_title']).toBe(dbKey(b.source.event['title']));
    }
    // Blocks, thanks, patrols, categorization: nothing but recentchange.
    for (const b of [...logs('block/reblock'), ...logs('thanks/thank'), ...fromRecentchange.filter((x) => x.source.event['type'] === 'categorize')]) {
      expect(streamsOf(b)).toEqual([]);
    }
  });

  it('the recorded page_change stories get their recentchange, undelete and visibility change; a suppression stays private', () => {
    const of = (kind: string): Bundle[] => fromPageChange.filter((b) => b.source.event['page_change_kind'] === kind);
    for (const b of of('undelete')) expect(streamsOf(b)).toEqual(expect.arrayContaining([RECENTCHANGE_STREAM, 'mediawiki.page-undelete']));
    const [visibility] = of('visibility_change');
    const change = visibility?.derived.find((d) => d.stream === 'mediawiki.revision-visibility-change')?.event ?? {};
    expect(change['visibility']).toEqual({ text: true, user: true, comment: false });
    const suppressed = of('delete').filter((b) => b.source.event['performer'] === undefined);
    expect(suppressed).toHaveLength(1);
    expect(streamsOf(suppressed[0] ?? { source: { stream: '', event: {} }, derived: [] })).not.toContain('mediawiki.page-delete');
    expect(streamsOf(suppressed[0] ?? { source: { stream: '', event: {} }, derived: [] })).not.toContain(RECENTCHANGE_STREAM);
  });

  it('Wikidata and Commons structured-data edits yield RDF mutations about the same entity and revision', () => {
    const wikidata = fromRecentchange.filter((b) => b.source.event['wiki'] === 'wikidatawiki' && b.source.event['type'] === 'edit' && b.source.event['namespace'] === 0);
    expect(wikidata.length).toBeGreaterThan(10);
    for (const b of wikidata) {
      const rdf = b.derived.filter((d) => d.stream.startsWith('rdf-streaming-updater.'));
      expect(rdf.map((d) => d.stream).sort()).toEqual(expect.arrayContaining(['rdf-streaming-updater.mutation.v2']));
      expect(rdf).toHaveLength(2);
      for (const d of rdf) {
        expect(d.event['entity_id']).toBe(b.source.event['title']);
        expect(d.event['operation']).toBe('diff');
      }
    }
    const mediainfo = fromRecentchange.flatMap((b) => b.derived.filter((d) => d.stream === 'mediainfo-streaming-updater.mutation.v2').map((d) => ({ d, b })));
    expect(mediainfo.length).toBeGreaterThan(0);
    for (const { d, b } of mediainfo) {
      const pc = b.derived.find((x) => x.stream === PAGE_CHANGE_STREAM)?.event ?? {};
      expect(d.event['entity_id']).toBe(`M${String(obj(pc['page'])['page_id'])}`);
      expect(b.source.event['wiki']).toBe('commonswiki');
    }
  });

  it('is deterministic: the same source derives the same events', () => {
    const rc = freshen(sources.recentchange[0] ?? {}, NOW, 2);
    expect(deriveFromRecentchange(rc)).toEqual(deriveFromRecentchange(structuredClone(rc)));
    const ids = bundles.flatMap((b) => b.derived.map((d) => obj(d.event['meta'])['id']));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
