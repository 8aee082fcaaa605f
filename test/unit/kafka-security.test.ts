import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KafkaConfig } from '../../src/config/types.ts';
import { securityOptions } from '../../src/kafka/connection-options.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'es-kafka-security-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function kafka(overrides: Partial<KafkaConfig>): KafkaConfig {
  return { brokers: ['kafka1.example.org:9093'], clientId: 't', fetchMaxWaitMs: 500, fetchMaxBytesPerPartition: 1 << 20, requestTimeoutMs: 1000, ...overrides };
}

describe('Kafka client security options', () => {
  it('are empty for plaintext', () => {
    expect(securityOptions(kafka({}))).toEqual({});
  });

  it('read the TLS files once and pass SASL through, with SNI for named brokers only', async () => {
    const files = { caFile: path.join(dir, 'ca.pem'), certFile: path.join(dir, 'c.pem'), keyFile: path.join(dir, 'k.pem') };
    for (const [name, file] of Object.entries(files)) await writeFile(file, `PEM of ${name}`);
    const config = kafka({ tls: files, sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' } });
    const options = securityOptions(config);
    expect(options.tls).toEqual({ ca: Buffer.from('PEM of caFile'), cert: Buffer.from('PEM of certFile'), key: Buffer.from('PEM of keyFile') });
    expect(options.sasl).toEqual({ mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' });
    expect(options.tlsServerName).toBe(true);
    await rm(files.caFile);
    expect(securityOptions(config)).toBe(options);
    expect(securityOptions(kafka({ brokers: ['10.0.0.1:9093', '[::1]:9093'], tls: {} }))).toEqual({ tls: {} });
  });

  it('name the setting whose file cannot be read', () => {
    expect(() => securityOptions(kafka({ tls: { caFile: path.join(dir, 'missing.pem') } }))).toThrow(/kafka\.ssl\.ca\.location .*missing\.pem/);
  });
});
