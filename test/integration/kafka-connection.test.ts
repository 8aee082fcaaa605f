/**
 * Against a broker of its own (not the shared test broker, which must keep running): readiness
 * while that broker stops and returns, and connecting with TLS and SASL PLAIN to a SASL_SSL listener.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { LocalKafkaError, startLocalKafka, type LocalKafka } from '../../scripts/lib/local-kafka.ts';
import { repoRoot } from '../../scripts/lib/repo-root.ts';
import type { RunningService } from '../../src/service.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson } from '../support/kafka.ts';
import { startTestService } from '../support/service.ts';
import { getJson, openRaw } from '../support/sse.ts';

const USER = 'eventstreams';
const PASSWORD = 'not-a-real-secret';
const TOPIC = 'eqiad.secured';

let dir: string;
// Under .kafka/test-*, where CI's cleanup finds a broker that a crashed run left behind.
const dataDir = join(repoRoot, '.kafka', `test-own-${process.pid}`);
let kafka: LocalKafka | undefined;
let ports: { plain: number; secure: number };
let overrides: Record<string, string>;
const services: RunningService[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eventstreams-broker-'));
  const keystore = await makeCertificates(dir);
  ({ kafka, ports, overrides } = await startBroker(dataDir, keystore));
  await ensureTopics(kafka.brokers, [{ name: TOPIC, partitions: 1 }]);
}, 180_000);

afterAll(async () => {
  for (const service of services) await service.stop();
  await kafka?.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function serviceFor(kafkaSettings: Record<string, unknown>): Promise<RunningService> {
  const service = await startTestService({ secured: { topics: [TOPIC] } }, { kafka: { request_timeout_ms: 2000, ...kafkaSettings } });
  services.push(service);
  return service;
}

const readiness = async (service: RunningService) => (await getJson(`${service.url}/_ready`)).status;
const secureListener = { 'security.protocol': 'sasl_ssl' };

describe('TLS and SASL towards the brokers', () => {
  it('streams from a SASL_SSL listener with the CA and SASL PLAIN credentials of the config', async () => {
    const service = await serviceFor({
      ...secureListener,
      brokers: [`127.0.0.1:${ports.secure}`],
      'ssl.ca.location': join(dir, 'ca.pem'),
      'sasl.mechanisms': 'PLAIN',
      'sasl.username': USER,
      'sasl.password': PASSWORD,
    });
    expect(await readiness(service)).toBe(200);
    const client = await openRaw(`${service.url}/v2/stream/secured`);
    try {
      expect(client.status).toBe(200);
      await client.until((s) => s.text().startsWith(':ok'));
      await produceJson([`127.0.0.1:${ports.plain}`], TOPIC, [{ value: rcEvent(1) }]);
      await client.until((s) => s.messages().length >= 1);
      expect(client.messages()[0]?.data.meta).toMatchObject({ topic: TOPIC, partition: 0 });
    } finally {
      client.close();
    }
  });

  it('is not ready with a wrong password, or when the broker certificate is not trusted', async () => {
    const common = { ...secureListener, brokers: [`127.0.0.1:${ports.secure}`], 'sasl.mechanisms': 'PLAIN', 'sasl.username': USER };
    const wrongPassword = await serviceFor({ ...common, 'ssl.ca.location': join(dir, 'ca.pem'), 'sasl.password': 'wrong' });
    const untrusted = await serviceFor({ ...common, 'sasl.password': PASSWORD });
    expect(await readiness(wrongPassword)).toBe(503);
    expect(await readiness(untrusted)).toBe(503);
    const refused = await getJson(`${wrongPassword.url}/v2/stream/secured`);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ type: 'kafka_unavailable' });
  });
});

describe('readiness', () => {
  it('flips to 503 when Kafka stops and back to 200 when it returns, while /_info stays cheap', async () => {
    const service = await serviceFor({ brokers: [`127.0.0.1:${ports.plain}`] });
    expect(await readiness(service)).toBe(200);
    await kafka?.stop();
    kafka = undefined;
    await expect.poll(() => readiness(service), { timeout: 15_000, interval: 250 }).toBe(503);
    const down = await getJson(`${service.url}/_ready`);
    expect(down.body).toMatchObject({ type: 'kafka_unavailable', status: 503 });
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    const started = Date.now();
    expect((await getJson(`${service.url}/_info`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(500);

    kafka = await startLocalKafka({ port: ports.plain, dataDir, overrides });
    await expect.poll(() => readiness(service), { timeout: 30_000, interval: 500 }).toBe(200);
  }, 120_000);
});

/** A CA and a broker certificate for 127.0.0.1 it signed; returns the broker's PEM keystore (key + certificate). */
async function makeCertificates(target: string): Promise<string> {
  const file = (name: string) => join(target, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: target, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=eventstreams test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1');
  await writeFile(file('broker.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '2', '-extfile', 'broker.ext');
  const keystore = file('broker-keystore.pem');
  await writeFile(keystore, (await readFile(file('broker.key'), 'utf8')) + (await readFile(file('broker.pem'), 'utf8')));
  return keystore;
}

/** A broker with a PLAINTEXT listener (admin, producing) and a SASL_SSL one (PLAIN) on free ports. */
async function startBroker(dataDir: string, keystore: string): Promise<{ kafka: LocalKafka; ports: { plain: number; secure: number }; overrides: Record<string, string> }> {
  for (let attempt = 0; ; attempt++) {
    const [plain, secure] = [await freePort(), await freePort()];
    if (plain >= 65535 || plain + 1 === secure) continue;
    const overrides = {
      listeners: `PLAINTEXT://127.0.0.1:${plain},SASL_SSL://127.0.0.1:${secure},CONTROLLER://127.0.0.1:${plain + 1}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${plain},SASL_SSL://127.0.0.1:${secure}`,
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${USER}="${PASSWORD}";`,
      'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
      'listener.name.sasl_ssl.ssl.keystore.location': keystore,
    };
    try {
      return { kafka: await startLocalKafka({ port: plain, dataDir, fresh: true, overrides }), ports: { plain, secure }, overrides };
    } catch (error) {
      if (!(error instanceof LocalKafkaError && error.code === 'PORT_IN_USE') || attempt >= 5) throw error;
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
