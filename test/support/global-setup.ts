/**
 * Vitest global setup: one fresh local Kafka broker for the whole test run.
 *
 *   TEST_KAFKA_PORT     client port (default 19092; the controller uses port + 1);
 *                       data in .kafka/test-<port>, wiped at every run.
 *   TEST_KAFKA_BROKERS  use this already running cluster instead (comma-separated host:port);
 *                       nothing is started or stopped.
 *   TEST_KAFKA=off      start nothing (unit tests only); testBrokers() then throws.
 *
 * Several test runs can share the working tree: each run claims its port with
 * .kafka/test-<port>.owner (the vitest pid). Without TEST_KAFKA_PORT, a run that finds 19092
 * claimed by a live run (or taken by another process) moves on to 19094, 19096, ...; a broker
 * left behind by a run that died is stopped and replaced. An interrupted run (Ctrl-C) sends the
 * broker SIGTERM when vitest exits.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { LocalKafkaError, startLocalKafka, type LocalKafka } from '../../scripts/lib/local-kafka.ts';
import { repoRoot } from '../../scripts/lib/repo-root.ts';

const DEFAULT_PORT = 19092;
const MAX_PORT_TRIES = 10;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims a port for this process; false when a live process holds the claim. */
function claim(ownerFile: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(ownerFile, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(ownerFile, 'utf8').trim());
      } catch {
        // vanished meanwhile: retry
      }
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) return false;
      rmSync(ownerFile, { force: true }); // stale claim of a dead run
    }
  }
  return false;
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env['TEST_KAFKA_BROKERS'];
  if (external !== undefined && external.trim() !== '') {
    project.provide('kafkaBrokers', external.split(',').map((b) => b.trim()).filter((b) => b !== ''));
    return undefined;
  }
  if (process.env['TEST_KAFKA'] === 'off') {
    project.provide('kafkaBrokers', []);
    return undefined;
  }

  const explicit = process.env['TEST_KAFKA_PORT'];
  const basePort = explicit !== undefined && explicit !== '' ? Number(explicit) : DEFAULT_PORT;
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65534) {
    throw new Error(`TEST_KAFKA_PORT: invalid port ${JSON.stringify(explicit)}`);
  }
  const tries = explicit ? 1 : MAX_PORT_TRIES;
  const kafkaHome = join(repoRoot, '.kafka');
  mkdirSync(kafkaHome, { recursive: true });

  const started = Date.now();
  let kafka: LocalKafka | undefined;
  let ownerFile = '';
  const skipped: string[] = [];
  for (let i = 0; i < tries && kafka === undefined; i++) {
    const port = basePort + 2 * i; // port + 1 is the controller port
    ownerFile = join(kafkaHome, `test-${port}.owner`);
    if (!claim(ownerFile)) {
      skipped.push(`${port} (claimed by a running test process)`);
      continue;
    }
    try {
      kafka = await startLocalKafka({
        port,
        dataDir: join(kafkaHome, `test-${port}`),
        fresh: true,
        // Tests produce records with old explicit timestamps; with time-based retention the
        // broker deletes them as soon as its first retention check runs (30 s after start).
        overrides: { 'log.retention.ms': -1 },
      });
    } catch (err) {
      rmSync(ownerFile, { force: true });
      if (!explicit && err instanceof LocalKafkaError && err.code === 'PORT_IN_USE') {
        skipped.push(`${port} (in use)`);
        continue;
      }
      throw err;
    }
  }
  if (kafka === undefined) {
    throw new Error(`global setup: no port for the test Kafka; tried ${skipped.join(', ')}. Set TEST_KAFKA_PORT.`);
  }
  if (process.env['CI'] || skipped.length > 0) {
    const note = skipped.length > 0 ? ` (skipped ${skipped.join(', ')})` : '';
    console.log(`[global-setup] kafka ${kafka.brokers.join(',')} ready in ${((Date.now() - started) / 1000).toFixed(1)} s${note}`);
  }
  project.provide('kafkaBrokers', kafka.brokers);

  const broker = kafka;
  const claimed = ownerFile;
  let stopped = false;
  // The JVM runs detached, so a Ctrl-C does not reach it; when vitest exits without running the
  // teardown (interrupted run), ask the broker to shut down on its way out.
  const onExit = (): void => {
    if (stopped) return;
    try {
      process.kill(broker.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    rmSync(claimed, { force: true });
  };
  process.once('exit', onExit);
  return async () => {
    try {
      await broker.stop();
    } finally {
      stopped = true;
      process.removeListener('exit', onExit);
      rmSync(claimed, { force: true });
    }
  };
}
