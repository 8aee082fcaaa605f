/**
 * Fuzz: thousands of generated hostile requests (test/support/hostile-requests.ts) against the real
 * service and broker. Every answer is below 500, every refusal a problem body, every 200 a stream,
 * nothing is logged as an error; only GETs open streams (HEAD and other methods never do, counted at
 * the service's session registry); afterwards no stream is left open, the heap is back at its
 * baseline and flat over a second batch, and a normal client is served. HOSTILE_SEED=<n> repeats a
 * run (the seed is printed); RECORD_RESULTS=1 writes the figures to bench/results/hostile-input.*.
 */
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineInfo, table, writeResults } from '../../bench/lib/report.ts';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { hostileRequest, type FuzzCatalogue, type HostileRequest } from '../support/hostile-requests.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { metric } from '../support/metrics.ts';
import { getRequest, rawRequest, type RawResponse } from '../support/raw-http.ts';
import { startTestService } from '../support/service.ts';
import { openRaw } from '../support/sse.ts';
import { gc } from '../support/gc.ts';

const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
const SEED = Number(process.env.HOSTILE_SEED ?? randomInt(2 ** 31));
const FIRST_BATCH = 10_000;
const SECOND_BATCH = 10_000;
const CONCURRENCY = 16;
/** Heap growth over the second batch that counts as a leak: 10,000 requests retaining 400 bytes each. */
const MAX_HEAP_GROWTH = 4 * 1024 * 1024;

let service: RunningService;
let catalogue: FuzzCatalogue;
let rcTopic: string;
/** Stream sessions the service opened, counted at its registry (whatever the responses looked like). */
let sessionsOpened = 0;
/** What the service logs at level error or above: nothing, if no request made it fail inside. */
const errorLines: string[] = [];

beforeAll(async () => {
  const [eqiad, codfw, pageCreate, other, allowedOnly] = await Promise.all([
    uniqueTopic('eqiad.fuzz.rc', 2),
    uniqueTopic('codfw.fuzz.rc', 2),
    uniqueTopic('eqiad.fuzz.pc', 1),
    uniqueTopic('fuzz.other', 1),
    uniqueTopic('eqiad.fuzz.allowed', 1),
  ]);
  rcTopic = eqiad;
  for (const topic of [eqiad, codfw, pageCreate, other, allowedOnly]) {
    await produceJson(testBrokers(), topic, Array.from({ length: 6 }, (_, i) => ({ partition: i % (topic === eqiad || topic === codfw ? 2 : 1), value: rcEvent(i) })));
  }
  service = await startTestService(
    {
      'mediawiki.recentchange': { topics: [eqiad, codfw], topics_allowed: [allowedOnly], stream_aliases: ['recentchange', 'rc'], schema_title: 'mediawiki/recentchange' },
      'mediawiki.page-create': { topics: [pageCreate], stream_aliases: ['page-create'] },
      'test.other': { topics: [other], stream_aliases: ['other', 'ünïcode'] },
    },
    { schema_base_uris: [SCHEMAS], heartbeat_interval: 0 },
    pino({ level: 'error' }, { write: (line: string) => void errorLines.push(line) }),
  );
  catalogue = {
    names: ['mediawiki.recentchange', 'recentchange', 'rc', 'mediawiki.page-create', 'page-create', 'test.other', 'other', encodeURIComponent('ünïcode')],
    topics: [eqiad, codfw, pageCreate, other, allowedOnly],
    fields: ['wiki', 'namespace', 'bot', 'title', 'type', 'user', 'meta.domain', 'meta.dt', 'meta.topic', 'meta.partition', 'meta.offset', 'length.new', 'revision.old', 'log_params', 'log_type', 'minor'],
  };
  const registry = service.sessions;
  const add = registry.add.bind(registry);
  registry.add = (session) => {
    sessionsOpened++;
    add(session);
  };
  process.stdout.write(`hostile-input: seed ${SEED} (HOSTILE_SEED=${SEED} repeats this run)\n`);
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

/** What is wrong with the answer to `request`, if anything. */
function problemWith(request: HostileRequest, response: RawResponse): string | undefined {
  const { status, headers, body } = response;
  if (!(status >= 100 && status < 500)) return `status ${status}`;
  if (status >= 400) {
    if (!(headers['content-type'] ?? '').startsWith('application/problem+json')) return `${status} with content-type ${headers['content-type']}`;
    if (request.method === 'HEAD') return undefined;
    let problem: unknown;
    try {
      problem = JSON.parse(body);
    } catch {
      return `${status} with a body that is not JSON: ${body.slice(0, 200)}`;
    }
    const { type, detail } = (problem ?? {}) as { type?: unknown; detail?: unknown };
    if (typeof type !== 'string' || typeof detail !== 'string') return `${status} problem without type/detail: ${body.slice(0, 200)}`;
  }
  // A HEAD answer has the stream's head and no body.
  const streaming = /^(text\/event-stream|application\/json)/.test(headers['content-type'] ?? '') && (request.method === 'HEAD' || headers['transfer-encoding'] === 'chunked');
  if (status === 200 && request.raw.slice(request.method.length + 1).startsWith('/v2/stream/') && !streaming) return `200 that is not a stream: ${headers['content-type']}`;
  return undefined;
}

interface Batch {
  requests: number;
  statuses: Record<string, number>;
  /** 200 streams answered, per method (only GET may open one). */
  streams: Record<string, number>;
  /** Sessions the service opened, from its own counter: equal to the GET streams, or something opened unseen. */
  sessionsOpened: number;
  failures: string[];
  ms: number;
}

async function runBatch(from: number, count: number): Promise<Batch> {
  const batch: Batch = { requests: count, statuses: {}, streams: {}, sessionsOpened: 0, failures: [], ms: 0 };
  const openedBefore = sessionsOpened;
  const started = performance.now();
  let next = from;
  const worker = async () => {
    while (next < from + count) {
      const index = next++;
      const request = hostileRequest(SEED, index, catalogue);
      const failure = await rawRequest(service.url, request.raw).then(
        (response) => {
          batch.statuses[response.status] = (batch.statuses[response.status] ?? 0) + 1;
          if (response.status === 200 && response.headers['transfer-encoding'] === 'chunked') batch.streams[request.method] = (batch.streams[request.method] ?? 0) + 1;
          return problemWith(request, response);
        },
        (error: unknown) => `no answer: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (failure !== undefined && batch.failures.length < 20) batch.failures.push(`#${index} (${request.kind}): ${failure}\n  ${request.raw.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  batch.ms = Math.round(performance.now() - started);
  await expect.poll(() => service.sessions.size, { timeout: 20_000 }).toBe(0);
  batch.sessionsOpened = sessionsOpened - openedBefore;
  return batch;
}

/** heapUsed once every stream of the batch has ended and garbage is collected. */
async function settledHeap(): Promise<number> {
  await expect.poll(() => service.sessions.size, { timeout: 20_000 }).toBe(0);
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

describe(`hostile input (seed ${SEED})`, () => {
  it(`${FIRST_BATCH.toLocaleString('en-US')} generated requests: never a 5xx, refusals are problems, no leak over ${SECOND_BATCH.toLocaleString('en-US')} more`, async () => {
    const heapStart = await settledHeap();
    const first = await runBatch(0, FIRST_BATCH);
    expect(first.failures).toEqual([]);
    const heapAfterFirst = await settledHeap();
    const second = await runBatch(FIRST_BATCH, SECOND_BATCH);
    expect(second.failures).toEqual([]);
    const heapAfterSecond = await settledHeap();
    expect(await metric(service.url, 'eventstreams_connected_clients', { stream: 'mediawiki.recentchange' })).toBe(0);
    expect(errorLines).toEqual([]);

    const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100;
    const statuses: Record<string, number> = {};
    const streamsByMethod: Record<string, number> = {};
    for (const batch of [first, second]) {
      for (const [status, n] of Object.entries(batch.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
      for (const [method, n] of Object.entries(batch.streams)) streamsByMethod[method] = (streamsByMethod[method] ?? 0) + n;
    }
    const figures = {
      seed: SEED,
      requests: FIRST_BATCH + SECOND_BATCH,
      concurrency: CONCURRENCY,
      statuses,
      streamsOpened: streamsByMethod,
      sessionsOpened: first.sessionsOpened + second.sessionsOpened,
      durationMs: { first: first.ms, second: second.ms },
      heapUsedMiB: {
        start: mib(heapStart),
        afterFirst: mib(heapAfterFirst),
        afterSecond: mib(heapAfterSecond),
        growthOverSecond: mib(heapAfterSecond - heapAfterFirst),
        growthFromStart: mib(heapAfterSecond - heapStart),
      },
      maxHeapGrowthMiB: mib(MAX_HEAP_GROWTH),
    };
    process.stdout.write(`hostile-input: ${JSON.stringify(figures)}\n`);
    if (process.env.RECORD_RESULTS === '1') {
      writeResults('hostile-input', { machine: machineInfo(), ...figures }, hostileMarkdown(figures));
    }
    // Only GETs stream, and every session the service opened was one of them (a HEAD opens none).
    expect(Object.keys(streamsByMethod).filter((m) => m !== 'GET')).toEqual([]);
    expect(first.sessionsOpened + second.sessionsOpened).toBe(streamsByMethod['GET'] ?? 0);
    // What 20,000 requests leave behind, most of them refused: back at the baseline, not just flat.
    expect(heapAfterSecond - heapStart).toBeLessThan(MAX_HEAP_GROWTH);
    expect(heapAfterSecond - heapAfterFirst).toBeLessThan(MAX_HEAP_GROWTH);
  }, 600_000);

  it('afterwards serves a normal client its events', async () => {
    const stream = await openRaw(`${service.url}/v2/stream/recentchange`);
    expect(stream.status).toBe(200);
    await stream.until((s) => s.text().startsWith(':ok'));
    await produceJson(testBrokers(), rcTopic, [{ value: rcEvent(42, { after_fuzz: true }) }]);
    await stream.until((s) => s.messages().some((m) => m.data['after_fuzz'] === true));
    stream.close();
  });
});

describe('requests the fuzz found answered wrongly, fixed', () => {
  it('a schema path with a NUL: 400 problem, not a 500 from the file system', async () => {
    const response = await rawRequest(service.url, getRequest('/v2/schema/a%00b/latest'));
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ type: 'bad_request' });
  });

  it('fields=__proto__.polluted streams and leaves Object.prototype alone (the service runs in this process)', async () => {
    const stream = await openRaw(`${service.url}/v2/stream/other?fields=__proto__.polluted,constructor.prototype`);
    expect(stream.status).toBe(200);
    await stream.until((s) => s.text().startsWith(':ok'));
    stream.close();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('an OPTIONS that is not a CORS preflight gets the CORS answer, not a plain-text 400', async () => {
    const response = await rawRequest(service.url, getRequest('/v2/stream/recentchange').replace(/^GET/, 'OPTIONS'));
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });
});

function hostileMarkdown(f: {
  seed: number;
  requests: number;
  concurrency: number;
  statuses: Record<string, number>;
  streamsOpened: Record<string, number>;
  sessionsOpened: number;
  durationMs: { first: number; second: number };
  heapUsedMiB: { start: number; afterFirst: number; afterSecond: number; growthOverSecond: number; growthFromStart: number };
  maxHeapGrowthMiB: number;
}): string {
  return [
    '# hostile-input',
    '',
    `\`test/integration/hostile-input.test.ts\` (seed ${f.seed}): ${f.requests.toLocaleString('en-US')} generated requests (${FIRST_BATCH.toLocaleString('en-US')} + ${SECOND_BATCH.toLocaleString('en-US')}), ${f.concurrency} at a time, over raw sockets against the in-process service and the test Kafka. Service and test share one process, so the heap figures include the test's own.`,
    '',
    table(['status', 'responses'], Object.entries(f.statuses).map(([status, n]) => [status, n])),
    '',
    table(
      ['streams answered (by method)', 'sessions opened', 'first batch s', 'second batch s', 'heap start MiB', 'after first MiB', 'after second MiB', 'growth over second MiB', 'growth from start MiB', 'limit MiB'],
      [
        [
          Object.entries(f.streamsOpened).map(([method, n]) => `${method} ${n}`).join(', '),
          f.sessionsOpened,
          f.durationMs.first / 1000,
          f.durationMs.second / 1000,
          f.heapUsedMiB.start,
          f.heapUsedMiB.afterFirst,
          f.heapUsedMiB.afterSecond,
          f.heapUsedMiB.growthOverSecond,
          f.heapUsedMiB.growthFromStart,
          f.maxHeapGrowthMiB,
        ],
      ],
    ),
  ].join('\n');
}
