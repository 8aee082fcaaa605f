import { describe, expect, it } from 'vitest';
import type { StreamConfig } from '../../src/catalogue/types.ts';
import {
  ID_STEP,
  PAGE_CHANGE_STREAM,
  RECENTCHANGE_STREAM,
  canaryEvent,
  freshen,
  groupByStream,
  isJsonObject,
  messageKey,
  readDemoSources,
  schemaExampleFor,
  type JsonObject,
} from '../../src/demo/events.ts';
import { DEFAULT_RATES, pickTopic, streamRate } from '../../src/demo/replay.ts';

/** The public catalogue as the service builds it (names, aliases, topics, emitted schema). */
function stream(name: string, schemaUri: string, aliases: string[] = []): StreamConfig {
  const schemaTitle = schemaUri.replace(/^\//, '').replace(/\/\d+\.\d+\.\d+$/, '');
  return { name, aliases, topics: [`eqiad.${name}`, `codfw.${name}`], schemaTitle, schemaUri, dropCanaryEvents: true };
}

const CATALOGUE: StreamConfig[] = [
  stream('mediawiki.recentchange', '/mediawiki/recentchange/1.0.0', ['recentchange']),
  stream('mediawiki.page-create', '/mediawiki/revision/create/2.0.0', ['page-create']),
  stream('mediawiki.revision-create', '/mediawiki/revision/create/2.0.0', ['revision-create']),
  stream('mediawiki.page-delete', '/mediawiki/page/delete/1.0.0', ['page-delete']),
  stream('mediawiki.page-undelete', '/mediawiki/page/undelete/1.0.0', ['page-undelete']),
  stream('mediawiki.page-move', '/mediawiki/page/move/1.0.0', ['page-move']),
  stream('mediawiki.page-links-change', '/mediawiki/page/links-change/1.0.0', ['page-links-change']),
  stream('mediawiki.page-properties-change', '/mediawiki/page/properties-change/1.0.0', ['page-properties-change']),
  stream('mediawiki.revision-visibility-change', '/mediawiki/revision/visibility-change/1.0.0'),
  stream('mediawiki.revision-tags-change', '/mediawiki/revision/tags-change/1.0.0'),
  stream('mediawiki.page_change.v1', '/mediawiki/page/change/1.11.0'),
  stream('eventgate-main.test.event', '/test/event/1.0.0', ['test']),
  stream('mediawiki.page_outlink_topic_prediction_change.v1', '/mediawiki/page/prediction_classification_change/1.0.0'),
];

const sources = readDemoSources();
const groups = groupByStream(sources, CATALOGUE);
const NOW = new Date('2030-01-02T03:04:05.678Z');

function group(name: string): JsonObject[] {
  const events = groups.get(name);
  if (!events) throw new Error(`no group ${name}`);
  return events;
}

function meta(event: JsonObject): JsonObject {
  const m = event['meta'];
  if (!isJsonObject(m)) throw new Error('no meta');
  return m;
}

function obj(value: unknown): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  return value as JsonObject;
}

/** Deletes dotted paths from a deep copy, so two events can be compared on what is left. */
function without(event: JsonObject, paths: string[]): JsonObject {
  const copy = structuredClone(event);
  for (const path of paths) {
    const keys = path.split('.');
    let node: JsonObject | undefined = copy;
    for (const k of keys.slice(0, -1)) node = isJsonObject(node?.[k]) ? (node[k] as JsonObject) : undefined;
    if (node) delete node[keys[keys.length - 1] ?? ''];
  }
  return copy;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('groupByStream', () => {
  it('replays the recordings, and schema examples only where nothing real is recorded or derived', () => {
    expect([...groups.keys()].sort()).toEqual(['eventgate-main.test.event', 'mediawiki.page_change.v1', 'mediawiki.recentchange']);
    // Everything else is derived from the recordings as they replay (test/unit/demo-derive.test.ts).
    for (const name of ['mediawiki.revision-create', 'mediawiki.page-create', 'mediawiki.page-delete']) expect(groups.has(name)).toBe(false);
  });

  it('uses only the real recordings for recentchange and page_change, in replay order', () => {
    const rc = group(RECENTCHANGE_STREAM);
    expect(rc).toHaveLength(300);
    expect(rc.every((e) => meta(e)['domain'] !== 'examplewiki' && typeof e['wiki'] === 'string')).toBe(true);
    const pc = group(PAGE_CHANGE_STREAM);
    expect(pc).toHaveLength(13);
    expect(pc.every((e) => e['$schema'] === '/mediawiki/page/change/1.2.0')).toBe(true);
    const times = pc.map((e) => Date.parse(String(e['dt'])));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('sets meta.stream of the examples it uses to the stream', () => {
    expect(group('eventgate-main.test.event').map((e) => e['$schema'])).toEqual(['/test/event/1.0.0']);
    for (const [name, events] of groups) for (const e of events) expect(meta(e)['stream']).toBe(name);
  });

  it('strips the Kafka position fields a consumer added to the recording', () => {
    for (const events of groups.values()) {
      for (const e of events) for (const f of ['topic', 'partition', 'offset', 'key']) expect(meta(e)).not.toHaveProperty(f);
    }
  });

  it('shifts by ID_STEP never make two recorded ids of one wiki collide, in any pass', () => {
    const idsPerWiki = new Map<string, Set<number>>();
    const add = (wiki: string, v: unknown): void => {
      if (typeof v === 'number' && v > 0) idsPerWiki.set(wiki, (idsPerWiki.get(wiki) ?? new Set()).add(v));
    };
    for (const e of group(RECENTCHANGE_STREAM)) {
      const wiki = String(e['wiki']);
      add(wiki, e['id']);
      add(wiki, e['log_id']);
      const rev = e['revision'];
      if (isJsonObject(rev)) (add(wiki, rev['new']), add(wiki, rev['old']));
    }
    for (const e of group(PAGE_CHANGE_STREAM)) {
      const rev = obj(e['revision']);
      add(String(e['wiki_id']), rev['rev_id']);
      add(String(e['wiki_id']), rev['rev_parent_id']);
    }
    const collisions: number[][] = [];
    for (const ids of idsPerWiki.values()) {
      for (const a of ids) for (const b of ids) if (a !== b && (a - b) % ID_STEP === 0) collisions.push([a, b]);
    }
    expect(collisions).toEqual([]);
  });
});

describe('freshen', () => {
  const edit = group(RECENTCHANGE_STREAM).find((e) => e['type'] === 'edit' && String(e['notify_url']).includes('rcid='));
  if (!edit) throw new Error('no edit event');

  it('renews ids and times of a recentchange event and keeps the rest byte-identical', () => {
    const fresh = freshen(edit, NOW, 3);
    const m = meta(fresh);
    expect(m['id']).toMatch(UUID);
    expect(m['id']).not.toBe(meta(edit)['id']);
    expect(m['request_id']).toMatch(UUID);
    expect(m['request_id']).not.toBe(meta(edit)['request_id']);
    expect(m['dt']).toBe('2030-01-02T03:04:05.678Z');
    expect(fresh['timestamp']).toBe(Math.floor(NOW.getTime() / 1000));
    const shift = 3 * ID_STEP;
    expect(fresh['id']).toBe(Number(edit['id']) + shift);
    const rev = obj(edit['revision']);
    expect(fresh['revision']).toEqual({ old: Number(rev['old']) + shift, new: Number(rev['new']) + shift });
    expect(fresh['notify_url']).toBe(
      `https://${String(edit['server_name'])}/w/index.php?diff=${Number(rev['new']) + shift}&oldid=${Number(rev['old']) + shift}&rcid=${Number(edit['id']) + shift}`,
    );
    const changed = ['meta.id', 'meta.dt', 'meta.request_id', 'timestamp', 'id', 'revision', 'notify_url'];
    expect(JSON.stringify(without(fresh, changed))).toBe(JSON.stringify(without(edit, changed)));
  });

  it('keeps the recorded ids on the first pass and does not touch the input', () => {
    const before = JSON.stringify(edit);
    const fresh = freshen(edit, NOW, 0);
    expect(JSON.stringify(edit)).toBe(before);
    expect(fresh['id']).toBe(edit['id']);
    expect(fresh['revision']).toEqual(edit['revision']);
    expect(fresh['notify_url']).toBe(edit['notify_url']);
  });

  it('gives distinct ids for different passes', () => {
    const a = freshen(edit, NOW, 1);
    const b = freshen(edit, NOW, 2);
    expect(meta(a)['id']).not.toBe(meta(b)['id']);
    expect(a['id']).not.toBe(b['id']);
    expect(obj(a['revision'])['new']).not.toBe(obj(b['revision'])['new']);
  });

  it('renews a page_change edit: event time and the new revision, not the prior one', () => {
    const pc = group(PAGE_CHANGE_STREAM).find((e) => e['page_change_kind'] === 'edit' && isJsonObject(e['prior_state']));
    if (!pc) throw new Error('no page_change edit');
    const fresh = freshen(pc, NOW, 1);
    expect(fresh['dt']).toBe('2030-01-02T03:04:05Z'); // recorded with second precision, kept so
    const rev = obj(fresh['revision']);
    const oldRev = obj(pc['revision']);
    expect(rev['rev_dt']).toBe('2030-01-02T03:04:05Z');
    expect(rev['rev_id']).toBe(Number(oldRev['rev_id']) + ID_STEP);
    expect(rev['rev_parent_id']).toBe(Number(oldRev['rev_parent_id']) + ID_STEP);
    const prior = obj(obj(fresh['prior_state'])['revision']);
    expect(prior['rev_id']).toBe(rev['rev_parent_id']);
    expect(prior['rev_dt']).toBe(obj(obj(pc['prior_state'])['revision'])['rev_dt']);
    expect(fresh['page']).toEqual(pc['page']);
    expect(fresh['performer']).toEqual(pc['performer']);
    expect(rev['comment']).toBe(oldRev['comment']);
    expect(Object.keys(fresh)).toEqual(Object.keys(pc));
  });

  it('leaves the old revision time of a delete alone', () => {
    const del = group(PAGE_CHANGE_STREAM).find((e) => e['page_change_kind'] === 'delete');
    if (!del) throw new Error('no delete');
    const fresh = freshen(del, NOW, 0);
    expect(obj(fresh['revision'])['rev_dt']).toBe(obj(del['revision'])['rev_dt']);
    expect(fresh['dt']).toBe('2030-01-02T03:04:05Z');
  });

  it('shifts revert details of revision-create', () => {
    const revert = sources.schemaExamples.find((e) => e['$schema'] === '/mediawiki/revision/create/2.0.0' && isJsonObject(e['rev_revert_details']));
    if (!revert) throw new Error('no revert example');
    const fresh = freshen(revert, NOW, 2);
    expect(obj(fresh['rev_revert_details'])['rev_reverted_revs']).toEqual([122 + 2 * ID_STEP, 123 + 2 * ID_STEP]);
    expect(fresh['rev_timestamp']).toBe('2030-01-02T03:04:05Z');
    expect(obj(fresh['performer'])['user_registration_dt']).toBe('2014-02-23T21:13:24Z');
  });
});

describe('canaryEvent', () => {
  it('is the stream schema example with meta.domain canary, like WMF canaries', () => {
    const rc = CATALOGUE[0];
    if (!rc) throw new Error('no stream');
    const example = schemaExampleFor(rc, sources.schemaExamples, CATALOGUE);
    expect(example?.['$schema']).toBe('/mediawiki/recentchange/1.0.0');
    const canary = canaryEvent(rc, NOW, example);
    expect(canary['$schema']).toBe('/mediawiki/recentchange/1.0.0');
    const m = meta(canary);
    expect(m['domain']).toBe('canary');
    expect(m['stream']).toBe('mediawiki.recentchange');
    expect(m['dt']).toBe(NOW.toISOString());
    expect(m['id']).toMatch(UUID);
    expect(m).not.toHaveProperty('topic');
  });

  it('keeps the example body and falls back to a meta-only event', () => {
    const pc = CATALOGUE.find((s) => s.name === 'mediawiki.page_change.v1');
    const pred = CATALOGUE.find((s) => s.name.includes('prediction'));
    if (!pc || !pred) throw new Error('no stream');
    const example = schemaExampleFor(pc, sources.schemaExamples, CATALOGUE);
    expect(example?.['$schema']).toBe('/mediawiki/page/change/1.3.0'); // newest we have
    const canary = canaryEvent(pc, NOW, example);
    expect(canary['page']).toEqual(example?.['page']);
    expect(meta(canary)['stream']).toBe('mediawiki.page_change.v1');
    expect(schemaExampleFor(pred, sources.schemaExamples, CATALOGUE)).toBeUndefined();
    const bare = canaryEvent(pred, NOW);
    expect(bare['$schema']).toBe(pred.schemaUri);
    expect(meta(bare)['domain']).toBe('canary');
  });
});

describe('messageKey', () => {
  it('keys page_change like EventBus and leaves the rest unkeyed', () => {
    const pc = group(PAGE_CHANGE_STREAM)[0] ?? {};
    expect(messageKey(pc)).toEqual({ wiki_id: pc['wiki_id'], page_id: obj(pc['page'])['page_id'] });
    expect(messageKey(group(RECENTCHANGE_STREAM)[0] ?? {})).toBeNull();
  });
});

describe('replay rates and topics', () => {
  it('scales every stream with the recentchange rate', () => {
    expect(streamRate('mediawiki.recentchange')).toBe(25);
    expect(streamRate('mediawiki.page_change.v1', 250)).toBe(5);
    expect(streamRate('some.other.stream', 50)).toBe(1);
    // Streams with recordings all have a deliberate rate.
    for (const name of groups.keys()) expect(DEFAULT_RATES[name], name).toBeGreaterThan(0);
  });

  it('sends 9 in 10 events to the first data centre and the rest to the others', () => {
    const topics = ['eqiad.x', 'codfw.x'];
    const picked = Array.from({ length: 100 }, (_, n) => pickTopic(topics, n));
    expect(picked.filter((t) => t === 'eqiad.x')).toHaveLength(90);
    expect(picked.filter((t) => t === 'codfw.x')).toHaveLength(10);
    expect(pickTopic(['only'], 9)).toBe('only');
    const three = Array.from({ length: 40 }, (_, n) => pickTopic(['a', 'b', 'c'], n));
    expect(three.filter((t) => t === 'b')).toHaveLength(2);
    expect(three.filter((t) => t === 'c')).toHaveLength(2);
  });
});
