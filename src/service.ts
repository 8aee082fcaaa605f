import type { Logger } from 'pino';
import { CatalogueHolder } from './catalogue/holder.ts';
import { SchemaStore } from './catalogue/schemas.ts';
import type { ServiceConfig } from './config/types.ts';
import type { FastifyInstance } from 'fastify';
import { LoadGuard } from './admission/load-guard.ts';
import { StreamSlots } from './admission/stream-slots.ts';
import { FanoutHub } from './fanout/hub.ts';
import { PerConnectionSource } from './fanout/per-connection.ts';
import type { EventSource } from './fanout/source.ts';
import { buildApp } from './http/app.ts';
import { compileTrust, type ClientIpPolicy } from './http/client-ip.ts';
import { listen } from './http/listen.ts';
import { Readiness } from './http/readiness.ts';
import { KafkaGateway } from './kafka/gateway.ts';
import { Metrics } from './metrics/registry.ts';
import { loadShapes } from './sanitize/load-shapes.ts';
import { RedactedPages } from './sanitize/redacted-pages.ts';
import { Sanitizer } from './sanitize/sanitizer.ts';
import { SuppressionFollower } from './sanitize/suppression-follower.ts';
import { SuppressionIndex } from './sanitize/suppression-index.ts';
import { topicPolicies } from './sanitize/topic-policies.ts';
import { LiveSelections } from './selection/live-selections.ts';
import { Selections } from './selection/selections.ts';
import { Cohorts } from './stream/cohort.ts';
import { FlushQueue } from './stream/flush-queue.ts';
import { PositionStates } from './stream/position-ids.ts';
import { Compression } from './compress/encoder.ts';
import { SessionRegistry } from './stream/registry.ts';

export interface RunningService {
  server: FastifyInstance;
  /** The open streams. */
  sessions: SessionRegistry;
  catalogue: CatalogueHolder;
  /** The address the HTTP server listens on, e.g. `http://127.0.0.1:8092`. */
  url: string;
  /** Applies what can change without a restart (the redacted pages) from a freshly loaded config. */
  reload(config: Pick<ServiceConfig, 'mediawikiRedactedPages'>): void;
  /** Ends every stream properly, then releases Kafka and timers. */
  stop(): Promise<void>;
}

/** Longest a readiness probe waits for Kafka, so probes answer within a load balancer's timeout. */
const READINESS_TIMEOUT_MS = 3000;

/**
 * The composition root: builds every long-lived part (catalogue, Kafka, sanitizer, event source,
 * admission, selections, sessions), hands them to the HTTP app, serves, and stops them in order.
 * The whole service, without the demo.
 */
export async function startService(config: ServiceConfig, logger: Logger): Promise<RunningService> {
  const catalogue = new CatalogueHolder(config, logger);
  await catalogue.start();
  const metrics = new Metrics();
  const gateway = new KafkaGateway(config.kafka, metrics);
  const schemas = new SchemaStore(config.schemaBaseUris);
  const sanitizer = new Sanitizer(
    new SuppressionIndex(config.sanitize.maxSuppressedRevisions),
    new RedactedPages(config.mediawikiRedactedPages),
    topicPolicies(() => catalogue.current()),
    metrics,
    logger,
  );
  // Where each schema's events carry revision parts: derived once per catalogue, read per event.
  const warn = (fields: object, message: string) => logger.warn(fields, message);
  sanitizer.shapes = await loadShapes(catalogue.current().streams, schemas, warn);
  catalogue.onChange((next) => {
    loadShapes(next.streams, schemas, warn)
      .then((shapes) => {
        sanitizer.shapes = shapes;
      })
      .catch((error: unknown) => logger.error({ err: error }, 'rebuilding the sanitizer shapes failed; keeping the previous ones'));
  });
  const follower = new SuppressionFollower(gateway, (event) => sanitizer.learn(event), logger);
  const visibility = config.sanitize.visibilityStreams.flatMap((name) => catalogue.current().get(name)?.topics ?? []);
  follower.start([...new Set(visibility)]);
  // The streams' side: where events come from, who may stream, what each kind of client is sent.
  const flush = new FlushQueue(undefined, (seconds) => metrics.writePass.observe(seconds));
  const source: EventSource =
    config.fanout.mode === 'shared'
      ? new FanoutHub(gateway, config, sanitizer, metrics, logger, () => flush.groupsPending)
      : new PerConnectionSource(gateway, config.maxEventBytes, sanitizer, metrics, logger);
  const cohorts = config.fanout.mode === 'shared' && config.fanout.cohorts ? new Cohorts(source) : undefined;
  metrics.countCohorts = () => cohorts?.size ?? 0;
  // Ticks often enough for the heartbeat interval, at most once a second.
  const sessions = new SessionRegistry(Math.min(1000, Math.max(50, Math.floor((config.heartbeatInterval || 1000) / 4))));
  const guard = new LoadGuard(config.fanout.totalBacklogBytes, config.fanout.maxEventLoopLagMs);
  const clientIpPolicy: ClientIpPolicy = { trust: compileTrust(config.trustedProxies) };
  if (config.clientIpHeader !== undefined) clientIpPolicy.header = config.clientIpHeader;
  const readiness = new Readiness(() => gateway.ping(), Math.min(READINESS_TIMEOUT_MS, config.kafka.requestTimeoutMs));
  const compression = new Compression(config.compression);
  metrics.countSharedHistories = () => compression.sharedHistories;
  metrics.countSharedZstdStreams = () => compression.sharedZstdStreams;
  const server = await buildApp({
    config,
    catalogue: () => catalogue.current(),
    schemas,
    metrics,
    logger,
    readiness,
    clientIpPolicy,
    source,
    sessions,
    slots: new StreamSlots(config.clientIpConnectionLimit, config.connections.maxStreams),
    guard,
    flush,
    ...(cohorts !== undefined ? { cohorts } : {}),
    positions: new PositionStates(),
    compression,
    selections: new Selections(schemas, sanitizer, config.filters.maxCost, logger),
    liveSelections: new LiveSelections(config.filters.maxTotalCost, {
      changed: (selections, spent) => {
        metrics.liveSelections.set(selections);
        metrics.filterCost.set(spent);
      },
    }),
    suppressionsReady: (timeoutMs) => follower.ready(timeoutMs),
  });
  // A reconnect storm arrives all at once: queue connections up to the kernel's usual limit, and accept many per turn.
  const listening = await listen(server, {
    port: config.port,
    host: config.listenAddress,
    backlog: 4096,
    sockets: config.connections.acceptSockets,
    maxConnections: config.connections.maxConnections,
    dropped: () => metrics.droppedConnections.inc(),
  });
  metrics.countConnections = () => listening.connections;
  const url = listening.url;
  return {
    server,
    sessions,
    catalogue,
    url: url.replace('0.0.0.0', '127.0.0.1'),
    reload(next) {
      sanitizer.pages.replace(next.mediawikiRedactedPages);
      logger.info({ pages: sanitizer.pages.size }, 'redacted pages reloaded');
    },
    async stop() {
      // Unready first so balancers move new clients elsewhere; then streams end with reconnection advice.
      readiness.drain();
      await sessions.drain(config.connections.shutdownDrainMs, config.connections.reconnectDelayMs);
      sessions.stop();
      guard.stop();
      listening.close();
      await server.close();
      await source.stop();
      await follower.stop();
      catalogue.stop();
      await gateway.close();
    },
  };
}
