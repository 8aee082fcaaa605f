/**
 * docs/clients.md cannot rot: every code block in it that is not a `text` sample is marked
 * `<!-- snippet: NAME -->`, and runs here as a reader would run it (sh, node, python from
 * .tools/python, Chromium) against the real service and Kafka. The docs' address and topic are
 * replaced by a stream and topic of the snippet's own, and what it prints is checked: the events
 * it must show, those its filter must not, and, for the bots, that a restart goes on exactly where
 * the last run stopped.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.ts';
import { launchBrowser, type Browser } from '../support/browser.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { codeBlocks, type CodeBlock } from '../support/markdown-snippets.ts';
import { metric } from '../support/metrics.ts';
import { runProgram, type Program } from '../support/program.ts';
import { startTestService, type TestStream } from '../support/service.ts';

const PAGE = readFileSync(new URL('../../docs/clients.md', import.meta.url), 'utf8');
const DOCS_STREAM_URL = 'http://localhost:8092/v2/stream/recentchange';
const DOCS_TOPIC = 'eqiad.mediawiki.recentchange';
const SCHEMAS = fileURLToPath(new URL('../../config/schemas', import.meta.url));
// Inside the repository, so a Node snippet's `import 'eventsource'` finds node_modules.
const OUTPUT = fileURLToPath(new URL('../../test-output/docs-snippets/', import.meta.url));
const PYTHONPATH = [fileURLToPath(new URL('../../.tools/python', import.meta.url)), process.env.PYTHONPATH].filter(Boolean).join(':');

const blocks = codeBlocks(PAGE);
const snippets = blocks.filter((b): b is CodeBlock & { name: string } => b.name !== undefined);

/** One snippet's run: its own stream and topic, a directory to run in, the service's address. */
interface Run {
  name: string;
  stream: string;
  topic: string;
  dir: string;
  /** The snippet's code with the docs' address and topic replaced by this run's. */
  code: string;
  /** Starts the snippet as the docs say to run it (again: a restart in the same directory). */
  start(): Program;
  produce(events: Record<string, unknown>[], timestamp?: (i: number) => number): Promise<void>;
  /** Resolves once `n` streams of this run's stream are open. */
  connected(n?: number): Promise<void>;
}

let service: RunningService;
let browser: Browser | undefined;
const topics = new Map<string, string>();

beforeAll(async () => {
  const streams: Record<string, TestStream> = {};
  for (const { name } of snippets) {
    const topic = await uniqueTopic(`docs.${name}`);
    topics.set(name, topic);
    streams[`docs-${name}`] = { topics: [topic], schema_title: 'mediawiki/recentchange' };
  }
  service = await startTestService(streams, { heartbeat_interval: 500, schema_base_uris: [SCHEMAS] });
  await rm(OUTPUT, { recursive: true, force: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

/** A recentchange event (real otherwise) with this title, on enwiki by a human unless `extra` says otherwise. */
const change = (title: string, extra: Record<string, unknown> = {}) => rcEvent(title.length, { title, wiki: 'enwiki', bot: false, ...extra });
/** The titles a bot printed: as lines of their own, or inside the JSON lines it printed. */
const printed = (p: Program) => p.stdout().split('\n').flatMap((l) => (l.startsWith('docs-') ? [l] : l.startsWith('{') ? titles(l) : []));
/** The titles in raw SSE or NDJSON output, in order. */
const titles = (text: string) => [...text.matchAll(/"title":"(docs-[^"]*)"/g)].map((m) => m[1] ?? '');

async function prepare(block: CodeBlock & { name: string }, settings: { url?: string } = {}): Promise<Run> {
  const stream = `docs-${block.name}`;
  const topic = topics.get(block.name) ?? '';
  const url = settings.url ?? service.url;
  const code = block.code.replaceAll(DOCS_STREAM_URL, `${url}/v2/stream/${stream}`).replaceAll(DOCS_TOPIC, topic);
  expect(code, `${block.name} uses the docs' address`).toContain(url);
  const dir = `${OUTPUT}${block.name}/`;
  await mkdir(dir, { recursive: true });
  const file = { sh: 'snippet.sh', js: 'snippet.mjs', python: 'snippet.py' }[block.lang];
  if (file !== undefined) await writeFile(dir + file, code);
  const start = (): Program => {
    if (block.lang === 'sh') return runProgram('sh', [file ?? ''], { cwd: dir });
    if (block.lang === 'js') return runProgram(process.execPath, [file ?? ''], { cwd: dir });
    if (block.lang === 'python') return runProgram('python3', ['-u', file ?? ''], { cwd: dir, env: { PYTHONPATH, PYWIKIBOT_NO_USER_CONFIG: '1', PYWIKIBOT_DIR: dir } });
    throw new Error(`no runner for ${block.lang}`);
  };
  return {
    name: block.name,
    stream,
    topic,
    dir,
    code,
    start,
    produce: async (events, timestamp) => void (await produceJson(testBrokers(), topic, events.map((value, i) => ({ value, ...(timestamp ? { timestamp: timestamp(i) } : {}) })))),
    connected: async (n = 1) => {
      const deadline = Date.now() + 30_000;
      while ((await metric(service.url, 'eventstreams_connected_clients', { stream })) < n) {
        if (Date.now() > deadline) throw new Error(`${block.name}: no stream opened`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

/**
 * A bot that stores its position: it prints what it is sent, is stopped, misses what is produced
 * meanwhile, and run again prints exactly that, then goes on live. Returns the second run's lines.
 */
async function restartsExactly(run: Run, extraFirst: Record<string, unknown>[] = []): Promise<void> {
  const first = run.start();
  await run.connected();
  await run.produce([change('docs-0'), ...extraFirst, change('docs-1'), change('docs-2')]);
  await first.until((p) => printed(p).length >= 3, 'the first run to print 3 events');
  // Each bot stores the id after it printed the event: stopped in between, it would rightly print
  // that event again. Stop it once its stored id has settled.
  await settled(`${run.dir}last-id`);
  await first.stop();
  expect(printed(first)).toEqual(['docs-0', 'docs-1', 'docs-2']);
  await run.produce([change('docs-3'), change('docs-4')]);
  const second = run.start();
  await second.until((p) => printed(p).length >= 2, 'the restarted bot to print what it missed');
  await run.produce([change('docs-5')]);
  await second.until((p) => printed(p).length >= 3, 'the restarted bot to go on live');
  await second.stop();
  expect(printed(second)).toEqual(['docs-3', 'docs-4', 'docs-5']);
}

/** Resolves once `file` exists and has not changed for 200 ms (the bot wrote its last id). */
async function settled(file: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last: string | undefined;
  for (;;) {
    const now = await readFile(file, 'utf8').catch(() => undefined);
    if (now !== undefined && now !== '' && now === last) return;
    if (Date.now() > deadline) throw new Error(`${file}: no stored id`);
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Makes the stored id name a partition the topic does not have: the bot's notice handler must say so. */
async function showsNotice(run: Run, stderrOrStdout: (p: Program) => string): Promise<void> {
  const stored = JSON.parse(await readFile(`${run.dir}last-id`, 'utf8')) as unknown[];
  await writeFile(`${run.dir}last-id`, JSON.stringify([...stored, { topic: run.topic, partition: 7, offset: 0 }]));
  const third = run.start();
  await third.until((p) => stderrOrStdout(p).includes('notice:'), 'the notice to be printed');
  await third.stop();
  expect(stderrOrStdout(third)).toMatch(/notice: .*(no such partition|could not be honoured)/);
}

const SCENARIOS: Record<string, (run: Run) => Promise<void>> = {
  'curl-follow': async (run) => {
    const curl = run.start();
    await run.connected();
    await run.produce([change('docs-0'), change('docs-1', { wiki: 'dewiki' })]);
    await curl.until((p) => titles(p.stdout()).length >= 2, 'two events');
    await curl.stop();
    expect(curl.stdout()).toMatch(/^:ok\n/);
    expect(curl.stdout()).toMatch(/\nevent: message\nid: \[\{"topic":"[^"]+","partition":0,[^\n]+\ndata: \{/);
    expect(titles(curl.stdout())).toEqual(['docs-0', 'docs-1']);
  },

  'curl-filter': async (run) => {
    const curl = run.start();
    await run.connected();
    await run.produce([change('docs-0'), change('docs-bot', { bot: true }), change('docs-de', { wiki: 'dewiki' }), change('docs-1')]);
    await curl.until((p) => titles(p.stdout()).includes('docs-1'), 'the second matching event');
    await curl.stop();
    const data = curl.stdout().split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
    expect(data.map((d) => d.title)).toEqual(['docs-0', 'docs-1']);
    for (const d of data) expect(Object.keys(d).sort()).toEqual(['meta', 'title', 'user']);
  },

  'curl-since': async (run) => {
    const now = Date.now();
    await run.produce([change('docs-old')], () => now - 60 * 60_000);
    await run.produce([change('docs-0'), change('docs-1')], () => now - 2 * 60_000);
    const curl = run.start();
    await curl.until((p) => titles(p.stdout()).length >= 2, 'the events of the last 10 minutes');
    await run.produce([change('docs-live')]);
    await curl.until((p) => titles(p.stdout()).includes('docs-live'), 'then live events');
    await curl.stop();
    expect(titles(curl.stdout())).toEqual(['docs-0', 'docs-1', 'docs-live']);
  },

  'curl-resume': async (run) => {
    await restartsExactly(run);
    const id = JSON.parse(await readFile(`${run.dir}last-id`, 'utf8')) as { topic: string }[];
    expect(id[0]?.topic).toBe(run.topic);
  },

  'curl-ndjson': async (run) => {
    const curl = run.start();
    await run.connected();
    await run.produce([change('docs-0'), change('docs-de', { wiki: 'dewiki' }), change('docs-1')]);
    await curl.until((p) => titles(p.stdout()).includes('docs-1'), 'the second enwiki event');
    await curl.stop();
    const lines = curl.stdout().split('\n').filter((l) => l !== '');
    expect(lines.map((l) => (JSON.parse(l) as { title: string }).title)).toEqual(['docs-0', 'docs-1']);
  },

  'curl-offsets': async (run) => {
    await run.produce([change('docs-0'), change('docs-1'), change('docs-2')]);
    const curl = run.start();
    await curl.until((p) => titles(p.stdout()).length >= 3, 'the partition from its start');
    await curl.stop();
    const events = curl.stdout().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { title: string; meta: { offset: number } });
    expect(events.map((e) => [e.title, e.meta.offset])).toEqual([['docs-0', 0], ['docs-1', 1], ['docs-2', 2]]);
  },

  'browser-eventsource': async (run) => {
    browser ??= await launchBrowser();
    const page = await browser.context.newPage();
    const logged: string[] = [];
    page.on('console', (message) => logged.push(message.text()));
    await page.goto(`${service.url}/robots.txt`);
    await page.evaluate(run.code);
    await run.connected();
    await run.produce([change('docs-0'), change('docs-de', { wiki: 'dewiki' }), change('docs-1')]);
    const deadline = Date.now() + 20_000;
    while (!logged.includes('docs-1') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await page.close();
    expect(logged.filter((l) => l.startsWith('docs-'))).toEqual(['docs-0', 'docs-1']);
  },

  'node-eventsource': async (run) => {
    await restartsExactly(run, [change('docs-de', { wiki: 'dewiki' })]);
    await showsNotice(run, (p) => p.stderr());
  },

  'python-requests-sse': async (run) => {
    await restartsExactly(run, [change('docs-de', { wiki: 'dewiki' })]);
    await showsNotice(run, (p) => p.stdout());
  },

  'python-sseclient': async (run) => {
    await restartsExactly(run, [change('docs-de', { wiki: 'dewiki' })]);
  },

  'python-pywikibot': async (run) => {
    // `since` is the event's Kafka time: the events carry it as meta.dt, as MediaWiki's do.
    let clock = Date.now() - 60_000;
    const timed = (title: string, extra: Record<string, unknown> = {}) => {
      clock += 1000;
      return { value: change(title, { ...extra, meta: { ...(change(title).meta as object), dt: new Date(clock).toISOString() } }), timestamp: clock };
    };
    const produce = async (events: { value: Record<string, unknown>; timestamp: number }[]) => void (await produceJson(testBrokers(), run.topic, events));
    const first = run.start();
    await run.connected();
    await produce([timed('docs-0'), timed('docs-bot', { bot: true }), timed('docs-1'), timed('docs-2')]);
    await first.until((p) => printed(p).length >= 3, 'the first run to print 3 events');
    await first.stop();
    expect(printed(first)).toEqual(['docs-0', 'docs-1', 'docs-2']);
    await produce([timed('docs-3'), timed('docs-4')]);
    const second = run.start();
    await second.until((p) => printed(p).includes('docs-4'), 'the restarted bot to print what it missed');
    await second.stop();
    // From the last event's time: that event again (the docs say so), then none lost.
    expect(printed(second)).toEqual(['docs-2', 'docs-3', 'docs-4']);
  },

  'curl-notice': async (run) => {
    const curl = run.start();
    await curl.until((p) => p.stdout().includes('event: notice'), 'the notice');
    await curl.stop();
    const data = curl.stdout().split('event: notice\n')[1]?.split('\n').find((l) => l.startsWith('data: ')) ?? '';
    const notice = JSON.parse(data.slice(6)) as { type: string; positions: { partition: number; reason: string }[] };
    expect(notice.type).toBe('position');
    expect(notice.positions).toContainEqual(expect.objectContaining({ partition: 7, reason: 'unknown_partition' }));
  },

  'curl-429': async () => {
    // A service allowing one stream per client, which a first stream holds.
    const block = snippets.find((s) => s.name === 'curl-429');
    if (block === undefined) throw new Error('no curl-429 snippet');
    const limited = await startTestService({ 'docs-curl-429': { topics: [topics.get('curl-429') ?? ''] } }, { client_ip_connection_limit: 1, heartbeat_interval: 500 });
    try {
      const run = await prepare(block, { url: limited.url });
      const holder = new AbortController();
      const held = await fetch(`${limited.url}/v2/stream/${run.stream}`, { signal: holder.signal });
      expect(held.status).toBe(200);
      const curl = run.start();
      await curl.exited;
      holder.abort();
      expect(curl.stdout()).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r?\n/);
      expect(curl.stdout()).toMatch(/\nretry-after: \d+\r?\n/i);
      expect(curl.stdout()).toContain('"type":"too_many_connections"');
    } finally {
      await limited.stop();
    }
  },
};

describe('docs/clients.md', () => {
  it('marks every code block but `text` samples as a snippet, each with a check here', () => {
    for (const block of blocks) if (block.name === undefined) expect(block.lang, `unmarked block at line ${block.line}`).toBe('text');
    expect(snippets.map((s) => s.name).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });

  for (const block of snippets) {
    it(`runs the ${block.name} snippet (${block.lang})`, { timeout: 120_000 }, async () => {
      const scenario = SCENARIOS[block.name];
      if (scenario === undefined) throw new Error(`no check for snippet ${block.name}`);
      await scenario(await prepare(block));
    });
  }
});
