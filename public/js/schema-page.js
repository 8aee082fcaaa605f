// A stream schema made readable (schema.html?path=/mediawiki/recentchange/1.0.0): every field with
// its type, description and allowed values, and a link to the JSON the service serves.
import { byId, el } from './dom.js';
import { schemaFields, typeLabel } from './schema-fields.js';

const path = new URLSearchParams(location.search).get('path') ?? '';
const status = byId('schema-status');

async function show() {
  // Only a schema path: the page fetches nothing but the service's own /v2/schema/….
  if (!/^\/[\w.\/-]+$/.test(path) || path.includes('..')) {
    status.textContent = 'No schema named: open this page from the stream UI.';
    return;
  }
  const url = `/v2/schema${path}`;
  byId('schema-title').textContent = `Schema ${path}`;
  document.title = `${path} · EventStreams`;
  /** @type {HTMLAnchorElement} */ (byId('schema-raw')).href = url;
  const response = await fetch(url);
  if (!response.ok) {
    status.textContent = `The service has no such schema (HTTP ${response.status}).`;
    return;
  }
  const schema = await response.json();
  const about = [schema?.title, schema?.description].filter((t) => typeof t === 'string' && t.trim() !== '').join(': ');
  byId('schema-description').textContent = about;
  const fields = schemaFields(schema);
  const body = /** @type {HTMLTableSectionElement} */ (/** @type {HTMLTableElement} */ (byId('schema-fields')).tBodies[0]);
  body.replaceChildren(
    ...fields.map((f) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', class: 'field-path' }, el('code', {}, f.path)),
        el('td', {}, typeLabel(f)),
        el('td', { class: 'field-description' }, f.description ?? ''),
        el('td', {}, f.values ? f.values.join(', ') : ''),
      ),
    ),
  );
  status.textContent = `${fields.length} fields.`;
}

show().catch((/** @type {unknown} */ error) => {
  status.textContent = `The schema could not be read: ${error instanceof Error ? error.message : String(error)}`;
});
