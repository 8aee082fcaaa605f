// One live stream read with fetch (not EventSource): it can send a first Last-Event-ID, read the
// problem body of a refused request, and see heartbeat comments. It reconnects like EventSource,
// resuming with the last id received and honouring `retry:` advice.
import { SseParser } from './sse-parser.js';

/** @typedef {'connecting' | 'open' | 'reconnecting' | 'stopped' | 'failed'} ConnState */
/** @typedef {{ status: number, type?: string, title?: string, detail?: string, valid_fields?: (string | { path: string, type: string })[], available_streams?: string[] }} Problem */
/**
 * @typedef {object} ConnectionHandlers
 * @property {(data: string, id: string | undefined) => void} onMessage
 * @property {(event: string, data: string) => void} onControl `notice` and `error` blocks
 * @property {(state: ConnState, reason: string) => void} onState
 * @property {(problem: Problem) => void} onProblem the server refused the request for good
 * @property {() => void} onActivity any bytes: events or heartbeats
 * @property {() => void} onIdle a heartbeat or an id-only block: the server had nothing to send
 */

const MAX_BACKOFF_MS = 30_000;
const FIRST_BACKOFF_MS = 1000;

export class StreamConnection {
  #url;
  /** @type {string | undefined} */
  #lastEventId;
  #handlers;
  /** @type {AbortController | undefined} */
  #abort;
  #stopped = false;
  /** @type {number | undefined} */
  #retryMs;
  reconnects = 0;

  /**
   * @param {string} url
   * @param {string | undefined} lastEventId sent on the first request when set
   * @param {ConnectionHandlers} handlers
   */
  constructor(url, lastEventId, handlers) {
    this.#url = url;
    this.#lastEventId = lastEventId;
    this.#handlers = handlers;
  }

  get url() {
    return this.#url;
  }

  /** The position to resume from: the id of the last event received (or the starting one). */
  get lastEventId() {
    return this.#lastEventId;
  }

  start() {
    void this.#run();
  }

  stop() {
    this.#stopped = true;
    this.#abort?.abort();
    this.#handlers.onState('stopped', '');
  }

  async #run() {
    let failures = 0;
    this.#handlers.onState('connecting', '');
    while (!this.#stopped) {
      let opened = false;
      const reason = await this.#once(() => (opened = true)).catch(
        (/** @type {unknown} */ error) => `Cannot reach the server (${error instanceof Error ? error.message : String(error)})`,
      );
      if (this.#stopped || reason === undefined) return;
      // Back off only while attempts keep failing; a stream that ran reconnects after the first step.
      failures = opened ? 1 : failures + 1;
      this.reconnects++;
      const delay = this.#retryMs ?? Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (failures - 1));
      this.#handlers.onState('reconnecting', `${reason}; retrying in ${Math.max(1, Math.round(delay / 1000))} s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * One request. Resolves with why it ended when it should be retried, undefined when it must not be.
   * @param {() => void} onOpen called once the stream's response arrived
   * @returns {Promise<string | undefined>}
   */
  async #once(onOpen) {
    this.#abort = new AbortController();
    /** @type {Record<string, string>} */
    // problem+json: refusals come as a 503 problem this reads, not as a stream that only says `retry:`.
    const headers = { accept: 'text/event-stream, application/problem+json' };
    if (this.#lastEventId !== undefined) headers['last-event-id'] = this.#lastEventId;
    const response = await fetch(this.#url, { headers, signal: this.#abort.signal, cache: 'no-store' });
    if (!response.ok || !response.body) {
      const problem = await readProblem(response);
      const retryAfter = Number(response.headers.get('retry-after'));
      if (response.status >= 500 || response.status === 429) {
        if (retryAfter > 0) this.#retryMs = retryAfter * 1000;
        return `HTTP ${response.status}: ${problem.detail ?? problem.title ?? response.statusText}`;
      }
      this.#handlers.onProblem(problem);
      this.#handlers.onState('failed', problem.detail ?? `HTTP ${response.status}`);
      return undefined;
    }
    this.#retryMs = undefined;
    onOpen();
    this.#handlers.onState('open', '');
    const parser = new SseParser({
      // `:ok` opens the stream; empty comments are heartbeats, written only on silence.
      onComment: (text) => {
        if (text === '' && !this.#stopped) this.#handlers.onIdle();
      },
      onEvent: (e) => {
        // The rest of a chunk read before stop() is dropped, so a stopped view stays as it was.
        if (this.#stopped) return;
        if (e.retry !== undefined) this.#retryMs = e.retry;
        // Id-only blocks of a filtered stream move the position past events that did not match.
        if (e.id !== undefined) this.#lastEventId = e.id;
        if (e.event === 'message') this.#handlers.onMessage(e.data, e.id);
        else if (e.event !== 'none') this.#handlers.onControl(e.event, e.data);
        else if (e.retry === undefined) this.#handlers.onIdle();
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.#handlers.onActivity();
        parser.push(value);
      }
    } catch (error) {
      if (this.#stopped) return undefined;
      return `The connection broke (${error instanceof Error ? error.message : String(error)})`;
    }
    return this.#stopped ? undefined : 'The server ended the stream';
  }
}

/** The problem+json body of a refused request, or what can be said without one. */
async function readProblem(/** @type {Response} */ response) {
  /** @type {Problem} */
  const problem = { status: response.status };
  try {
    Object.assign(problem, await response.json(), { status: response.status });
  } catch {
    problem.detail = `HTTP ${response.status} ${response.statusText}`;
  }
  return problem;
}
