import pino, { type DestinationStream, type Logger } from 'pino';
import type { ServiceConfig } from './config/types.ts';

/**
 * Where secrets would sit in anything logged that carries the Kafka settings or a client's
 * connection options (`kafka.sasl`, the TLS key read from `ssl.key.location`), up to two levels
 * deep: never written, whatever a future log line or error includes.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'sasl.password',
  '*.sasl.password',
  '*.*.sasl.password',
  'tls.key',
  '*.tls.key',
  '*.*.tls.key',
];

/** JSON lines for machines; readable lines when a person watches the terminal. */
export function createLogger(level: ServiceConfig['logLevel'], pretty = process.stdout.isTTY === true, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'eventstreams' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
