// An incremental text/event-stream parser (WHATWG rules), for reading the stream with fetch:
// unlike EventSource it sees comments (heartbeats) and lets the page send Last-Event-ID itself.

/**
 * @typedef {{ event: string, data: string, id: string | undefined, retry: number | undefined }} SseEvent
 * event `none`: a block without data (an id-only position block, or retry advice), which moves the
 * last event id like EventSource does but dispatches nothing.
 */
/** @typedef {{ onEvent(e: SseEvent): void, onComment(text: string): void }} SseHandlers */

export class SseParser {
  #buffer = '';
  /** @type {string[]} */
  #data = [];
  #event = '';
  /** @type {string | undefined} */
  #id;
  /** @type {number | undefined} */
  #retry;
  /** The current block set id or retry (a bare blank line after a comment is not a block). */
  #fields = false;
  #handlers;

  constructor(/** @type {SseHandlers} */ handlers) {
    this.#handlers = handlers;
  }

  /** Feeds decoded text; complete lines are handled now, a partial line waits for the next chunk. */
  push(/** @type {string} */ chunk) {
    this.#buffer += chunk;
    let start = 0;
    for (;;) {
      const nl = this.#buffer.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && this.#buffer[nl - 1] === '\r' ? nl - 1 : nl;
      this.#line(this.#buffer.slice(start, end));
      start = nl + 1;
    }
    this.#buffer = this.#buffer.slice(start);
  }

  #line(/** @type {string} */ line) {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return this.#handlers.onComment(line.slice(1));
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) {
      this.#id = value;
      this.#fields = true;
    } else if (field === 'retry' && /^\d+$/.test(value)) {
      this.#retry = Number(value);
      this.#fields = true;
    }
  }

  #dispatch() {
    const retry = this.#retry;
    const fields = this.#fields;
    this.#retry = undefined;
    this.#fields = false;
    if (this.#data.length === 0) {
      if (fields) this.#handlers.onEvent({ event: 'none', data: '', id: this.#id, retry });
      this.#event = '';
      return;
    }
    const event = { event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id, retry };
    this.#data = [];
    this.#event = '';
    this.#handlers.onEvent(event);
  }
}
