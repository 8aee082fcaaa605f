import type { Logger } from 'pino';
import { CatalogueHolder } from './catalogue/holder.ts';
import { SchemaStore } from './catalogue/schemas.ts';
import type { ServiceConfig } from './config/types.ts';
import { buildApp, type App } from './http/app.ts';
import { KafkaGateway } from './kafka/gateway.ts';
import { Metrics } from './metrics/registry.ts';

export interface RunningService {
  app: App;
  catalogue: CatalogueHolder;
  /** The address the HTTP server listens on, e.g. `http://127.0.0.1:8092`. */
  url: string;
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
  const app = await buildApp({ config, catalogue: () => catalogue.current(), gateway, schemas, metrics, logger });
  // A reconnect storm arrives all at once: queue connections up to the kernel's usual limit.
  const url = await app.server.listen({ port: config.port, host: config.listenAddress, backlog: 4096 });
  return {
    app,
    catalogue,
    url: url.replace('0.0.0.0', '127.0.0.1'),
    async stop() {
      await app.shutdown();
      catalogue.stop();
      await gateway.close();
    },
  };
}
