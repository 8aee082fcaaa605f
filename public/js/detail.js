// The selected event: pretty JSON, a link to its schema, and its resume position (the SSE id a
// client sends back as Last-Event-ID to continue right after it).
import { byId } from './dom.js';

/** @typedef {import('./event-store.js').Received} Received */

export class DetailPanel {
  #empty = byId('detail-empty');
  #body = byId('detail-body');
  #json = byId('detail-json');
  #id = byId('detail-id');
  #schema = /** @type {HTMLAnchorElement} */ (byId('detail-schema'));
  /** @type {Received | undefined} */
  shown;

  show(/** @type {Received} */ event) {
    this.shown = event;
    this.#empty.hidden = true;
    this.#body.hidden = false;
    this.#json.textContent = JSON.stringify(event.data, null, 2);
    this.#id.textContent = event.id ?? '(this event carried no id)';
    const schema = typeof event.data?.$schema === 'string' && event.data.$schema.startsWith('/') ? event.data.$schema : undefined;
    this.#schema.hidden = schema === undefined;
    if (schema !== undefined) {
      // `$schema` is a path like /mediawiki/recentchange/1.0.0, served under /v2/schema.
      this.#schema.href = `/v2/schema${schema}`;
      this.#schema.textContent = `Schema ${schema}`;
    }
  }

  clear() {
    this.shown = undefined;
    this.#empty.hidden = false;
    this.#body.hidden = true;
  }
}
