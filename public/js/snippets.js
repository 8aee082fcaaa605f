// Ready-to-run client code for the current view: the exact URL, and the resume position sent as
// Last-Event-ID (clients then resume by themselves with the ids they receive).

/** @typedef {{ id: string, title: string, code: string }} Snippet */

// Escapes a URL's query needs for nothing: `length.new>=10`, `title=Talk:*` read better as written.
// The rest (`%2C` inside a value, `%26`, `%3D`, `%23`, `%25`, `+`, spaces, `\`) stay encoded, so the
// URL still means the same to the server, curl, EventSource, requests and fetch.
const READABLE = new Map([
  ['%3E', '>'],
  ['%3C', '<'],
  ['%3A', ':'],
  ['%2A', '*'],
  ['%21', '!'],
  ['%2F', '/'],
  ['%40', '@'],
]);

/** The stream URL as people write it: the query's harmless escapes decoded. */
export function readableUrl(/** @type {string} */ url) {
  const q = url.indexOf('?');
  if (q < 0) return url;
  return url.slice(0, q + 1) + url.slice(q + 1).replace(/%[0-9A-F]{2}/gi, (escape) => READABLE.get(escape.toUpperCase()) ?? escape);
}

/** Single-quoted for POSIX shells. */
function shellQuote(/** @type {string} */ text) {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A JavaScript or Python string literal (JSON's escaping is valid in both). */
function literal(/** @type {string} */ text) {
  return JSON.stringify(text);
}

// The same handlers in the browser and in Node: both speak the EventSource interface.
const EVENT_SOURCE_HANDLERS = [
  'es.onmessage = (e) => {',
  '  const event = JSON.parse(e.data);',
  '  console.log(event.meta.dt, event.title ?? event.meta.stream, e.lastEventId);',
  '};',
  "es.addEventListener('notice', (e) => console.warn('notice', JSON.parse(e.data)));",
];

/**
 * @param {string} encodedUrl absolute stream URL
 * @param {string | undefined} lastEventId position to start after
 * @returns {Snippet[]}
 */
export function snippets(encodedUrl, lastEventId) {
  const url = readableUrl(encodedUrl);
  const curlHeader = lastEventId === undefined ? '' : ` \\\n  -H ${shellQuote(`Last-Event-ID: ${lastEventId}`)}`;
  const curl = `curl -sN -H 'Accept: text/event-stream'${curlHeader} \\\n  ${shellQuote(url)}`;

  const browser = [
    ...(lastEventId === undefined
      ? []
      : [
          '// EventSource cannot send a first Last-Event-ID: this starts at the URL\'s own start;',
          '// use the Node or Python code to start exactly after the selected event.',
        ]),
    `const es = new EventSource(${literal(url)});`,
    ...EVENT_SOURCE_HANDLERS,
  ].join('\n');

  const nodeFetch =
    lastEventId === undefined
      ? ''
      : [
          ', {',
          '  // The first request starts after the selected event; reconnects send their own newer id.',
          `  fetch: (input, init) => fetch(input, { ...init, headers: { 'Last-Event-ID': START, ...init?.headers } }),`,
          '}',
        ].join('\n');
  const node = [
    "// npm install eventsource   (v3 or later; save as stream.mjs, run: node stream.mjs)",
    "import { EventSource } from 'eventsource';",
    ...(lastEventId === undefined ? [] : [`const START = ${literal(lastEventId)};`]),
    `const es = new EventSource(${literal(url)}${nodeFetch});`,
    ...EVENT_SOURCE_HANDLERS,
  ].join('\n');

  const python = [
    '# pip install requests-sse',
    'import json',
    'from requests_sse import EventSource',
    '',
    `URL = ${literal(url)}`,
    ...(lastEventId === undefined ? [] : [`START = ${literal(lastEventId)}  # Last-Event-ID of the selected event`]),
    '',
    `with EventSource(URL, timeout=60${lastEventId === undefined ? '' : ', latest_event_id=START'}) as source:`,
    '    for message in source:',
    "        if message.type == 'message':",
    '            event = json.loads(message.data)',
    "            print(event['meta']['dt'], event.get('title'), message.last_event_id)",
  ].join('\n');

  return [
    { id: 'curl', title: 'curl', code: curl },
    { id: 'browser', title: 'Browser EventSource', code: browser },
    { id: 'node', title: 'Node.js (eventsource)', code: node },
    { id: 'python', title: 'Python (requests-sse)', code: python },
  ];
}
