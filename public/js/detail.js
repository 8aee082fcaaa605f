// The selected event: links to the wiki and its schema, the event as a tree, pretty JSON, YAML or
// the raw line, and its resume position (the SSE id a client sends back as Last-Event-ID).
import { byId, el } from './dom.js';
import { eventLinks } from './format.js';
import { jsonTree } from './json-tree.js';

/** @typedef {import('./event-store.js').Received} Received */
/** @typedef {'tree' | 'json' | 'yaml' | 'raw'} Format */

// The `yaml` package's own browser build, served by the service beside the UI; loaded on first use.
const YAML_MODULE = '/v2/ui/vendor/yaml/index.js';
/** @type {Promise<typeof import('yaml')> | undefined} */
let yaml;

export class DetailPanel {
  #empty = byId('detail-empty');
  #body = byId('detail-body');
  #links = byId('detail-links');
  #tree = byId('detail-tree');
  #treeTools = byId('detail-tree-tools');
  #views = { tree: this.#tree, json: byId('detail-json'), yaml: byId('detail-yaml'), raw: byId('detail-raw') };
  #id = byId('detail-id');
  /** @type {Format} */
  format = 'tree';
  /** @type {Received | undefined} */
  shown;

  constructor() {
    for (const button of document.querySelectorAll('button[data-format]')) {
      button.addEventListener('click', () => this.setFormat(/** @type {Format} */ (/** @type {HTMLElement} */ (button).dataset.format)));
    }
    byId('expand-all').addEventListener('click', () => this.#openAll(true));
    byId('collapse-all').addEventListener('click', () => this.#openAll(false));
  }

  show(/** @type {Received} */ event) {
    this.shown = event;
    this.#empty.hidden = true;
    this.#body.hidden = false;
    this.#tree.replaceChildren(jsonTree(event.data));
    this.#views.json.textContent = JSON.stringify(event.data, null, 2);
    this.#views.raw.textContent = event.raw;
    this.#views.yaml.textContent = '';
    if (this.format === 'yaml') void this.#renderYaml();
    this.#id.textContent = event.id ?? '(this event carried no id)';
    /** @type {HTMLButtonElement} */ (byId('resume-here')).disabled = event.id === undefined;
    this.#renderLinks(event.data);
  }

  /** The text of the current format, for copying (the tree copies as pretty JSON). */
  text() {
    if (!this.shown) return '';
    if (this.format === 'raw') return this.shown.raw;
    if (this.format === 'yaml') return this.#views.yaml.textContent ?? '';
    return JSON.stringify(this.shown.data, null, 2);
  }

  setFormat(/** @type {Format} */ format) {
    this.format = format;
    for (const [name, view] of Object.entries(this.#views)) view.hidden = name !== format;
    this.#treeTools.hidden = format !== 'tree';
    for (const button of document.querySelectorAll('button[data-format]')) {
      button.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (button).dataset.format === format));
    }
    if (format === 'yaml') void this.#renderYaml();
  }

  clear() {
    this.shown = undefined;
    this.#empty.hidden = false;
    this.#body.hidden = true;
  }

  async #renderYaml() {
    const event = this.shown;
    if (!event) return;
    try {
      yaml ??= import(YAML_MODULE);
      const text = (await yaml).stringify(event.data, { lineWidth: 0 });
      if (this.shown === event) this.#views.yaml.textContent = text;
    } catch (error) {
      yaml = undefined;
      this.#views.yaml.textContent = `YAML is not available: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  #renderLinks(/** @type {unknown} */ data) {
    const links = eventLinks(data);
    /** @type {HTMLElement[]} */
    const parts = [];
    const link = (/** @type {URL} */ url, /** @type {string} */ text) => el('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer' }, text);
    if (links.title) parts.push(link(links.title, 'Page on the wiki'));
    if (links.diff) parts.push(link(links.diff, 'Diff'));
    if (links.user) parts.push(link(links.user, 'User contributions'));
    const schema = schemaPath(data);
    // `$schema` is a path like /mediawiki/recentchange/1.0.0: the UI's schema page shows it readably.
    if (schema !== undefined) parts.push(el('a', { id: 'detail-schema', href: `/v2/ui/schema.html?${new URLSearchParams({ path: schema })}` }, `Schema ${schema}`));
    this.#links.replaceChildren(...parts.flatMap((p, i) => (i === 0 ? [p] : [' · ', p])));
  }

  #openAll(/** @type {boolean} */ open) {
    for (const details of this.#tree.querySelectorAll('details')) details.open = open;
  }
}

/** The event's `$schema` when it is a plain schema path. */
function schemaPath(/** @type {unknown} */ data) {
  const schema = data !== null && typeof data === 'object' ? /** @type {Record<string, unknown>} */ (data).$schema : undefined;
  return typeof schema === 'string' && /^\/[\w.\/-]+$/.test(schema) ? schema : undefined;
}
