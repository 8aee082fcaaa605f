/**
 * What the service writes to its logs about clients and credentials: client IPs only as far as
 * `log_client_ip` allows, and never the Kafka SASL password or the TLS private key.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RunningService } from '../../src/service.ts';
import { testBrokers, uniqueTopic } from '../support/kafka.ts';
import { exited, startMain } from '../support/main-process.ts';
import { startTestService } from '../support/service.ts';
import { getJson, openRaw } from '../support/sse.ts';

const PASSWORD = 'pw-7f3a9c-never-logged';
const KEY_MARKER = 'KEYMATERIAL4d1e0bNEVERLOGGED';
const CLIENTS = [
  { header: '198.51.100.23', logged: '198.51.100.0' },
  { header: '2001:db8:abcd:12::5', logged: '2001:db8:abcd::' },
  { header: '::ffff:203.0.113.77', logged: '203.0.113.0' },
  // Not an address: the client is counted and logged under the socket's address.
  { header: 'evil</script>;rm -rf', logged: '127.0.0.0' },
];

async function configFile(settings: Record<string, unknown>): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'eventstreams-logs-'));
  const file = join(dir, 'config.yaml');
  await writeFile(file, stringify({ port: 0, listen_address: '127.0.0.1', ...settings }));
  return { dir, file };
}

type LogLine = Record<string, unknown>;
const jsonLines = (output: string): LogLine[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

/** Opens a stream as `ip` (through the trusted header), waits for its first bytes and closes it. */
async function openAndClose(url: string, ip: string | undefined): Promise<void> {
  const stream = await openRaw(url, ip === undefined ? {} : { 'x-client-ip': ip });
  expect(stream.status).toBe(200);
  await stream.until((s) => s.text().startsWith(':ok'));
  stream.close();
}

describe('client IPs in the logs of node src/main.ts (default log_client_ip: truncated)', () => {
  it('logs the network of each client, never its address or what a header made up', async () => {
    const topic = await uniqueTopic('eqiad.logs.ip', 1);
    const { file } = await configFile({ kafka: { brokers: testBrokers() }, client_ip_header: 'x-client-ip', streams: { logged: { topics: [topic] } } });
    const { child, url, output } = await startMain({}, ['--config', file]);
    const done = exited(child);
    try {
      for (const client of [...CLIENTS.map((c) => c.header), undefined]) await openAndClose(`${url}/v2/stream/logged`, client);
      await expect.poll(() => jsonLines(output()).filter((l) => l['msg'] === 'stream closed').length).toBe(CLIENTS.length + 1);
      child.kill('SIGTERM');
      expect(await done).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const lines = jsonLines(output()).filter((l) => l['msg'] === 'stream opened' || l['msg'] === 'stream closed');
    const logged = [...new Set(lines.map((l) => l['clientIp']))];
    expect(logged.sort()).toEqual([...new Set([...CLIENTS.map((c) => c.logged), '127.0.0.0'])].sort());
    for (const client of CLIENTS) expect(output()).not.toContain(client.header);
    expect(output()).not.toContain('127.0.0.1"');
  }, 60_000);
});

describe('log_client_ip', () => {
  const services: RunningService[] = [];
  afterAll(async () => {
    for (const service of services) await service.stop();
  });

  it.each([
    ['full', CLIENTS[0]?.header],
    ['none', undefined],
  ] as const)('%s', async (mode, expected) => {
    const topic = await uniqueTopic(`eqiad.logs.${mode}`, 1);
    const lines: LogLine[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
    const service = await startTestService({ logged: { topics: [topic] } }, { client_ip_header: 'x-client-ip', log_client_ip: mode }, logger);
    services.push(service);
    await openAndClose(`${service.url}/v2/stream/logged`, CLIENTS[0]?.header);
    await expect.poll(() => lines.filter((l) => l['msg'] === 'stream closed').length).toBe(1);
    const streamLines = lines.filter((l) => l['msg'] === 'stream opened' || l['msg'] === 'stream closed');
    expect(streamLines).toHaveLength(2);
    for (const line of streamLines) expect(line['clientIp']).toBe(expected);
    if (expected === undefined) expect(JSON.stringify(lines)).not.toContain('198.51.100');
  });
});

describe('Kafka credentials in the logs of node src/main.ts', () => {
  // The test broker's plaintext listener: the SASL handshake (sasl_plaintext) or the TLS handshake
  // with the client key (sasl_ssl) fails there, so the error paths that carry connection details log.
  it.each(['sasl_plaintext', 'sasl_ssl'])('%s: never writes the SASL password or the TLS key, also at debug level while connecting fails', async (protocol) => {
    const { dir, file } = await configFile({
      kafka: {
        brokers: testBrokers(),
        request_timeout_ms: 1000,
        'security.protocol': protocol,
        'sasl.mechanisms': 'SCRAM-SHA-512',
        'sasl.username': 'eventstreams',
        'sasl.password': PASSWORD,
        ...(protocol === 'sasl_ssl' ? { 'ssl.certificate.location': 'client.pem', 'ssl.key.location': 'client.key' } : {}),
      },
      streams: { secured: { topics: ['eqiad.logs.secured'] } },
    });
    await writeFile(join(dir, 'client.pem'), `-----BEGIN CERTIFICATE-----\n${KEY_MARKER}\n-----END CERTIFICATE-----\n`);
    await writeFile(join(dir, 'client.key'), `-----BEGIN PRIVATE KEY-----\n${KEY_MARKER}\n-----END PRIVATE KEY-----\n`);
    const { child, url, output } = await startMain({ LOG_LEVEL: 'debug' }, ['--config', file]);
    try {
      expect((await getJson(`${url}/v2/stream/secured`)).status).toBe(503);
      expect((await getJson(`${url}/_ready`)).status).toBe(503);
      await expect.poll(() => jsonLines(output()).some((l) => l['msg'] === 'could not resolve stream positions in Kafka')).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    expect(output()).not.toContain(PASSWORD);
    expect(output()).not.toContain(KEY_MARKER);
  }, 60_000);
});
