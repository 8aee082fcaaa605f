import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { produceJson, testBrokers, uniqueTopic, uniqueTopicName } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { openRaw } from '../support/sse.ts';
import { metric } from '../support/metrics.ts';

type Event = Record<string, unknown>;
const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
const T0 = Date.now() - 60_000;

let rc: string;
let visibility: string;
let service: RunningService;

/** Real recentchange events with recognisable users and comments, one revision each. */
const events: Event[] = Array.from({ length: 20 }, (_, i) => ({
  ...rcEvent(i),
  type: 'edit',
  wiki: 'enwiki',
  user: `Editor${i}Secret`,
  comment: `comment ${i} secret`,
  parsedcomment: `<b>comment ${i} secret</b>`,
  revision: { old: 5000 + i, new: 6000 + i },
  server_url: 'https://en.wikipedia.org',
}));

function visibilityEvent(revId: number, visible: { text: boolean; user: boolean; comment: boolean }): Event {
  return {
    $schema: '/mediawiki/revision/visibility-change/1.0.1',
    database: 'enwiki',
    meta: { domain: 'en.wikipedia.org', stream: 'mediawiki.revision-visibility-change', dt: new Date().toISOString() },
    rev_id: revId,
    page_id: 1,
    page_title: 'X',
    performer: { user_text: 'Oversighter', user_groups: ['suppress'], user_is_bot: false },
    visibility: visible,
    prior_state: { visibility: { text: true, user: true, comment: true } },
  };
}

const streams = () => ({
  'mediawiki.recentchange': { topics: [rc], stream_aliases: ['recentchange'], schema_title: 'mediawiki/recentchange', remove_fields: ['server_url'] },
  'mediawiki.revision-visibility-change': { topics: [visibility] },
});
const settings = { heartbeat_interval: 300, schema_base_uris: [SCHEMAS], mediawiki_redacted_pages: {} };

function replay(target: RunningService, count: number, query = `since=${T0}`): Promise<Event[]> {
  return replayStreams(target, ['recentchange'], count, query);
}

/** A replay of several streams at once, once `count` events arrived. */
async function replayStreams(target: RunningService, names: readonly string[], count: number, query: string): Promise<Event[]> {
  const s = await openRaw(`${target.url}/v2/stream/${names.join(',')}?${query}`);
  expect(s.status).toBe(200);
  await s.until((x) => x.messages().length >= count);
  s.close();
  return s.messages().map((m) => m.data);
}

const byRev = (list: Event[], revId: number) => list.find((e) => (e.revision as { new: number }).new === revId) as Event;

beforeAll(async () => {
  rc = await uniqueTopic('eqiad.sanitize.rc', 1);
  visibility = await uniqueTopic('eqiad.sanitize.visibility', 1);
  await produceJson(testBrokers(), rc, events.map((value, i) => ({ value, timestamp: T0 + i })));
  service = await startTestService(streams(), { ...settings, sanitize: { visibility_streams: ['mediawiki.revision-visibility-change'] } });
});

afterAll(async () => {
  await service?.stop();
});

describe('sanitization end to end', () => {
  it('removes the fields the stream never serves', async () => {
    const got = await replay(service, 20);
    expect(got.every((e) => e.server_url === undefined)).toBe(true);
    expect(got[0]?.user).toBe('Editor0Secret');
  });

  it('scrubs replays, the cache and live events once a suppression arrives, and a restarted service still does', async () => {
    // A live client: the events it is sent next pass through the shared reader into the fan-out cache.
    const live = await openRaw(`${service.url}/v2/stream/recentchange`);
    await live.until((x) => x.text().startsWith(':ok'));
    const cachedRevId = 6100;
    await produceJson(testBrokers(), rc, [{ value: { ...events[0], user: 'CachedEditorSecret', revision: { old: 1, new: cachedRevId } }, timestamp: T0 + 50 }]);
    await live.until((x) => x.messages().length >= 1);
    expect(live.messages()[0]?.data.user).toBe('CachedEditorSecret');

    await produceJson(testBrokers(), visibility, [
      { value: visibilityEvent(6003, { text: true, user: false, comment: true }) },
      { value: visibilityEvent(6007, { text: true, user: true, comment: false }) },
      { value: visibilityEvent(cachedRevId, { text: true, user: false, comment: true }) },
    ]);
    const expectScrubbed = (list: Event[]) => {
      const text = JSON.stringify(list);
      expect(text).not.toContain('Editor3Secret');
      expect(text).not.toContain('comment 7 secret');
      expect(text).not.toContain('CachedEditorSecret');
      expect(byRev(list, 6003).comment).toBe('comment 3 secret');
      expect(byRev(list, 6007).user).toBe('Editor7Secret');
      expect(byRev(list, 6007).parsedcomment).toBeUndefined();
      expect(byRev(list, 6004).user).toBe('Editor4Secret');
      expect(byRev(list, cachedRevId).comment).toBe(events[0]?.comment);
    };
    // The index follows the visibility topic live; wait until a replay shows it.
    const deadline = Date.now() + 15_000;
    let replayed = await replay(service, 21);
    while (JSON.stringify(replayed).includes('CachedEditorSecret') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      replayed = await replay(service, 21);
    }
    // 6003 and 6007 come through a catch-up read of Kafka, the last one from the fan-out cache,
    // where it sat before its suppression arrived.
    expectScrubbed(replayed);
    // Resuming right at the cached event is served from the cache alone.
    const offset = (live.messages()[0]?.data.meta as { offset: number }).offset;
    const hits = await metric(service.url, 'eventstreams_cache_lookups_total', { result: 'hit' });
    const resumed = await openRaw(`${service.url}/v2/stream/recentchange`, { 'last-event-id': JSON.stringify([{ topic: rc, partition: 0, offset }]) });
    await resumed.until((x) => x.messages().length >= 1);
    resumed.close();
    expect(await metric(service.url, 'eventstreams_cache_lookups_total', { result: 'hit' })).toBe(hits + 1);
    expect(resumed.messages()[0]?.data.user).toBeUndefined();
    expect(resumed.text()).not.toContain('CachedEditorSecret');
    expect(await metric(service.url, 'eventstreams_sanitized_fields_total', { stream: 'mediawiki.recentchange', rule: 'suppressed' })).toBeGreaterThanOrEqual(3);

    // Live: a new event about a suppressed revision (a later log entry re-announcing it, say).
    await produceJson(testBrokers(), rc, [{ value: { ...events[3], comment: 'again' }, timestamp: T0 + 100 }]);
    await live.until((x) => x.messages().length >= 2);
    live.close();
    const last = live.messages().at(-1)?.data as Event;
    expect(last.comment).toBe('again');
    expect(last.user).toBeUndefined();

    // A new instance rebuilds the index from Kafka before it serves a replay.
    const restarted = await startTestService(streams(), { ...settings, sanitize: { visibility_streams: ['mediawiki.revision-visibility-change'] } });
    try {
      expectScrubbed(await replay(restarted, 22));
    } finally {
      await restarted.stop();
    }
  });

  it('shows a revision again once it is made visible again', async () => {
    await produceJson(testBrokers(), visibility, [{ value: visibilityEvent(6010, { text: true, user: false, comment: true }) }]);
    const fresh = await startTestService(streams(), { ...settings, sanitize: { visibility_streams: ['mediawiki.revision-visibility-change'] } });
    try {
      expect(byRev(await replay(fresh, 22), 6010).user).toBeUndefined();
      await produceJson(testBrokers(), visibility, [{ value: visibilityEvent(6010, { text: true, user: true, comment: true }) }]);
      const again = await startTestService(streams(), { ...settings, sanitize: { visibility_streams: ['mediawiki.revision-visibility-change'] } });
      try {
        expect(byRev(await replay(again, 22), 6010).user).toBe('Editor10Secret');
      } finally {
        await again.stop();
      }
    } finally {
      await fresh.stop();
    }
  });

  it('redacts pages listed in mediawiki_redacted_pages, reloaded without a restart', async () => {
    const title = String(events[12]?.title);
    const domain = String((events[12]?.meta as Event).domain);
    expect(byRev(await replay(service, 22), 6012).user).toBe('Editor12Secret');
    service.reload({ mediawikiRedactedPages: { [domain]: [`  ${title.replaceAll('_', ' ')} `] } });
    const after = await replay(service, 22);
    expect(byRev(after, 6012).user).toBeUndefined();
    expect(byRev(after, 6012).title).toBe(title);
    expect(byRev(after, 6011).user).toBe('Editor11Secret');
    service.reload({ mediawikiRedactedPages: {} });
  });

  it('follows a visibility topic created after the service started', async () => {
    const late = uniqueTopicName('eqiad.sanitize.late-visibility');
    const lateStreams = { ...streams(), 'mediawiki.revision-visibility-change': { topics: [late] } };
    const fresh = await startTestService(lateStreams, { ...settings, sanitize: { visibility_streams: ['mediawiki.revision-visibility-change'] } });
    try {
      expect(byRev(await replay(fresh, 22), 6015).user).toBe('Editor15Secret');
      await ensureTopics(testBrokers(), [{ name: late, partitions: 1 }]);
      await produceJson(testBrokers(), late, [{ value: visibilityEvent(6015, { text: true, user: false, comment: true }) }]);
      // Missing topics are looked for again every 10 s.
      const deadline = Date.now() + 25_000;
      let user = byRev(await replay(fresh, 22), 6015).user;
      while (user !== undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        user = byRev(await replay(fresh, 22), 6015).user;
      }
      expect(user).toBeUndefined();
    } finally {
      await fresh.stop();
    }
  }, 40_000);

  it('filters cannot see hidden values either', async () => {
    const s = await openRaw(`${service.url}/v2/stream/recentchange?since=${T0}&user=Editor3Secret,Editor4Secret`);
    await s.until((x) => x.messages().length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    s.close();
    expect(s.messages().map((m) => m.data.user)).toEqual(['Editor4Secret']);
  });
});

describe('remove_fields follow streams, not topics', () => {
  it('a topics_allowed topic named in Last-Event-ID loses the fields its stream removes, for every stream serving it', async () => {
    const eqiad = await uniqueTopic('eqiad.sanitize.mutation', 1);
    const codfw = await uniqueTopic('codfw.sanitize.mutation', 1);
    const event = { $schema: '/test/event/1.0.0', meta: { domain: 'canary.test', stream: 'mutation', dt: new Date().toISOString() }, test: 'kept', secret: 'TopSecretValue' };
    await produceJson(testBrokers(), codfw, [{ value: event }]);
    const fresh = await startTestService(
      {
        // A double-compute stream: reads its own data centre's topic, resumes from either.
        mutation: { topics: [eqiad], topics_allowed: [eqiad, codfw], remove_fields: ['secret'] },
        'mutation.codfw': { topics: [codfw] },
      },
      settings,
    );
    try {
      const resumed = await openRaw(`${fresh.url}/v2/stream/mutation`, { 'last-event-id': JSON.stringify([{ topic: codfw, partition: 0, offset: 0 }]) });
      expect(resumed.status).toBe(200);
      await resumed.until((x) => x.messages().length >= 1);
      resumed.close();
      expect(resumed.messages()[0]?.data.test).toBe('kept');
      expect(resumed.text()).not.toContain('TopSecretValue');
      // The frame is shared: the other stream reading the topic gets the union of both policies.
      const other = await openRaw(`${fresh.url}/v2/stream/mutation.codfw?since=0`);
      await other.until((x) => x.messages().length >= 1);
      other.close();
      expect(other.messages()[0]?.data.test).toBe('kept');
      expect(other.text()).not.toContain('TopSecretValue');
    } finally {
      await fresh.stop();
    }
  });
});

describe('retroactive suppression of every event type that names a revision', () => {
  const examples = readFileSync(new URL('../../data/demo/schema-examples.wmf-schemas.ndjson', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Event);
  /** The streams, by schema title, and whether their schema has a comment. */
  const kinds = [
    { stream: 'mediawiki.page-links-change', title: 'mediawiki/page/links-change', comment: false },
    { stream: 'mediawiki.page-properties-change', title: 'mediawiki/page/properties-change', comment: false },
    { stream: 'mediawiki.revision-tags-change', title: 'mediawiki/revision/tags-change', comment: true },
    { stream: 'mediawiki.revision-score', title: 'mediawiki/revision/score', comment: false },
    { stream: 'mediawiki.page-move', title: 'mediawiki/page/move', comment: true },
    { stream: 'mediawiki.revision-create', title: 'mediawiki/revision/create', comment: true },
  ];
  const HIDDEN = 'HiddenEditorSecret';
  const VISIBLE = 'VisibleEditor';
  const topics = new Map<string, string>();
  let target: RunningService;

  /** The newest official example of the schema, made an edit of `revId` on enwiki by `editor`. */
  function revisionEvent(kind: (typeof kinds)[number], revId: number, editor: string): Event {
    const example = structuredClone(examples.filter((e) => String(e.$schema).startsWith(`/${kind.title}/`)).at(-1) as Event);
    return {
      ...example,
      meta: { ...(example.meta as Event), domain: 'en.wikipedia.org', stream: kind.stream },
      database: 'enwiki',
      rev_id: revId,
      page_title: `Page_${revId}`,
      performer: { user_text: editor, user_id: revId, user_groups: ['*', 'user'], user_is_bot: false },
      ...(kind.comment ? { comment: `summary of ${revId}`, parsedcomment: `summary of <b>${revId}</b>` } : {}),
    };
  }

  const replayAll = (query = `since=${T0}`) => replayStreams(target, kinds.map((k) => k.stream), kinds.length * 2, query);

  beforeAll(async () => {
    for (const kind of kinds) {
      const topic = await uniqueTopic(`eqiad.sanitize.${kind.stream}`, 1);
      topics.set(kind.stream, topic);
      await produceJson(testBrokers(), topic, [
        { value: revisionEvent(kind, 9001, HIDDEN), timestamp: T0 + 1 },
        { value: revisionEvent(kind, 9002, VISIBLE), timestamp: T0 + 2 },
      ]);
    }
    const visibilityTopic = await uniqueTopic('eqiad.sanitize.visibility-all', 1);
    const streamsOf = Object.fromEntries(kinds.map((k) => [k.stream, { topics: [topics.get(k.stream) as string], schema_title: k.title }]));
    target = await startTestService(
      { ...streamsOf, 'mediawiki.revision-visibility-change': { topics: [visibilityTopic] } },
      { ...settings, sanitize: { visibility_streams: ['mediawiki.revision-visibility-change'] } },
    );
    expect(JSON.stringify(await replayAll())).toContain(HIDDEN);
    await produceJson(testBrokers(), visibilityTopic, [{ value: visibilityEvent(9001, { text: true, user: false, comment: true }) }]);
  });

  afterAll(async () => {
    await target?.stop();
  });

  it('replays them without the hidden editor, and only that', async () => {
    const deadline = Date.now() + 15_000;
    let replayed = await replayAll();
    while (JSON.stringify(replayed).includes(HIDDEN) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      replayed = await replayAll();
    }
    expect(JSON.stringify(replayed)).not.toContain(HIDDEN);
    for (const kind of kinds) {
      const ofStream = replayed.filter((e) => (e.meta as Event).stream === kind.stream);
      const hidden = ofStream.find((e) => e.rev_id === 9001) as Event;
      const visible = ofStream.find((e) => e.rev_id === 9002) as Event;
      expect(hidden.performer, kind.stream).toBeUndefined();
      expect(hidden.page_title, kind.stream).toBe('Page_9001');
      // Only the user was hidden.
      if (kind.comment) expect(hidden.comment, kind.stream).toBe('summary of 9001');
      expect((visible.performer as Event).user_text, kind.stream).toBe(VISIBLE);
    }
  });

  it('filters cannot see the hidden editor', async () => {
    // A hidden editor's event would come first (each topic has it before the visible one).
    const s = await openRaw(`${target.url}/v2/stream/${kinds.map((k) => k.stream).join(',')}?since=${T0}&performer.user_text=${HIDDEN},${VISIBLE}`);
    await s.until((x) => x.messages().length >= kinds.length);
    await new Promise((resolve) => setTimeout(resolve, 500));
    s.close();
    expect(s.messages().map((m) => (m.data.performer as Event).user_text)).toEqual(kinds.map(() => VISIBLE));
  });
});
