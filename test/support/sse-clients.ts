/** The real reconnecting clients users run, driven by tests: npm `eventsource` and python `requests-sse`. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';

export interface EventMeta {
  topic: string;
  partition: number;
  offset: number;
}

export interface ReconnectingClient {
  /** `meta` of every message event received, in order. */
  metas(): EventMeta[];
  /** Every answered connection attempt: the Last-Event-ID it sent (null: none) and the status. */
  attempts(): { lastEventId: string | null; status: number }[];
  /** True once the client gave up for good (it will not reconnect). */
  gaveUp(): boolean;
  close(): void;
}

/** npm `eventsource`, which reconnects by itself with `Last-Event-ID`. */
export function startEventSource(url: string): ReconnectingClient {
  const metas: EventMeta[] = [];
  const attempts: { lastEventId: string | null; status: number }[] = [];
  const es = new EventSource(url, {
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      attempts.push({ lastEventId: new Headers(init?.headers).get('last-event-id'), status: response.status });
      return response;
    },
  });
  es.addEventListener('message', (e) => metas.push((JSON.parse(e.data) as { meta: EventMeta }).meta));
  return {
    metas: () => metas,
    attempts: () => attempts,
    gaveUp: () => es.readyState === EventSource.CLOSED,
    close: () => es.close(),
  };
}

/** python `requests-sse` (what pywikibot's EventStreams is built on), via test/support/requests_sse_client.py. */
export function startRequestsSse(url: string, count = 0): ReconnectingClient {
  const script = fileURLToPath(new URL('requests_sse_client.py', import.meta.url));
  // scripts/provision.sh installs requests-sse there.
  const pythonPath = [fileURLToPath(new URL('../../.tools/python', import.meta.url)), process.env.PYTHONPATH].filter(Boolean).join(':');
  const child = spawn('python3', [script, url, String(count)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PYTHONPATH: pythonPath } });
  const lines: Record<string, unknown>[] = [];
  let exited = false;
  child.once('exit', () => (exited = true));
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return {
    metas: () => lines.filter((l) => 'meta' in l).map((l) => l.meta as EventMeta),
    attempts: () => lines.filter((l) => 'connect' in l).map((l) => ({ lastEventId: l.connect as string | null, status: Number(l.status) })),
    gaveUp: () => exited && (count === 0 || lines.filter((l) => 'meta' in l).length < count),
    close: () => child.kill(),
  };
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
