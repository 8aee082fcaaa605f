import type { FastifyInstance } from 'fastify';
import type { SchemaStore } from '../../catalogue/schemas.ts';
import type { StreamCatalogue, StreamConfig } from '../../catalogue/types.ts';
import { sendProblem } from '../problem.ts';

/** Where the catalogue links a stream's schema: its exact version, else the latest of its title. */
export function schemaPath(stream: Pick<StreamConfig, 'schemaUri' | 'schemaTitle'>): string | null {
  if (stream.schemaUri !== undefined) return `/v2/schema${stream.schemaUri.startsWith('/') ? '' : '/'}${stream.schemaUri}`;
  if (stream.schemaTitle !== undefined) return `/v2/schema/${stream.schemaTitle}/latest`;
  return null;
}

/** `<title>/<version>` or `<title>/latest`; anything else never reaches the file system or URL. */
const SCHEMA_PATH = /^([A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+){0,7})\/(latest|\d{1,6}\.\d{1,6}\.\d{1,6})$/;

/** The schema titles the catalogue names (from `schema_title` or its `$schema`), which alone are served. */
function catalogueTitles(catalogue: StreamCatalogue): Set<string> {
  const titles = new Set<string>();
  for (const stream of catalogue.streams) {
    if (stream.schemaTitle !== undefined) titles.add(stream.schemaTitle.replace(/^\/+|\/+$/g, ''));
    const fromUri = stream.schemaUri === undefined ? undefined : SCHEMA_PATH.exec(stream.schemaUri.replace(/^\/+/, ''))?.[1];
    if (fromUri !== undefined) titles.add(fromUri);
  }
  return titles;
}

/**
 * Serves the JSON schemas of the catalogue's streams: `/v2/schema/<title>/<version>` or
 * `/<title>/latest`, any version of a title the catalogue names. Other paths are refused before any
 * lookup, so requests cannot fill the schema cache or make the service fetch from a schema server.
 */
export function schemaRoutes(app: FastifyInstance, schemas: SchemaStore, catalogue: () => StreamCatalogue): void {
  let titles: { from: StreamCatalogue; set: Set<string> } | undefined;
  app.get('/v2/schema/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    const match = SCHEMA_PATH.exec(path);
    if (match === null) return sendProblem(request, reply, { type: 'bad_request', status: 400 }, 'Not a schema path: use /v2/schema/<title>/<version> or /v2/schema/<title>/latest');
    const current = catalogue();
    if (titles?.from !== current) titles = { from: current, set: catalogueTitles(current) };
    const [, title = '', version = ''] = match;
    if (!titles.set.has(title)) return sendProblem(request, reply, { type: 'not_found', status: 404 }, `No stream of this service has the schema ${path}`);
    const found = version === 'latest' ? await schemas.latest(title) : await schemas.byUri(`/${path}`);
    if (found === undefined) return sendProblem(request, reply, { type: 'not_found', status: 404 }, `No schema ${path}`);
    return reply.header('cache-control', 'public, max-age=300').send(found.schema);
  });
}
