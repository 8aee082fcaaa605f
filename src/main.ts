import { ConfigError, loadConfig } from './config/load.ts';
import { startDemoData, startDemoKafka } from './demo/backend.ts';
import { createLogger } from './log.ts';
import { startService } from './service.ts';

/**
 * `npm start [-- --config file.yaml]`. With no Kafka brokers configured it runs the demo: a local
 * Kafka with the catalogue's topics and recorded events replayed into them live.
 */
async function main(): Promise<void> {
  let loaded;
  try {
    loaded = await loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`eventstreams: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const { config, warnings, source } = loaded;
  const logger = createLogger(config.logLevel);
  for (const warning of warnings) logger.warn(warning);
  logger.info({ config: source }, 'configuration loaded');

  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
  };
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: ending open streams');
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const demo = config.kafka.brokers.length === 0;
    if (demo) {
      const kafka = await startDemoKafka(logger);
      cleanups.push(() => kafka.stop());
      config.kafka.brokers = kafka.brokers;
    }
    const service = await startService(config, logger);
    cleanups.push(() => service.stop());
    if (demo) {
      const replay = await startDemoData(config.kafka.brokers, service.catalogue.current().streams, logger);
      cleanups.splice(cleanups.length - 1, 0, () => replay.stop());
    }
    // SIGHUP re-reads the config file for what can change without a restart (the redacted pages).
    process.on('SIGHUP', () => {
      loadConfig({ argv: process.argv.slice(2), env: process.env })
        .then((next) => service.reload(next.config))
        .catch((error: unknown) => logger.error({ err: error }, 'SIGHUP: config reload failed; keeping the current settings'));
    });
    logger.info(`serving on ${service.url} — try: curl -s ${service.url}/v2/stream/recentchange`);
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    await stopAll();
    process.exit(1);
  }
}

await main();
