/**
 * U+2028, U+2029 and U+0085 in titles and comments reach python `sseclient` (Wikimedia's own
 * documentation example), which splits an event's lines with `str.splitlines()`: served raw, they
 * would cut the JSON and the event would be lost. Served escaped, every event arrives and parses to
 * the produced value, on every path an event's bytes take: the splice of plain events, the full
 * parse of unusual ones, the sanitizer's rewrite, projections, NDJSON, and compressed bodies.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { constants, gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';

type Event = Record<string, unknown>;
const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
const SEPARATORS = /[\u2028\u2029\u0085]/;

/** Real recentchange events whose titles and comments carry the separators, at the start, the end and inside. */
const texts = ['Line\u2028Separator', '\u2029starts', 'ends\u0085', 'all\u2028three\u2029in\u0085one', 'ascii only', 'near\u2027misses\u00a0\u202f–—…'];
const events: Event[] = texts.map((text, i) => ({ ...rcEvent(i), title: `Title ${text}`, comment: `Comment ${text}`, parsedcomment: `<i>${text}</i>` }));
/** The same, pretty-printed: line breaks between members make the service parse it in full (another code path). */
const pretty: Event = { ...rcEvent(9), title: 'Pretty\u2028printed', comment: 'x\u2029y\u0085z' };
const produced: Event[] = [...events, pretty];

let topic: string;
let service: RunningService;
let since: number;
/** What each stream should serve: the produced events with their positions (and, sanitized, without `server_url`). */
let expected: Event[];
let expectedSanitized: Event[];

/** Produces the events to a new topic; they as served, with their positions. */
async function produceTo(name: string): Promise<Event[]> {
  const positions = await produceJson(testBrokers(), name, [...events.map((value) => ({ value })), { value: Buffer.from(JSON.stringify(pretty, null, 2)) }]);
  return produced.map((event, i) => ({ ...event, meta: { ...(event.meta as Event), topic: name, partition: 0, offset: Number(positions[i]!.offset) } }));
}

beforeAll(async () => {
  since = Date.now() - 1000;
  topic = await uniqueTopic('eqiad.line.separators');
  // remove_fields apply to every stream of a topic (its events are sanitized once): a topic of its own.
  const sanitizedTopic = await uniqueTopic('eqiad.line.separators.sanitized');
  expected = await produceTo(topic);
  expectedSanitized = (await produceTo(sanitizedTopic)).map(({ server_url: _removed, ...rest }) => rest);
  service = await startTestService(
    {
      plain: { topics: [topic], schema_title: 'mediawiki/recentchange' },
      sanitized: { topics: [sanitizedTopic], schema_title: 'mediawiki/recentchange', remove_fields: ['server_url'] },
    },
    { schema_base_uris: [SCHEMAS], mediawiki_redacted_pages: {} },
  );
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

/** What python sseclient hands its user: each message's data, parsed, or the text that would not parse. */
function readWithSseclient(url: string, count: number): Promise<{ data?: Event; unparsed?: string }[]> {
  const script = fileURLToPath(new URL('../support/sseclient_client.py', import.meta.url));
  // scripts/provision.sh installs sseclient there.
  const pythonPath = [fileURLToPath(new URL('../../.tools/python', import.meta.url)), process.env.PYTHONPATH].filter(Boolean).join(':');
  const child = spawn('python3', [script, url, String(count)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PYTHONPATH: pythonPath } });
  const lines: { data?: Event; unparsed?: string }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as { data?: Event; unparsed?: string }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`sseclient read ${lines.length} of ${count} events: ${JSON.stringify(lines)}`));
    }, 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(lines);
    });
  });
}

/** A stream body read until `until` holds, as text (decompressed when gzip: what arrived so far, every write being flushed). */
function rawBody(path: string, headers: Record<string, string>, until: (text: string) => boolean): Promise<{ encoding: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = request(`${service.url}${path}`, { headers }, (response) => {
      const chunks: Buffer[] = [];
      const encoding = response.headers['content-encoding'];
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        const all = Buffer.concat(chunks);
        text = (encoding === 'gzip' ? gunzipSync(all, { finishFlush: constants.Z_SYNC_FLUSH }) : all).toString('utf8');
        if (until(text)) {
          clearTimeout(timer);
          req.destroy();
          resolve({ encoding, text });
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${path}: timed out; received ${JSON.stringify(text.slice(-1000))}`));
    }, 15_000);
    req.on('error', () => undefined);
    req.end();
  });
}

const dataLines = (text: string) => text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));

describe('python sseclient reading events with U+2028, U+2029 and U+0085', () => {
  it('gets every event, parsed to the produced value (plain events spliced, an unusual one parsed in full)', async () => {
    const got = await readWithSseclient(`${service.url}/v2/stream/plain?since=${since}`, produced.length);
    expect(got.filter((e) => e.unparsed !== undefined)).toEqual([]);
    expect(got.map((e) => e.data)).toEqual(expected);
  });

  it('gets every event of a stream whose events the sanitizer rewrites', async () => {
    const got = await readWithSseclient(`${service.url}/v2/stream/sanitized?since=${since}`, produced.length);
    expect(got.map((e) => e.data)).toEqual(expectedSanitized);
  });

  it('gets the events a filter on those characters selects, projected', async () => {
    const got = await readWithSseclient(`${service.url}/v2/stream/plain?since=${since}&title=*%E2%80%A8*&fields=title,comment`, 3);
    const selected = expected.filter((e) => String(e.title).includes('\u2028'));
    expect(selected).toHaveLength(3);
    expect(got.map((e) => e.data)).toEqual(selected.map((e) => ({ title: e.title, comment: e.comment, meta: { topic, partition: 0, offset: (e.meta as Event).offset } })));
  });
});

describe('the bytes served', () => {
  it('carry the separators escaped in SSE, NDJSON and gzip bodies alike, and nowhere raw', async () => {
    const done = (text: string) => dataLines(text).length >= produced.length;
    const sse = await rawBody(`/v2/stream/plain,sanitized?since=${since}`, {}, (t) => dataLines(t).length >= 2 * produced.length);
    const gzip = await rawBody(`/v2/stream/plain?since=${since}`, { 'accept-encoding': 'gzip' }, done);
    const ndjson = await rawBody(`/v2/stream/plain?since=${since}`, { accept: 'application/json' }, (t) => t.split('\n').filter((l) => l.startsWith('{')).length >= produced.length);
    expect(gzip.encoding).toBe('gzip');
    for (const body of [sse, gzip, ndjson]) expect(SEPARATORS.test(body.text)).toBe(false);
    expect(sse.text).toContain('Title Line\\u2028Separator');
    expect(sse.text).toContain('Comment ends\\u0085');
    const lines = ndjson.text.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.map((l) => JSON.parse(l) as Event)).toEqual(expected);
    expect(dataLines(gzip.text).map((l) => JSON.parse(l) as Event)).toEqual(expected);
    // Python's own line splitting finds one line per event.
    expect(lines.join('\n').split(/\r\n|[\n\r\v\f\x1c-\x1e\u0085\u2028\u2029]/)).toHaveLength(produced.length);
  });
});
