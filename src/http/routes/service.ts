import type { FastifyInstance } from 'fastify';
import type { SchemaStore } from '../../catalogue/schemas.ts';
import type { StreamCatalogue } from '../../catalogue/types.ts';
import type { ServiceConfig } from '../../config/types.ts';
import { buildOpenApi } from '../openapi.ts';
import { sendProblem } from '../problem.ts';
import type { Readiness } from '../readiness.ts';
import { SWAGGER_UI_PREFIX } from '../swagger-ui.ts';
import { schemaPath } from './schemas.ts';

export interface ServiceRouteDeps {
  config: ServiceConfig;
  catalogue: () => StreamCatalogue;
  schemas: SchemaStore;
  readiness: Readiness;
}

const RETRY_AFTER_SECONDS = 5;
const SPEC_TTL_MS = 60_000;

/** Service-level routes: `/` (redirect, `?spec` or `?doc`), `/_info`, `/_ready`, `/robots.txt`, `/v2/streams`. */
export function serviceRoutes(app: FastifyInstance, deps: ServiceRouteDeps): void {
  const { config, catalogue } = deps;
  // Built at most once a minute per catalogue: every anonymous `?spec` would otherwise rebuild it
  // from the schemas (a minute, so a schema that was unreachable shows up soon).
  let built: { from: StreamCatalogue; at: number; spec: ReturnType<typeof buildOpenApi> } | undefined;
  const spec = (current: StreamCatalogue) => {
    if (built?.from !== current || Date.now() - built.at > SPEC_TTL_MS) {
      built = { from: current, at: Date.now(), spec: buildOpenApi(current, config.info, (stream) => deps.schemas.get(stream)) };
    }
    return built.spec;
  };
  app.get('/', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    if ('spec' in query) return reply.send(await spec(catalogue()));
    if ('doc' in query) return reply.type('text/html; charset=utf-8').send(swaggerPage(config.info.name));
    return reply.redirect('/v2/ui', 302);
  });

  // Liveness: answered from memory, whatever Kafka does. As service-runner's services: JSON fields,
  // `home` a redirect, and `/_info/` the same as `/_info`.
  app.get('/_info', () => config.info);
  app.get('/_info/', () => config.info);
  for (const key of ['name', 'version', 'description'] as const) {
    app.get(`/_info/${key}`, () => ({ [key]: config.info[key] }));
  }
  app.get('/_info/home', (_request, reply) => reply.redirect(config.info.home, 301));

  app.get('/_ready', async (request, reply) => {
    const notReady = await deps.readiness.check();
    if (notReady === undefined) return { status: 'ready' };
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    return sendProblem(request, reply, notReady, notReady === 'shutting_down' ? 'The service is shutting down' : 'Kafka is not reachable');
  });

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

/** Swagger UI for `/?spec`, from the installed swagger-ui-dist (no CDN). Relative URLs keep it working behind a path prefix. */
function swaggerPage(title: string): string {
  const assets = SWAGGER_UI_PREFIX.slice(1);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)} API</title>
<link rel="stylesheet" href="${assets}swagger-ui.css">
<link rel="icon" type="image/png" href="${assets}favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${assets}swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: '?spec', dom_id: '#swagger-ui', deepLinking: true });
</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
