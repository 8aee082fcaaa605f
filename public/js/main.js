// Wires the page: the form is the view state, the hash mirrors it, and one StreamConnection at a
// time feeds the store, the list, the replay progress, the charts and the health panel.
import { StreamConnection } from './connection.js';
import { DetailPanel } from './detail.js';
import { Charts } from './charts.js';
import { byId, copyText, el } from './dom.js';
import { EventStore } from './event-store.js';
import { EventTable } from './event-table.js';
import { FilterForm } from './filter-form.js';
import { isComplete } from './filters.js';
import { eventTime, formatAgo, parseAgo } from './format.js';
import { HealthPanel } from './health.js';
import { ReplayProgress } from './replay-progress.js';
import { QuietHint, quietText } from './quiet-hint.js';
import { mergeFields } from './schema-fields.js';
import { readableUrl, snippets } from './snippets.js';
import { StreamPicker } from './stream-picker.js';
import { fromHash, sinceParam, startEventId, streamPath, toHash } from './view-state.js';

/** @typedef {import('./view-state.js').ViewState} ViewState */
/** @typedef {import('./view-state.js').Start} Start */
/** @typedef {import('./connection.js').Problem} Problem */
/** @typedef {import('./quiet-hint.js').QuietView} QuietView */

const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id));
const select = (/** @type {string} */ id) => /** @type {HTMLSelectElement} */ (byId(id));

const announcer = byId('announce');
const announce = (/** @type {string} */ message) => {
  announcer.textContent = message;
};

const capSelect = select('cap');
const store = new EventStore(Number(capSelect.value));
const health = new HealthPanel();
const detail = new DetailPanel();
const charts = new Charts();
const quiet = new QuietHint(byId('quiet'));
// Once a second is plenty for charts, and cheap: they redraw only when events arrived.
setInterval(() => charts.update(store.all), 1000);
const table = new EventTable(/** @type {HTMLTableElement} */ (byId('event-table')), showDetail);
const picker = new StreamPicker(byId('stream-list'), input('stream-search'), byId('selected-streams'), streamsChanged);
const filters = new FilterForm(
  {
    clauses: byId('clauses'),
    fieldList: byId('field-list'),
    fieldSearch: input('field-search'),
    count: byId('projection-count'),
    presets: byId('presets'),
  },
  refresh,
);
/** @type {Map<string, Promise<unknown>>} schema URL -> schema (null when it could not be read) */
const schemaCache = new Map();
/** @type {StreamConnection | undefined} */
let connection;
/** @type {string | undefined} the id of the event chosen with "Resume after this event" */
let resumeId;
/** @type {ReplayProgress | undefined} set while the stream started in the past */
let replay;
/** @type {QuietView | undefined} the started view, until its first event arrives */
let quietView;
// The layout that shows list and detail side by side (ui.css has the same width).
const sideBySide = matchMedia('(min-width: 900px)');
const phone = matchMedia('(max-width: 699px)');

// --- View state <-> form --------------------------------------------------------------------

/** @returns {ViewState} */
function viewState() {
  return { streams: picker.selected(), clauses: filters.clauses(), fields: filters.projection(), start: readStart() };
}

/** @returns {Start} */
function readStart() {
  const mode = /** @type {HTMLInputElement | null} */ (document.querySelector('input[name="start"]:checked'))?.value;
  // An unreadable duration is NaN: refresh() flags it and start() refuses it.
  if (mode === 'ago') return { mode: 'ago', ms: parseAgo(input('ago').value) ?? Number.NaN };
  if (mode === 'time' && input('since-time').value !== '') return { mode: 'time', time: new Date(input('since-time').value).toISOString() };
  if (mode === 'resume' && resumeId !== undefined) return { mode: 'resume', id: resumeId };
  return { mode: 'now' };
}

function writeStart(/** @type {Start} */ start) {
  if (start.mode === 'ago') input('ago').value = formatAgo(start.ms);
  if (start.mode === 'time') input('since-time').value = localInputValue(Date.parse(start.time));
  setResumeId(start.mode === 'resume' ? start.id : resumeId);
  input(`start-${start.mode}`).checked = true;
}

/** `YYYY-MM-DDTHH:MM:SS` in local time, as datetime-local inputs want it. */
function localInputValue(/** @type {number} */ ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

function setResumeId(/** @type {string | undefined} */ id) {
  resumeId = id;
  input('start-resume').disabled = id === undefined;
  byId('resume-id').textContent = id ?? '';
}

/** Why the view cannot be streamed as it is, if it cannot. */
function viewError(/** @type {ViewState} */ state) {
  if (state.streams.length === 0) return 'Choose at least one stream.';
  if (state.start.mode === 'ago' && !Number.isFinite(state.start.ms)) return 'Write how long ago as a duration: 10m, 2h, 3d or 1h30m.';
  return undefined;
}

/** Form changed: new URL, snippets and hash; nothing reconnects until Start. */
function refresh() {
  const state = viewState();
  const error = viewError(state);
  const url = `${location.origin}${streamPath(state)}`;
  const agoInvalid = state.start.mode === 'ago' && !Number.isFinite(state.start.ms);
  input('ago').setAttribute('aria-invalid', String(agoInvalid));
  byId('ago-hint').classList.toggle('invalid', agoInvalid);
  byId('stream-url').textContent = error ?? readableUrl(url);
  // A duration being typed is not written to the hash until it reads as one.
  if (!agoInvalid) history.replaceState(null, '', toHash(state));
  /** @type {HTMLButtonElement} */ (byId('connect')).disabled = error !== undefined;
  renderSnippets(url, startEventId(state));
  summarize(state);
}

/** One line for the folded form on phones: what the view reads. */
function summarize(/** @type {ViewState} */ state) {
  const filters = state.clauses.length;
  const start = { now: 'from now', ago: `from ${input('ago').value} ago`, time: 'from a time', resume: 'after an event' }[state.start.mode];
  const streams = state.streams.join(', ') || 'no stream';
  byId('view-summary').textContent = `${streams} · ${filters} filter${filters === 1 ? '' : 's'} · ${start}`;
}

/** Folds the form away (phones), so the list is near the top; the toggle brings it back. */
function foldView(/** @type {boolean} */ folded) {
  byId('view').toggleAttribute('data-folded', folded);
  const toggle = byId('toggle-view');
  toggle.setAttribute('aria-expanded', String(!folded));
  toggle.textContent = folded ? 'Edit view' : 'Hide settings';
}

function renderSnippets(/** @type {string} */ url, /** @type {string | undefined} */ lastEventId) {
  byId('snippets').replaceChildren(
    ...snippets(url, lastEventId).map((s) => {
      const code = el('pre', { class: 'code', id: `snippet-${s.id}`, tabindex: '0' }, s.code);
      const copy = el('button', { type: 'button', 'aria-describedby': `snippet-title-${s.id}` }, 'Copy');
      copy.addEventListener('click', () => copyText(s.code, announce));
      return el('section', { class: 'snippet' }, el('h3', { id: `snippet-title-${s.id}` }, s.title), code, copy);
    }),
  );
}

async function streamsChanged() {
  const names = picker.selected();
  refresh();
  const urls = picker.streams.filter((s) => names.includes(s.name) && s.schema_url).map((s) => /** @type {string} */ (s.schema_url));
  const schemas = await Promise.all(urls.map(loadSchema));
  // A later change may have finished first; only the current selection's fields count.
  if (picker.selected().join() !== names.join()) return;
  filters.setFields(mergeFields(schemas.filter((s) => s !== null)));
  renderSchemaLinks(names);
  refresh();
}

/** Links to the readable schema of each selected stream. */
function renderSchemaLinks(/** @type {string[]} */ names) {
  const links = picker.streams
    .filter((s) => names.includes(s.name) && s.schema_url?.startsWith('/v2/schema/'))
    .map((s) => el('a', { href: `/v2/ui/schema.html?${new URLSearchParams({ path: String(s.schema_url).slice('/v2/schema'.length) })}` }, s.name));
  byId('schema-links').replaceChildren(...(links.length > 0 ? ['Schemas: ', ...links.flatMap((a, i) => (i === 0 ? [a] : [', ', a]))] : []));
}

function loadSchema(/** @type {string} */ url) {
  let schema = schemaCache.get(url);
  if (!schema) {
    schema = fetch(url)
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
    schemaCache.set(url, schema);
  }
  return schema;
}

// --- Streaming ------------------------------------------------------------------------------

/** Starts the view's stream afresh: a new list, from the form's start position. */
function start() {
  const state = viewState();
  const error = viewError(state);
  if (error !== undefined) return showProblem({ status: 0, detail: error });
  store.clear();
  table.clear();
  detail.clear();
  health.resetRate();
  setPaused(false);
  const now = Date.now();
  const since = sinceParam(state.start, now);
  const sinceMs = since === undefined ? undefined : Number(since);
  startReplay(state.start.mode === 'now' ? undefined : new ReplayProgress(sinceMs, now));
  quietView = { since: state.start.mode === 'now' ? now : sinceMs, streams: state.streams.length, filtered: state.clauses.some(isComplete) };
  table.showStreams(state.streams.length > 1);
  if (phone.matches) foldView(true);
  open(`${location.origin}${streamPath(state, now)}`, startEventId(state));
}

// --- Replay progress ------------------------------------------------------------------------

let replayShown = false;

function startReplay(/** @type {ReplayProgress | undefined} */ progress) {
  replay = progress;
  byId('replay').hidden = progress === undefined;
  showReplay();
}

/** Redraws the indicator at most once a frame: events can arrive by the thousand. */
function showReplay() {
  if (replayShown || !replay) return;
  replayShown = true;
  requestAnimationFrame(() => {
    replayShown = false;
    if (!replay) return;
    byId('replay-text').textContent = replay.text();
    /** @type {HTMLProgressElement} */ (byId('replay-progress')).value = replay.fraction;
    byId('replay').dataset.state = replay.caughtUp ? 'live' : 'replaying';
  });
}

function replayed(/** @type {boolean} */ caughtUp) {
  if (caughtUp && replay) announce(`Caught up after ${replay.count.toLocaleString()} replayed events; now live.`);
  showReplay();
}

/** Opens the stream; `lastEventId` resumes exactly after that event. */
function open(/** @type {string} */ url, /** @type {string | undefined} */ lastEventId) {
  connection?.stop();
  showProblem(undefined);
  byId('cap-notice').hidden = true;
  const conn = new StreamConnection(url, lastEventId, {
    onMessage: (data, id) => received(data, id),
    onControl: (event, data) => {
      health.control(event, data);
      if (event === 'error') announce('The server reported an error; see Stream health.');
    },
    onState: (state, reason) => {
      if (conn !== connection) return;
      health.setState(state, reason);
      const view = quietView;
      if (state === 'open' && view) quiet.arm(() => quietText(view));
      else quiet.clear();
      health.setReconnects(conn.reconnects);
      const running = state === 'connecting' || state === 'open' || state === 'reconnecting';
      /** @type {HTMLButtonElement} */ (byId('disconnect')).disabled = !running;
      /** @type {HTMLButtonElement} */ (byId('connect')).textContent = running ? 'Restart' : 'Start';
      if (state !== 'connecting') announce(`Stream ${state === 'open' ? 'connected' : state}. ${reason}`);
    },
    onProblem: showProblem,
    onActivity: () => health.activity(),
    onIdle: () => {
      if (conn !== connection) return;
      quiet.idle();
      if (replay) replayed(replay.idle());
    },
  });
  connection = conn;
  conn.start();
}

function received(/** @type {string} */ data, /** @type {string | undefined} */ id) {
  const shown = store.add(data, id);
  if (quietView) {
    quietView = undefined;
    quiet.clear();
  }
  health.countEvent();
  if (replay) replayed(replay.event(eventTime(store.all.at(-1)?.data)));
  if (shown) table.add([shown]);
  health.setReceived(store.all.length);
  showHeld();
  if (store.capReached) stopAtCap();
}

function stopAtCap() {
  connection?.stop();
  byId('cap-text').textContent = `Stopped after ${store.all.length.toLocaleString()} events so a forgotten tab does not fill up. Continue reads on right after the last event received, without losing any.`;
  byId('cap-notice').hidden = false;
  announce('Stopped at the event limit. Continue reads on without losing events.');
}

function showHeld() {
  byId('buffered').textContent = store.paused ? `Paused: ${store.held.length.toLocaleString()} new events held` : '';
}

/** @param {Problem | undefined} problem */
function showProblem(problem) {
  const box = byId('problem');
  box.hidden = problem === undefined;
  if (!problem) return box.replaceChildren();
  /** @type {HTMLElement[]} */
  const lines = [el('p', {}, el('strong', {}, problem.status ? `The server refused the stream (HTTP ${problem.status}): ` : ''), problem.detail ?? problem.title ?? 'Unknown error')];
  if (problem.valid_fields?.length) {
    // Field names, or {path, type} as the filter checks report them.
    const fields = problem.valid_fields.map((f) => (typeof f === 'string' ? f : `${f.path} (${f.type})`));
    lines.push(el('details', {}, el('summary', {}, `Valid fields (${fields.length})`), el('p', {}, fields.join(', '))));
  }
  if (problem.available_streams?.length) lines.push(el('p', {}, `Available streams: ${problem.available_streams.join(', ')}`));
  box.replaceChildren(...lines);
}

function showDetail(/** @type {number} */ seq) {
  const event = store.bySeq(seq);
  if (!event) return;
  detail.show(event);
  table.markSelected(seq);
  // Side by side the detail is already in view: moving focus there must not scroll the list away.
  byId('detail').focus({ preventScroll: sideBySide.matches });
}

function setPaused(/** @type {boolean} */ paused) {
  const button = byId('pause');
  if (paused) store.pause();
  button.textContent = paused ? 'Resume' : 'Pause';
  button.setAttribute('aria-pressed', String(paused));
  showHeld();
}

// --- Controls -------------------------------------------------------------------------------

byId('view').addEventListener('submit', (e) => {
  e.preventDefault();
  start();
});
byId('view').addEventListener('change', (e) => {
  // Stream, clause and field pickers report through their own objects.
  if (e.target instanceof HTMLInputElement && (e.target.name === 'start' || e.target.id === 'since-time')) refresh();
});
input('ago').addEventListener('input', () => {
  input('start-ago').checked = true;
  refresh();
});
for (const quick of document.querySelectorAll('button[data-ago]')) {
  quick.addEventListener('click', () => {
    input('ago').value = /** @type {HTMLElement} */ (quick).dataset.ago ?? '1h';
    input('start-ago').checked = true;
    refresh();
  });
}
byId('toggle-view').addEventListener('click', () => foldView(!byId('view').hasAttribute('data-folded')));
byId('disconnect').addEventListener('click', () => connection?.stop());
byId('add-clause').addEventListener('click', () => filters.addClause().focus());
capSelect.addEventListener('change', () => store.setCap(Number(capSelect.value)));
byId('continue').addEventListener('click', () => {
  const conn = connection;
  if (!conn) return;
  store.extend();
  // The stopped stream's own URL: the position belongs to its filters, not to later form edits.
  open(conn.url, conn.lastEventId);
  byId('pause').focus();
});
byId('pause').addEventListener('click', () => {
  // Announced once here: the held count itself changes with every event, too often to read out.
  if (store.paused) {
    const held = store.resume();
    table.add(held);
    setPaused(false);
    announce(`Resumed; ${held.length} held events added.`);
  } else {
    setPaused(true);
    announce('Paused; new events are held and counted.');
  }
});
byId('clear').addEventListener('click', () => {
  store.clear();
  table.clear();
  detail.clear();
  health.setReceived(0);
  showHeld();
});
byId('download').addEventListener('click', () => {
  const blob = new Blob([store.ndjson()], { type: 'application/x-ndjson' });
  const link = el('a', { href: URL.createObjectURL(blob), download: `${picker.selected().join('+') || 'events'}-${new Date().toISOString()}.ndjson` });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
});
byId('copy-url').addEventListener('click', () => copyText(byId('stream-url').textContent ?? '', announce));
byId('copy-share').addEventListener('click', () => copyText(location.href, announce));
byId('copy-id').addEventListener('click', () => copyText(detail.shown?.id ?? '', announce));
byId('copy-json').addEventListener('click', () => copyText(detail.text(), announce));
byId('resume-here').addEventListener('click', () => {
  const event = detail.shown;
  if (event?.id === undefined) return;
  // Reads on right after the event, unpaused: its rows and the ones before it stay, later ones
  // (shown or held) go, as they will arrive again.
  store.keepUpTo(event.seq);
  table.removeAfter(event.seq);
  health.setReceived(store.all.length);
  setPaused(false);
  setResumeId(event.id);
  input('start-resume').checked = true;
  refresh();
  const state = viewState();
  const at = eventTime(event.data);
  startReplay(new ReplayProgress(Number.isNaN(at) ? undefined : at, Date.now()));
  table.showStreams(state.streams.length > 1);
  open(`${location.origin}${streamPath(state)}`, event.id);
  announce('Reading on after the selected event.');
});
/** The element of the page a `#id` hash names (an in-page anchor, not a view), if any. */
const anchorOf = (/** @type {string} */ hash) => (hash.length > 1 ? document.getElementById(hash.slice(1)) : null);
window.addEventListener('hashchange', () => {
  // Only a view hash the page did not write itself (a pasted link) changes the view; an in-page
  // anchor such as `#filters` is not a view and must not reset one.
  if (anchorOf(location.hash) === null && location.hash !== toHash(viewState())) restore();
});
// The skip links move the focus but leave the URL alone: its hash holds the view.
for (const link of document.querySelectorAll('a.skip')) {
  link.addEventListener('click', (e) => {
    const target = anchorOf(link.getAttribute('href') ?? '');
    if (!target) return;
    e.preventDefault();
    target.focus();
  });
}

// --- Start-up -------------------------------------------------------------------------------

let catalogueReady = false;

/** Shows the view the hash describes, and streams it when it names streams. */
async function restore() {
  const state = fromHash(location.hash);
  if (!catalogueReady) return;
  picker.render(picker.streams, state.streams);
  filters.load(state.clauses, state.fields);
  writeStart(state.start);
  await streamsChanged();
  const unknown = state.streams.filter((s) => picker.resolve(s) === undefined);
  if (unknown.length > 0) showProblem({ status: 0, detail: `Not in the catalogue: ${unknown.join(', ')}` });
  else if (state.streams.length > 0) start();
}

async function init() {
  try {
    const response = await fetch('/v2/streams');
    const body = await response.json();
    picker.render(body.streams, []);
    byId('stream-list-status').textContent = `${body.streams.length} streams.`;
  } catch (error) {
    byId('stream-list-status').textContent = `The catalogue could not be read: ${error instanceof Error ? error.message : String(error)}`;
    return;
  }
  catalogueReady = true;
  await restore();
}

void init();
