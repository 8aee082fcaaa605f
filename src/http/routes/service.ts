import type { FastifyInstance } from 'fastify';
import type { StreamCatalogue } from '../../catalogue/types.ts';
import type { ServiceConfig } from '../../config/types.ts';
import { buildOpenApi } from '../openapi.ts';
import { schemaPath } from './schemas.ts';

/** Service-level routes: `/` (redirect or `?spec`), `/_info`, `/robots.txt`, `/v2/streams`. */
export function serviceRoutes(app: FastifyInstance, config: ServiceConfig, catalogue: () => StreamCatalogue): void {
  app.get('/', (request, reply) => {
    const query = request.query as Record<string, unknown>;
    if ('spec' in query) return reply.send(buildOpenApi(catalogue(), config.info));
    return reply.redirect('/v2/ui', 302);
  });

  app.get('/_info', () => config.info);
  for (const key of ['name', 'version', 'description', 'home'] as const) {
    app.get(`/_info/${key}`, () => config.info[key]);
  }

  app.get('/robots.txt', (_request, reply) => reply.type('text/plain').send('User-agent: *\nDisallow: /\n'));

  app.get('/v2/streams', () => ({
    streams: catalogue().streams.map((s) => ({
      name: s.name,
      aliases: s.aliases,
      description: s.description ?? null,
      topics: s.topics,
      schema_title: s.schemaTitle ?? null,
      schema_uri: s.schemaUri ?? null,
      schema_url: schemaPath(s),
    })),
  }));
}
