import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { clientIpLogField } from '../../src/http/client-ip.ts';
import { securityOptions } from '../../src/kafka/connection-options.ts';
import { createLogger } from '../../src/log.ts';

describe('clientIpLogField', () => {
  it.each([
    ['198.51.100.23', '198.51.100.0'],
    ['10.0.0.255', '10.0.0.0'],
    ['::ffff:198.51.100.23', '198.51.100.0'],
    ['2001:db8:abcd:12:0:0:0:5', '2001:db8:abcd::'],
    ['2001:db8::5', '2001:db8::'],
    ['::1', '::'],
    ['fe80::1%eth0', 'fe80::'],
    ['2001:db8:abcd:12::198.51.100.1', '2001:db8:abcd::'],
    ['unknown', 'invalid'],
    ['198.51.100.23:443', 'invalid'],
    ['<script>', 'invalid'],
    ['127.1', 'invalid'],
    ['0x7f.0.0.1', 'invalid'],
  ])('truncated: %s is logged as %s', (ip, logged) => {
    expect(clientIpLogField(ip, 'truncated')).toEqual({ clientIp: logged });
  });

  it('full keeps the address, none leaves the field out', () => {
    expect(clientIpLogField('198.51.100.23', 'full')).toEqual({ clientIp: '198.51.100.23' });
    expect(clientIpLogField('198.51.100.23', 'none')).toEqual({});
  });
});

describe('createLogger', () => {
  it('redacts the SASL password and the TLS key wherever the Kafka settings or client options are logged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eventstreams-redact-'));
    const file = join(dir, 'config.yaml');
    await writeFile(join(dir, 'client.key'), 'PRIVATE-KEY-BYTES-0xabc');
    const kafka = { brokers: ['k:9093'], 'security.protocol': 'sasl_ssl', 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'u', 'sasl.password': 'hunter2-secret', 'ssl.key.location': 'client.key' };
    await writeFile(file, stringify({ kafka }));
    const { config } = await loadConfig({ argv: ['--config', file], env: {} });
    let output = '';
    const logger = createLogger('info', false, { write: (line: string) => void (output += line) });
    logger.info({ kafka: config.kafka }, 'settings');
    logger.info({ options: securityOptions(config.kafka) }, 'client options');
    logger.error({ err: Object.assign(new Error('connect failed'), { connection: securityOptions(config.kafka) }) }, 'failed');
    logger.info({ config }, 'whole config');
    expect(output.split('\n').filter((l) => l !== '')).toHaveLength(4);
    expect(output).not.toContain('hunter2-secret');
    expect(output).not.toContain('PRIVATE-KEY-BYTES');
    expect(output).toContain('[redacted]');
    expect(output).toContain('"username":"u"');
  });
});
