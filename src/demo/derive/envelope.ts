import { type JsonObject, compact, objectAt, stringAt } from './json.ts';
import { stableUuid } from './synthetic.ts';

/**
 * The meta of an event derived from `source` for `stream`: the same request, time and domain as
 * its source (one MediaWiki request emits all of them), an id of its own that is fixed by the
 * source's id, so deriving twice gives the same events.
 */
export function derivedMeta(source: JsonObject, stream: string, uri: string | undefined): JsonObject {
  const meta = objectAt(source, 'meta');
  return compact({
    uri,
    request_id: stringAt(meta, 'request_id'),
    id: stableUuid(`${stringAt(meta, 'id') ?? JSON.stringify(source)}|${stream}`),
    dt: stringAt(meta, 'dt'),
    domain: stringAt(meta, 'domain'),
    stream,
  });
}

/** An ISO time with whole seconds, as MediaWiki stores revision and log times. */
export function toSeconds(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}
