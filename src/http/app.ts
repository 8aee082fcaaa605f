import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { SchemaStore } from '../catalogue/schemas.ts';
import type { StreamCatalogue } from '../catalogue/types.ts';
import type { ServiceConfig } from '../config/types.ts';
import { FanoutHub } from '../fanout/hub.ts';
import type { EventSource } from '../fanout/source.ts';
import { PerConnectionSource } from '../fanout/per-connection.ts';
import type { KafkaGateway } from '../kafka/gateway.ts';
import type { Metrics } from '../metrics/registry.ts';
import type { Sanitizer } from '../sanitize/sanitizer.ts';
import { FlushQueue } from '../stream/flush-queue.ts';
import { LiveSelections } from '../selection/live-selections.ts';
import { StreamSlots } from '../admission/stream-slots.ts';
import { LoadGuard } from '../admission/load-guard.ts';
import { SessionRegistry } from '../stream/registry.ts';
import { Selections } from '../selection/selections.ts';
import { clientErrorHandler, frameworkErrors } from './client-errors.ts';
import { compileTrust, trustedRequestId, type ClientIpPolicy } from './client-ip.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import { sendProblem } from './problem.ts';
import { Readiness } from './readiness.ts';
import { schemaRoutes } from './routes/schemas.ts';
import { serviceRoutes } from './routes/service.ts';
import { START_POSITIONS_HEADER, streamRoute } from './routes/stream.ts';
import { swaggerUiAssets } from './swagger-ui.ts';

export interface AppDeps {
  config: ServiceConfig;
  catalogue: () => StreamCatalogue;
  gateway: KafkaGateway;
  schemas: SchemaStore;
  sanitizer: Sanitizer;
  /** Resolves true once the suppression index holds what Kafka had at start (false after `timeoutMs`). */
  suppressionsReady: (timeoutMs: number) => Promise<boolean>;
  metrics: Metrics;
  logger: FastifyBaseLogger;
}

export interface App {
  server: FastifyInstance;
  sessions: SessionRegistry;
  source: EventSource;
  readiness: Readiness;
  /** Ends every open stream with reconnection advice (over the drain window), then stops serving. */
  shutdown(): Promise<void>;
}

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));
/** Longest a readiness probe waits for Kafka, so probes answer within a load balancer's timeout. */
const READINESS_TIMEOUT_MS = 3000;

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
const UI_HEADERS = {
  'content-security-policy': UI_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export async function buildApp(deps: AppDeps): Promise<App> {
  const clientIpPolicy: ClientIpPolicy = { trust: compileTrust(deps.config.trustedProxies) };
  if (deps.config.clientIpHeader !== undefined) clientIpPolicy.header = deps.config.clientIpHeader;
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
  const { config, metrics } = deps;
  const readiness = new Readiness(() => deps.gateway.ping(), Math.min(READINESS_TIMEOUT_MS, config.kafka.requestTimeoutMs));
  metrics.attributeTopics(() => streamsOfTopic(deps.catalogue()));
  const answerOtherMethods = methodNotAllowed(server);
  // Echoed so a client's report can be matched with the log lines of its request.
  server.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // Ticks often enough for the heartbeat interval, at most once a second.
  const sessions = new SessionRegistry(Math.min(1000, Math.max(50, Math.floor((config.heartbeatIntervalMs || 1000) / 4))));
  const guard = new LoadGuard(config.fanout.totalBacklogBytes, config.fanout.maxEventLoopLagMs);
  const source: EventSource =
    config.fanout.mode === 'shared'
      ? new FanoutHub(deps.gateway, config, deps.sanitizer, metrics, deps.logger)
      : new PerConnectionSource(deps.gateway, config.maxEventBytes, deps.sanitizer, metrics, deps.logger);

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
    server.addHook('onSend', async (request, reply) => {
      if (request.url === '/v2/ui' || request.url.startsWith('/v2/ui/') || request.url.startsWith('/v2/ui?')) {
        for (const [name, value] of Object.entries(UI_HEADERS)) reply.header(name, value);
      }
    });
  }

  await swaggerUiAssets(server);
  serviceRoutes(server, { config, catalogue: deps.catalogue, schemas: deps.schemas, readiness });
  schemaRoutes(server, deps.schemas, deps.catalogue);
  streamRoute(server, {
    config,
    clientIpPolicy,
    catalogue: deps.catalogue,
    sessions,
    slots: new StreamSlots(config.clientIpConnectionLimit, config.connections.maxStreams),
    source,
    flush: new FlushQueue(),
    guard,
    metrics,
    selections: new Selections(deps.schemas, deps.sanitizer, config.filters.maxCost, deps.logger),
    liveSelections: new LiveSelections(config.filters.maxTotalCost, {
      changed: (selections, spent) => {
        metrics.liveSelections.set(selections);
        metrics.filterCost.set(spent);
      },
    }),
    suppressionsReady: deps.suppressionsReady,
  });
  server.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  answerOtherMethods();

  server.setNotFoundHandler((request, reply) => sendProblem(request, reply, 404, 'not_found', `No route for ${request.method} ${request.url.slice(0, 200)}`));
  server.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return sendProblem(request, reply, status, status >= 500 ? 'internal_error' : 'bad_request', status >= 500 ? 'Internal error' : error.message);
  });

  return {
    server,
    sessions,
    source,
    readiness,
    async shutdown() {
      readiness.drain();
      await sessions.drain(config.connections.shutdownDrainMs, config.connections.reconnectDelayMs);
      sessions.stop();
      guard.stop();
      await server.close();
      await source.stop();
    },
  };
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
