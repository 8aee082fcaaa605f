import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { SchemaStore } from '../catalogue/schemas.ts';
import type { StreamCatalogue } from '../catalogue/types.ts';
import { clientErrorHandler, frameworkErrors } from './client-errors.ts';
import { trustedRequestId } from './client-ip.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import { sendProblem } from './problem.ts';
import { isClientError, isServerError } from './problems.ts';
import type { Readiness } from './readiness.ts';
import { schemaRoutes } from './routes/schemas.ts';
import { serviceRoutes } from './routes/service.ts';
import { START_POSITIONS_HEADER, streamRoute, type StreamRouteDeps } from './routes/stream.ts';
import { swaggerUiAssets } from './swagger-ui.ts';

/** The long-lived parts the routes use, built by the composition root (`src/service.ts`). */
export interface AppDeps extends StreamRouteDeps {
  schemas: SchemaStore;
  logger: FastifyBaseLogger;
  readiness: Readiness;
}

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));
/** The `yaml` package's browser build (plain ES modules): the UI's YAML view loads it as it is. */
const YAML_BROWSER_DIR = fileURLToPath(new URL('../browser/dist/', import.meta.resolve('yaml')));

/**
 * The UI shows user-written text (titles, comments): scripts and styles come only from its own
 * files, and Trusted Types make any string-to-HTML sink throw, so event data cannot become markup.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types none',
].join('; ');

/**
 * Helmet's headers on every answer (`X-Content-Type-Options: nosniff`, `X-Frame-Options`,
 * `Referrer-Policy: no-referrer`, …), but for three defaults that do not fit a public streaming API:
 * its Content-Security-Policy (the UI sets its own, stricter one; Swagger UI's page starts with an
 * inline script; the rest is JSON, text and streams), HSTS (TLS ends at the proxy in front, which
 * owns it) and a same-origin Cross-Origin-Resource-Policy (any origin may read, as CORS `*` says).
 */
const SECURITY_HEADERS = {
  contentSecurityPolicy: false,
  strictTransportSecurity: false,
  crossOriginResourcePolicy: { policy: 'cross-origin' },
  // As EventStreams; the UI's `frame-ancestors 'none'` forbids framing it at all.
  xFrameOptions: { action: 'sameorigin' },
} as const;

/** The HTTP side: registers the routes on a fastify server (nothing long-lived is built here). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, metrics, clientIpPolicy, readiness } = deps;
  const server = Fastify({
    loggerInstance: deps.logger,
    // Several stream names in one path easily exceed fastify's default of 100 characters.
    routerOptions: { maxParamLength: 4096 },
    // A trusted proxy's request id is kept; a client's own could forge log correlation.
    requestIdHeader: false,
    genReqId: (request) => trustedRequestId(request, clientIpPolicy.trust) ?? randomUUID(),
    // Streams log their own open/close lines; per-request lines would double them.
    logController: new LogController({ disableRequestLogging: true }),
    // Refusals by Node's parser and fastify's router get problem bodies like the service's own.
    clientErrorHandler,
    frameworkErrors,
  });
  metrics.attributeTopics(() => streamsOfTopic(deps.catalogue()));
  const answerOtherMethods = methodNotAllowed(server);
  // Echoed so a client's report can be matched with the log lines of its request.
  server.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  await server.register(helmet, SECURITY_HEADERS);
  await server.register(cors, {
    origin: '*',
    methods: ['GET', 'HEAD', 'OPTIONS'],
    allowedHeaders: ['last-event-id', 'accept', 'content-type', 'cache-control', 'x-requested-with'],
    exposedHeaders: [START_POSITIONS_HEADER],
    maxAge: 86400,
    // Any OPTIONS gets the CORS answer (204): a strict check would refuse non-preflights in plain text.
    strictPreflight: false,
  });
  if (deps.config.streamUiEnabled) {
    await server.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/v2/ui/', redirect: true, index: ['index.html'] });
    server.get('/v2/ui', (_request, reply) => reply.sendFile('index.html'));
    await server.register(fastifyStatic, { root: YAML_BROWSER_DIR, prefix: '/v2/ui/vendor/yaml/', decorateReply: false });
    server.addHook('onSend', async (request, reply) => {
      if (request.url === '/v2/ui' || request.url.startsWith('/v2/ui/') || request.url.startsWith('/v2/ui?')) {
        reply.header('content-security-policy', UI_CONTENT_SECURITY_POLICY);
      }
    });
  }

  await swaggerUiAssets(server);
  serviceRoutes(server, { config, catalogue: deps.catalogue, schemas: deps.schemas, readiness });
  schemaRoutes(server, deps.schemas, deps.catalogue);
  streamRoute(server, deps);
  server.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  answerOtherMethods();

  server.setNotFoundHandler((request, reply) => sendProblem(request, reply, { type: 'not_found', status: 404 }, `No route for ${request.method} ${request.url.slice(0, 200)}`));
  // A refusal by fastify or a plugin keeps its 4xx; anything else is a failure of ours, logged.
  server.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (isClientError(status)) return sendProblem(request, reply, { type: 'bad_request', status }, error.message);
    request.log.error({ err: error }, 'request failed');
    return sendProblem(request, reply, { type: 'internal_error', status: isServerError(status) ? status : 500 }, 'Internal error');
  });

  return server;
}

/** Topic to the streams that read it (or accept it in `Last-Event-ID`), for per-stream metrics. */
function streamsOfTopic(catalogue: StreamCatalogue): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const stream of catalogue.streams) {
    for (const topic of new Set([...stream.topics, ...(stream.topicsAllowed ?? [])])) {
      const streams = map.get(topic) ?? [];
      streams.push(stream.name);
      map.set(topic, streams);
    }
  }
  return map;
}
