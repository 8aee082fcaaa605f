import type { StreamCatalogue, StreamConfig } from './types.ts';

/** The stream catalogue is inconsistent or cannot be loaded; the message names the stream or source. */
export class CatalogueError extends Error {
  override readonly name = 'CatalogueError';
}

/**
 * Builds an immutable catalogue from resolved streams, keeping their order. Throws CatalogueError
 * for a duplicate name, a stream without topics, or an alias that is taken by another stream's
 * name or alias: ambiguous names would silently route clients to the wrong topics.
 */
export function createCatalogue(streams: readonly StreamConfig[]): StreamCatalogue {
  const byName = new Map<string, StreamConfig>();
  const frozen = streams.map(freezeStream);
  for (const stream of frozen) {
    if (byName.has(stream.name)) throw new CatalogueError(`Duplicate stream name "${stream.name}"`);
    if (stream.topics.length === 0) throw new CatalogueError(`Stream "${stream.name}" has no topics`);
    byName.set(stream.name, stream);
  }
  // Names first, then aliases, so a collision is found whatever the order of the streams.
  const lookup = new Map(byName);
  for (const stream of frozen) {
    for (const alias of stream.aliases) {
      const owner = lookup.get(alias);
      if (owner === undefined) {
        lookup.set(alias, stream);
      } else if (owner !== stream) {
        const what = byName.has(alias) ? `stream "${alias}"` : `an alias of stream "${owner.name}"`;
        throw new CatalogueError(`Alias "${alias}" of stream "${stream.name}" collides with ${what}`);
      }
    }
  }
  return Object.freeze({
    streams: Object.freeze(frozen),
    get: (nameOrAlias: string) => lookup.get(nameOrAlias),
  });
}

function freezeStream(stream: StreamConfig): StreamConfig {
  const copy: StreamConfig = {
    ...stream,
    aliases: Object.freeze([...new Set(stream.aliases)].filter((a) => a !== stream.name)) as string[],
    topics: Object.freeze([...stream.topics]) as string[],
  };
  if (stream.topicsAllowed !== undefined) copy.topicsAllowed = Object.freeze([...stream.topicsAllowed]) as string[];
  if (stream.removeFields !== undefined) copy.removeFields = Object.freeze([...stream.removeFields]) as string[];
  return Object.freeze(copy);
}
