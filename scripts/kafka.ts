/**
 * Local Kafka for development, the demo and the fault tests: one node, or a cluster.
 *
 *   node scripts/kafka.ts start [--port N] [--brokers N] [--data-dir DIR] [--fresh] [--verbose]
 *   node scripts/kafka.ts stop [--port N] [--data-dir DIR]
 *   node scripts/kafka.ts status [--port N] [--data-dir DIR]
 *   node scripts/kafka.ts fetch      (only download the broker jars into .kafka/lib)
 *
 * Port: --port, else KAFKA_PORT, else 9092. Data lives in --data-dir, else .kafka/<port>; the
 * broker keeps running after `start` returns, until `stop`. `stop` only ever signals the pids
 * recorded in the data directory (a cluster's in its node-<id>/ directories), and only if each is
 * that directory's broker. `--brokers 3`: three combined broker+controller nodes on ports N to
 * N+5 (client, controller for each), replication factor 3, `min.insync.replicas` 2.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  defaultDataDir,
  defaultKafkaPort,
  ensureKafkaJars,
  getLocalKafkaStatus,
  startLocalKafka,
  stopLocalKafka,
} from './lib/local-kafka.ts';

const USAGE = 'usage: node scripts/kafka.ts start|stop|status|fetch [--port N] [--brokers N] [--data-dir DIR] [--fresh] [--verbose]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      brokers: { type: 'string', default: '1' },
      'data-dir': { type: 'string' },
      fresh: { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || positionals.length !== 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const port = values.port !== undefined ? Number(values.port) : defaultKafkaPort();
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir(port));
  const log = values.verbose ? (msg: string) => console.error(msg) : undefined;

  switch (command) {
    case 'start': {
      const started = Date.now();
      const kafka = await startLocalKafka({ port, dataDir, nodes: Number(values.brokers), fresh: values.fresh, ...(log ? { log } : {}) });
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`kafka running at ${kafka.brokers.join(',')} (pid ${kafka.nodes.map((n) => n.pid).join(', ')}, ${secs} s, data ${kafka.dataDir})`);
      return 0;
    }
    case 'stop': {
      const stopped = await stopLocalKafka(dataDir, log);
      console.log(stopped ? `kafka stopped (data ${dataDir})` : `kafka was not running (data ${dataDir})`);
      return 0;
    }
    case 'status': {
      const s = await getLocalKafkaStatus({ port, dataDir });
      if (s.running) {
        console.log(`kafka running at ${s.brokers.join(',')} (pid ${s.pid}, data ${s.dataDir})`);
        return 0;
      }
      if (s.starting) {
        console.log(`kafka pid ${s.pid} is alive but ${s.brokers.join(',')} does not answer yet (data ${s.dataDir})`);
        return 1;
      }
      console.log(`kafka not running (data ${s.dataDir})`);
      return 1;
    }
    case 'fetch': {
      const started = Date.now();
      const fetched = await ensureKafkaJars(log);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(fetched ? `kafka jars fetched into .kafka/lib (${secs} s)` : 'kafka jars already in .kafka/lib');
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
