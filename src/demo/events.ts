import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { StreamConfig } from '../catalogue/types.ts';
import { DERIVED_STREAMS } from './derive/derive.ts';
import { isJsonObject, type Json, type JsonObject } from './derive/json.ts';
import { PAGE_CHANGE_STREAM } from './derive/page-change.ts';
import { RECENTCHANGE_STREAM } from './derive/recentchange.ts';

export { isJsonObject, PAGE_CHANGE_STREAM, RECENTCHANGE_STREAM, type Json, type JsonObject };

/** The shipped recordings (see data/demo/SOURCES.md). */
export const DEMO_DATA_DIR = new URL('../../data/demo/', import.meta.url);


/** The recorded events as read from disk, before they are assigned to streams. */
export interface DemoSources {
  /** Real consecutive recentchange events, in recorded order. */
  recentchange: JsonObject[];
  /** Real page_change.v1 events. */
  pageChange: JsonObject[];
  /** Official (synthetic) schema examples of many schemas and versions. */
  schemaExamples: JsonObject[];
}

/**
 * Revision-like ids grow by this much per replay pass so a replayed revision never repeats an
 * earlier one. Larger than the per-wiki spread of any recorded id set (checked by a unit test).
 */
export const ID_STEP = 10_000_000;

/** Fields a Kafka consumer (EventStreams) adds on the way out; a producer never sets them. */
const POSITION_FIELDS = ['topic', 'partition', 'offset', 'key'];

/** Keys that hold revision ids in every EventBus schema (page_change, revision-create, page-*). */
const REVISION_ID_KEYS = new Set([
  'rev_id',
  'rev_parent_id',
  'origin_rev_id',
  'rev_slot_origin_rev_id',
  'rev_original_rev_id',
  'rev_reverted_revs',
]);

/** Keys that hold the time of the event itself (others, e.g. registration_dt, are history). */
const EVENT_TIME_KEYS = new Set(['dt', 'rev_dt', 'rev_timestamp']);

/** One JSON object per non-empty line. */
export function parseNdjson(text: string): JsonObject[] {
  const events: JsonObject[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const value = JSON.parse(line) as Json;
    if (!isJsonObject(value)) throw new Error(`line ${i + 1} is not a JSON object`);
    events.push(value);
  }
  return events;
}

/** Reads the shipped recordings (sync: runs once at start-up). */
export function readDemoSources(dir: URL = DEMO_DATA_DIR): DemoSources {
  const read = (name: string): JsonObject[] => parseNdjson(readFileSync(new URL(name, dir), 'utf8'));
  return {
    recentchange: read('recentchange.2026-08-04.ndjson'),
    pageChange: read('page_change.v1.testwikidata+commons.2024-10.ndjson'),
    schemaExamples: read('schema-examples.wmf-schemas.ndjson'),
  };
}

/** `/mediawiki/page/change/1.2.0` -> `{ title: 'mediawiki/page/change', version: [1, 2, 0] }`. */
export function parseSchemaUri(uri: Json | undefined): { title: string; version: number[] } | undefined {
  if (typeof uri !== 'string') return undefined;
  const m = /^\/?(.+)\/(\d+)\.(\d+)\.(\d+)$/.exec(uri);
  if (!m) return undefined;
  return { title: m[1] ?? '', version: [Number(m[2]), Number(m[3]), Number(m[4])] };
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function metaOf(event: JsonObject): JsonObject | undefined {
  const meta = event['meta'];
  return isJsonObject(meta) ? meta : undefined;
}

/** The event as a producer sends it: without the Kafka position fields a consumer added. */
export function asProduced(event: JsonObject): JsonObject {
  const meta = metaOf(event);
  if (!meta || !POSITION_FIELDS.some((f) => f in meta)) return event;
  const cleanMeta: JsonObject = {};
  for (const [k, v] of Object.entries(meta)) if (!POSITION_FIELDS.includes(k)) cleanMeta[k] = v;
  return { ...event, meta: cleanMeta };
}

function withStream(event: JsonObject, stream: string): JsonObject {
  return { ...event, meta: { ...metaOf(event), stream } };
}

/** The catalogue stream a schema example belongs to, by its `meta.stream`, else by a unique schema title. */
export function streamForExample(example: JsonObject, streams: readonly StreamConfig[]): StreamConfig | undefined {
  const declared = metaOf(example)?.['stream'];
  if (typeof declared === 'string') {
    // Upstream examples spell some streams `medaiwiki.*`.
    const name = declared.replace(/^medaiwiki\./, 'mediawiki.');
    const byName = streams.find((s) => s.name === name || s.aliases.includes(name) || s.name.endsWith(`.${name}`));
    if (byName) return byName;
  }
  const title = parseSchemaUri(example['$schema'])?.title;
  const byTitle = streams.filter((s) => title !== undefined && s.schemaTitle === title);
  return byTitle.length === 1 ? byTitle[0] : undefined;
}

/**
 * The examples of one stream at one schema version, as production emits one version at a time:
 * the stream's own `schemaUri` version when examples exist for it, else the newest one.
 */
function examplesAtOneVersion(examples: JsonObject[], stream: StreamConfig): JsonObject[] {
  const exact = examples.filter((e) => e['$schema'] === stream.schemaUri);
  if (exact.length > 0) return exact;
  let newest: number[] | undefined;
  for (const e of examples) {
    const v = parseSchemaUri(e['$schema'])?.version;
    if (v && (!newest || compareVersions(v, newest) > 0)) newest = v;
  }
  return examples.filter((e) => {
    const v = parseSchemaUri(e['$schema'])?.version;
    return v !== undefined && newest !== undefined && compareVersions(v, newest) === 0;
  });
}

/** Upstream ships one example with mangled keys (`"dt\""`); a usable one has a string meta.dt. */
function isWellFormedExample(example: JsonObject): boolean {
  return typeof metaOf(example)?.['dt'] === 'string';
}

/** All schema examples belonging to `stream`, at every version, in file order. */
function examplesOf(stream: StreamConfig, examples: readonly JsonObject[], streams: readonly StreamConfig[]): JsonObject[] {
  return examples.filter((e) => streamForExample(e, streams)?.name === stream.name);
}

/**
 * Assigns the recordings to streams: recentchange and page_change recordings to their streams; the
 * schema examples to the matching catalogue stream (with meta.stream set to it), but only where no
 * real recording exists and nothing is derived from one (real beats synthetic). Streams with
 * neither are absent. Events are in replay order.
 */
export function groupByStream(sources: DemoSources, streams: readonly StreamConfig[]): Map<string, JsonObject[]> {
  const groups = new Map<string, JsonObject[]>();
  if (sources.recentchange.length > 0) groups.set(RECENTCHANGE_STREAM, sources.recentchange.map(asProduced));
  if (sources.pageChange.length > 0) {
    // Chronological, so a page's create -> edit -> delete -> undelete story replays in order.
    const byTime = [...sources.pageChange].sort((a, b) => eventTimeMs(a) - eventTimeMs(b));
    groups.set(PAGE_CHANGE_STREAM, byTime.map(asProduced));
  }
  for (const stream of streams) {
    if (groups.has(stream.name) || DERIVED_STREAMS.includes(stream.name)) continue;
    const usable = examplesOf(stream, sources.schemaExamples, streams).filter(isWellFormedExample);
    const chosen = examplesAtOneVersion(usable, stream);
    // Examples name streams loosely (`medaiwiki.page-delete`, `test.event.example`); clients of a
    // multi-stream connection tell events apart by meta.stream, so it must be the stream's name.
    if (chosen.length > 0) groups.set(stream.name, chosen.map((e) => withStream(asProduced(e), stream.name)));
  }
  return groups;
}

/** The example WMF would build this stream's canary events from: the first at the stream's version. */
export function schemaExampleFor(stream: StreamConfig, examples: readonly JsonObject[], streams: readonly StreamConfig[]): JsonObject | undefined {
  const own = examplesOf(stream, examples, streams).filter(isWellFormedExample);
  return examplesAtOneVersion(own, stream)[0];
}

function eventTimeMs(event: JsonObject): number {
  const dt = event['dt'] ?? metaOf(event)?.['dt'];
  return typeof dt === 'string' ? Date.parse(dt) : Number.NaN;
}

/** `now` as ISO-8601 with as many fractional-second digits (0-3) as `like` has. */
function isoLike(now: Date, like: string): string {
  const digits = Math.min(/\.(\d+)Z$/.exec(like)?.[1]?.length ?? 0, 3);
  const iso = now.toISOString(); // always ...SS.mmmZ
  return digits === 0 ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 20 + digits)}Z`;
}

function shiftId(value: Json, shift: number): Json {
  if (typeof value === 'number' && value > 0) return value + shift;
  if (Array.isArray(value)) return value.map((v) => shiftId(v, shift));
  return value;
}

/** Recursively: revision ids shifted, event-time fields equal to the original event time set to now. */
function refresh(value: Json, shift: number, originalMs: number, now: Date): Json {
  if (Array.isArray(value)) return value.map((v) => refresh(v, shift, originalMs, now));
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (REVISION_ID_KEYS.has(k)) out[k] = shiftId(v, shift);
    else if (EVENT_TIME_KEYS.has(k) && typeof v === 'string' && Date.parse(v) === originalMs) out[k] = isoLike(now, v);
    else out[k] = refresh(v, shift, originalMs, now);
  }
  return out;
}

/** recentchange ids: rcid, log id, the revision pair, and the same numbers inside notify_url. */
function shiftRecentchangeIds(event: JsonObject, shift: number): void {
  for (const k of ['id', 'log_id']) if (k in event) event[k] = shiftId(event[k] ?? null, shift);
  const revision = event['revision'];
  if (isJsonObject(revision)) {
    const shifted: JsonObject = {};
    for (const [k, v] of Object.entries(revision)) shifted[k] = k === 'old' || k === 'new' ? shiftId(v, shift) : v;
    event['revision'] = shifted;
  }
  const url = event['notify_url'];
  if (typeof url === 'string') {
    // Keeps the URL consistent with revision.new/old and id, as in production.
    event['notify_url'] = url.replace(/([?&](?:diff|oldid|rcid)=)(\d+)/g, (_m, p: string, n: string) => `${p}${Number(n) + shift}`);
  }
}

/**
 * A replayable copy of a recorded event: new `meta.id`/`meta.request_id`, `meta.dt` = now, the
 * event's own time fields (`dt`, the new revision's `rev_dt`/`rev_timestamp`, recentchange
 * `timestamp`) = now, and revision/rc/log ids + `seq * ID_STEP` (seq 0 keeps the recorded ids).
 * Everything users read — titles, wikis, users, comments, sizes, types — stays as recorded.
 */
export function freshen(event: JsonObject, now: Date, seq: number): JsonObject {
  const shift = seq * ID_STEP;
  const fresh = refresh(event, shift, eventTimeMs(event), now) as JsonObject;
  if (parseSchemaUri(event['$schema'])?.title === 'mediawiki/recentchange') {
    shiftRecentchangeIds(fresh, shift);
    if (typeof fresh['timestamp'] === 'number') fresh['timestamp'] = Math.floor(now.getTime() / 1000);
  }
  fresh['meta'] = { ...metaOf(fresh), id: randomUUID(), dt: now.toISOString(), request_id: randomUUID() };
  return fresh;
}

/**
 * A canary event as WMF's CanaryEventProducer makes it: the stream's schema example with
 * `meta.domain = "canary"` and `meta.stream` set; the intake sets `meta.dt` and ids. The example's
 * own fields (even its old `dt`) are kept, as in production. Without an example: meta only.
 */
export function canaryEvent(stream: StreamConfig, now: Date, example?: JsonObject): JsonObject {
  const base: JsonObject = example ? asProduced(structuredClone(example)) : {};
  if (!example && stream.schemaUri) base['$schema'] = stream.schemaUri;
  base['meta'] = {
    ...metaOf(base),
    domain: 'canary',
    stream: stream.name,
    id: randomUUID(),
    dt: now.toISOString(),
    request_id: randomUUID(),
  };
  return base;
}

/** The Kafka message key EventBus uses: `{wiki_id, page_id}` for page_change, none for the rest. */
export function messageKey(event: JsonObject): JsonObject | null {
  if (parseSchemaUri(event['$schema'])?.title !== 'mediawiki/page/change') return null;
  const page = event['page'];
  const pageId = isJsonObject(page) ? page['page_id'] : undefined;
  const wikiId = event['wiki_id'];
  if (typeof wikiId !== 'string' || typeof pageId !== 'number') return null;
  return { wiki_id: wikiId, page_id: pageId };
}
