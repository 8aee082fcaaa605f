/** Starts the real service in-process against the test broker, with inline streams. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { testBrokers } from './kafka.ts';

export interface TestStream {
  topics: string[];
  stream_aliases?: string[];
  description?: string;
  topics_allowed?: string[];
  drop_canary_events?: boolean;
  schema_title?: string;
  $schema?: string;
  remove_fields?: string[];
}

/** `logger` receives the service's log lines (default: silent unless TEST_LOG_LEVEL is set). */
export async function startTestService(streams: Record<string, TestStream>, settings: Record<string, unknown> = {}, logger?: Logger): Promise<RunningService> {
  const dir = await mkdtemp(join(tmpdir(), 'eventstreams-test-'));
  const file = join(dir, 'config.yaml');
  // The service shares this process's event loop with the test's own clients and parsing, so its
  // event-loop overload guard would measure the tests: it is set out of reach unless a test sets it.
  const fanout = { max_event_loop_lag_ms: 600_000, ...(settings.fanout as Record<string, unknown> | undefined) };
  await writeFile(
    file,
    // A test with a broker of its own names it in `settings.kafka`; the shared test broker is the default.
    // Tests open many streams from 127.0.0.1: the per-IP limit is off unless a test sets it.
    stringify({ port: 0, listen_address: '127.0.0.1', log_level: 'silent', kafka: settings.kafka ?? { brokers: testBrokers() }, client_ip_connection_limit: 0, streams, ...settings, fanout }),
  );
  const { config } = await loadConfig({ argv: ['--config', file], env: {} });
  const service = await startService(config, logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  const sockets = new Set<Socket>();
  service.server.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  openSockets.set(service, sockets);
  return service;
}

const openSockets = new WeakMap<RunningService, Set<Socket>>();

/**
 * Cuts every connection of a test service, as a crash or a network cut would (no clean end, no
 * trailer). Node's `closeAllConnections` does not reach streams: each frees its HTTP parser, which
 * takes it off the server's connection list (src/http/request-parser.ts).
 */
export function cutAllConnections(service: RunningService): void {
  for (const socket of openSockets.get(service) ?? []) socket.destroy();
}
