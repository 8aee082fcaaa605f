/** The real entry point as a user runs it: `node src/main.ts`, in demo mode and against given brokers. */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { getLocalKafkaStatus } from '../../scripts/lib/local-kafka.ts';
import { rcEvent } from '../support/events.ts';
import { produceJson, testBrokers, uniqueTopic } from '../support/kafka.ts';
import { exited, freePortPair, MAIN, startMain } from '../support/main-process.ts';
import { openRaw } from '../support/sse.ts';

describe('node src/main.ts', () => {
  it('demo mode: starts a local Kafka, replays recorded events live, and stops everything on SIGTERM', async () => {
    const kafkaPort = await freePortPair();
    const { child, url } = await startMain({ PORT: '0', KAFKA_BROKERS: '', KAFKA_PORT: String(kafkaPort) });
    const done = exited(child);
    try {
      const stream = await openRaw(`${url}/v2/stream/recentchange,mediawiki.page_change.v1`);
      await stream.until((s) => s.messages().length >= 5, 30_000);
      const events = stream.messages().map((m) => m.data as { meta: { domain: string; dt: string; topic: string } });
      expect(events.every((e) => e.meta.domain !== 'canary')).toBe(true);
      expect(events.some((e) => e.meta.topic.endsWith('mediawiki.recentchange'))).toBe(true);
      expect(Date.now() - Date.parse(events[0]?.meta.dt ?? '')).toBeLessThan(60_000);
      expect((await getLocalKafkaStatus({ port: kafkaPort })).running).toBe(true);
      child.kill('SIGTERM');
      await stream.ended;
      expect(stream.text()).toMatch(/retry: \d+\n\n$/);
      expect(await done).toBe(0);
      expect((await getLocalKafkaStatus({ port: kafkaPort })).running).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  }, 180_000);

  it('with --config and real brokers: streams, then ends streams properly on SIGTERM', async () => {
    const topic = await uniqueTopic('eqiad.main', 1);
    const dir = await mkdtemp(join(tmpdir(), 'eventstreams-main-'));
    const config = join(dir, 'config.yaml');
    await writeFile(config, stringify({ port: 0, listen_address: '127.0.0.1', kafka: { 'metadata.broker.list': testBrokers().join(',') }, streams: { main: { topics: [topic] } } }));
    const since = Date.now() - 1000;
    await produceJson(testBrokers(), topic, [{ value: rcEvent(0, { seq: 0 }) }]);
    const { child, url, output } = await startMain({}, ['--config', config]);
    const done = exited(child);
    try {
      const stream = await openRaw(`${url}/v2/stream/main?since=${since}`);
      await stream.until((s) => s.messages().length >= 1);
      child.kill('SIGTERM');
      await stream.ended;
      expect(stream.text()).toMatch(/retry: \d+\n\n$/);
      expect(await done).toBe(0);
      // Not a terminal: pino JSON lines, the close line with the stream's figures and why it ended.
      const closed = output()
        .split('\n')
        .filter((line) => line.includes('"stream closed"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(closed).toHaveLength(1);
      expect(closed[0]).toMatchObject({ level: 30, streams: ['main'], clientIp: '127.0.0.0', eventsSent: 1, reason: 'shutdown', reqId: expect.any(String) });
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('fails fast with a message naming the key when the config is invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eventstreams-bad-'));
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'port: "eighty"\n');
    const child = spawn(process.execPath, [MAIN, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    expect(await exited(child)).toBe(2);
    expect(stderr).toMatch(/port/);
    expect(stderr).toContain(config);
  });
});
