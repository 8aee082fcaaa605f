/**
 * Regenerates the shipped stream catalogue from the hand-compiled summary of Wikimedia's public
 * streams and the Event Platform schemas (a data set kept outside the repository; provenance of
 * what it produced: config/SOURCES.md):
 *
 *   config/stream-config.json  shaped like MediaWiki's `api.php?action=streamconfigs` output
 *                              (`{"streams": {name: settings}}`), so the default config reads it
 *                              exactly as production EventStreams reads the API;
 *   config/schemas/<title>/<version>.json
 *                              every JSON version of each schema title used by those streams.
 *
 * Usage: node scripts/build-catalogue.ts --data <dir> [--out <config dir>]
 * --data (or $EVENTSTREAMS_SHARED_DATA) holds stream-config/eventstreams-public-streams.derived.json
 * and schemas/<title>/<version>.json; --out defaults to <repo>/config.
 */
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface PublicStream {
  stream: string;
  schema_title: string;
  topics?: string[];
  topics_allowed?: string[];
  canary?: boolean;
}

interface Summary {
  defaults: { topic_prefixes: string[]; canary_events_enabled: boolean };
  public_streams: PublicStream[];
  formerly_public_or_not_public: { stream: string; schema_title: string }[];
}

/** One stream as MediaWiki's EventStreamConfig API returns it (the settings EventStreams uses). */
interface StreamConfigEntry {
  stream: string;
  schema_title: string;
  destination_event_service: string;
  topic_prefixes: string[];
  topics: string[];
  canary_events_enabled: boolean;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: process.env['EVENTSTREAMS_SHARED_DATA'] },
    out: { type: 'string', default: path.join(repoRoot, 'config') },
  },
});
if (values.data === undefined) {
  console.error(
    'build-catalogue: --data <dir> (or EVENTSTREAMS_SHARED_DATA) is required: the directory holding\n' +
      '  stream-config/eventstreams-public-streams.derived.json  (the summary of the public streams)\n' +
      '  schemas/<title>/<version>.json                          (the Event Platform schemas)\n' +
      'See config/SOURCES.md for where they come from.',
  );
  process.exit(2);
}
const dataDir = path.resolve(values.data);
const outDir = path.resolve(values.out);

const summary = JSON.parse(
  await readFile(path.join(dataDir, 'stream-config', 'eventstreams-public-streams.derived.json'), 'utf8'),
) as Summary;
const prefixes = summary.defaults.topic_prefixes;

// Public streams plus the known non-public ones: production's allowed_streams is what hides the
// latter, and shipping them keeps that filter meaningful (and testable) in the default config.
const entries: StreamConfigEntry[] = [
  ...summary.public_streams.map((s) => ({
    stream: s.stream,
    schema_title: s.schema_title,
    topics: s.topics ?? s.topics_allowed,
    canary: s.canary,
  })),
  ...summary.formerly_public_or_not_public.map((s) => ({
    stream: s.stream,
    schema_title: s.schema_title,
    topics: undefined,
    canary: undefined,
  })),
].map((s) => ({
  stream: s.stream,
  schema_title: s.schema_title,
  // EventStreams only exposes streams of eventgate-main (they are the ones on Kafka main).
  destination_event_service: 'eventgate-main',
  topic_prefixes: prefixes,
  // The API computes topics from the prefixes unless the stream names them explicitly.
  topics: s.topics ?? prefixes.map((p) => p + s.stream),
  canary_events_enabled: s.canary ?? summary.defaults.canary_events_enabled,
}));

const document = {
  streams: Object.fromEntries(entries.map((e) => [e.stream, e])),
};
await mkdir(outDir, { recursive: true });
await writeFile(path.join(outDir, 'stream-config.json'), `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${path.join(outDir, 'stream-config.json')}: ${entries.length} streams`);

// Schemas: each title the data set has is copied afresh, so removed versions do not linger. A title
// it lacks keeps the copy already in the repository (added from elsewhere: config/SOURCES.md).
const schemasIn = path.join(dataDir, 'schemas');
const schemasOut = path.join(outDir, 'schemas');
const titles = [...new Set(entries.map((e) => e.schema_title))].sort();
const missing: string[] = [];
const kept: string[] = [];
let copied = 0;
for (const title of titles) {
  const files = await jsonFiles(path.join(schemasIn, title));
  if (files.length === 0) {
    if ((await jsonFiles(path.join(schemasOut, title))).length > 0) kept.push(title);
    else missing.push(title);
    continue;
  }
  await rm(path.join(schemasOut, title), { recursive: true, force: true });
  await mkdir(path.join(schemasOut, title), { recursive: true });
  for (const file of files) {
    await copyFile(path.join(schemasIn, title, file), path.join(schemasOut, title, file));
    copied++;
  }
}
console.log(`copied ${copied} schema files for ${titles.length - missing.length - kept.length} titles into ${schemasOut}`);
if (kept.length > 0) console.log(`kept the repository's own copy of: ${kept.join(', ')}`);
if (missing.length > 0) console.log(`no schema available for: ${missing.join(', ')}`);

async function jsonFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
}
