import type { ConnectionOptions } from '@platformatic/kafka';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { KafkaConfig } from '../config/types.ts';

/** The TLS and SASL part of a Kafka client's options. */
export type SecurityOptions = Pick<ConnectionOptions, 'tls' | 'tlsServerName' | 'sasl'>;

// Every reader creates a client; the PEM files are read once per configuration.
const cache = new WeakMap<KafkaConfig, SecurityOptions>();

/**
 * TLS (`kafka.tls`: CA, client certificate and key read from their files) and SASL (`kafka.sasl`)
 * for @platformatic/kafka's clients. Throws an error naming the setting when a file cannot be read.
 */
export function securityOptions(config: KafkaConfig): SecurityOptions {
  let options = cache.get(config);
  if (options === undefined) {
    options = {};
    if (config.tls !== undefined) {
      const { caFile, certFile, keyFile } = config.tls;
      options.tls = {
        ...(caFile !== undefined ? { ca: readPem(caFile, 'ssl.ca.location') } : {}),
        ...(certFile !== undefined ? { cert: readPem(certFile, 'ssl.certificate.location') } : {}),
        ...(keyFile !== undefined ? { key: readPem(keyFile, 'ssl.key.location') } : {}),
      };
      // SNI with the broker's host name, which proxies and cloud clusters route by (never for IPs, where SNI is not allowed).
      if (config.brokers.every((broker) => isIP(hostOf(broker)) === 0)) options.tlsServerName = true;
    }
    if (config.sasl !== undefined) options.sasl = { ...config.sasl };
    cache.set(config, options);
  }
  return options;
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot read kafka.${key} ${file}: ${reason}`, { cause: error });
  }
}

/** `host` of `host:port` or `[v6]:port`. */
function hostOf(broker: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(broker);
  if (bracketed !== null) return bracketed[1] ?? '';
  const colon = broker.lastIndexOf(':');
  return colon < 0 ? broker : broker.slice(0, colon);
}
