import type { Logger } from 'pino';
import { CatalogueHolder } from './catalogue/holder.ts';
import { SchemaStore } from './catalogue/schemas.ts';
import type { ServiceConfig } from './config/types.ts';
import { buildApp, type App } from './http/app.ts';
import { KafkaGateway } from './kafka/gateway.ts';
import { Metrics } from './metrics/registry.ts';
import { loadShapes } from './sanitize/load-shapes.ts';
import { RedactedPages } from './sanitize/redacted-pages.ts';
import { Sanitizer } from './sanitize/sanitizer.ts';
import { SuppressionFollower } from './sanitize/suppression-follower.ts';
import { SuppressionIndex } from './sanitize/suppression-index.ts';
import { topicPolicies } from './sanitize/topic-policies.ts';

export interface RunningService {
  app: App;
  catalogue: CatalogueHolder;
  /** The address the HTTP server listens on, e.g. `http://127.0.0.1:8092`. */
  url: string;
  /** Applies what can change without a restart (the redacted pages) from a freshly loaded config. */
  reload(config: Pick<ServiceConfig, 'mediawikiRedactedPages'>): void;
  /** Ends every stream properly, then releases Kafka and timers. */
  stop(): Promise<void>;
}

/** Loads the catalogue, connects to Kafka and serves HTTP: the whole service, without the demo. */
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
  const app = await buildApp({
    config,
    catalogue: () => catalogue.current(),
    gateway,
    schemas,
    sanitizer,
    suppressionsReady: (timeoutMs) => follower.ready(timeoutMs),
    metrics,
    logger,
  });
  // A reconnect storm arrives all at once: queue connections up to the kernel's usual limit.
  const url = await app.server.listen({ port: config.port, host: config.listenAddress, backlog: 4096 });
  return {
    app,
    catalogue,
    url: url.replace('0.0.0.0', '127.0.0.1'),
    reload(next) {
      sanitizer.pages.replace(next.mediawikiRedactedPages);
      logger.info({ pages: sanitizer.pages.size }, 'redacted pages reloaded');
    },
    async stop() {
      await app.shutdown();
      await follower.stop();
      catalogue.stop();
      await gateway.close();
    },
  };
}
