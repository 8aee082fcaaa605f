import type { FastifyInstance } from 'fastify';
import type { SchemaStore } from '../../catalogue/schemas.ts';
import type { StreamConfig } from '../../catalogue/types.ts';
import { sendProblem } from '../problem.ts';

/** Where the catalogue links a stream's schema: its exact version, else the latest of its title. */
export function schemaPath(stream: Pick<StreamConfig, 'schemaUri' | 'schemaTitle'>): string | null {
  if (stream.schemaUri !== undefined) return `/v2/schema${stream.schemaUri.startsWith('/') ? '' : '/'}${stream.schemaUri}`;
  if (stream.schemaTitle !== undefined) return `/v2/schema/${stream.schemaTitle}/latest`;
  return null;
}

/** Schema titles and versions (`mediawiki/recentchange/1.0.0`); anything else never reaches the file system or URL. */
const SCHEMA_PATH = /^[A-Za-z0-9._/-]{1,300}$/;

/** Serves the JSON schemas the catalogue links to: `/v2/schema/<title>/<version>` or `/<title>/latest`. */
export function schemaRoutes(app: FastifyInstance, schemas: SchemaStore): void {
  app.get('/v2/schema/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    if (!SCHEMA_PATH.test(path) || path.includes('..')) return sendProblem(request, reply, 400, 'bad_request', 'Not a schema path');
    const found = path.endsWith('/latest') ? await schemas.latest(path.slice(0, -'/latest'.length)) : await schemas.byUri(`/${path}`);
    if (found === undefined) return sendProblem(request, reply, 404, 'not_found', `No schema ${path}`);
    return reply.header('cache-control', 'public, max-age=300').send(found.schema);
  });
}
