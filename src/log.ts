import pino, { type Logger } from 'pino';
import type { ServiceConfig } from './config/types.ts';

/** JSON lines for machines; readable lines when a person watches the terminal. */
export function createLogger(level: ServiceConfig['logLevel'], pretty = process.stdout.isTTY === true): Logger {
  return pino({
    level,
    base: { service: 'eventstreams' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
