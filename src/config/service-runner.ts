import { ConfigError } from './errors.ts';
import { isObject, type RawObject } from './raw.ts';
import { configSchema } from './schema.ts';

const LOG_LEVELS = new Set<string>(configSchema.properties.log_level.enum);

/**
 * EventStreams ships as a service-runner app whose file wraps our keys in `services[0].conf`.
 * Accept that shape so an existing deployment file loads as-is; a plain document is returned unchanged.
 */
export function unwrapServiceRunner(doc: RawObject, file: string, warnings: string[]): RawObject {
  const services = doc['services'];
  if (services === undefined) return doc;
  if (!Array.isArray(services) || services.length === 0) {
    throw new ConfigError(`Invalid configuration file ${file}: services: must be a non-empty array of {name, conf}`, {
      file,
      key: 'services',
    });
  }
  const service: unknown = services[0];
  const conf = isObject(service) ? service['conf'] : undefined;
  if (!isObject(service) || !isObject(conf)) {
    throw new ConfigError(`Invalid configuration file ${file}: services.0.conf: must be object`, {
      file,
      key: 'services.0.conf',
    });
  }
  if (services.length > 1) warnings.push(`${file}: only the first of ${services.length} services is used`);

  const result: RawObject = { ...conf };
  // service-runner keeps the service name and log level outside `conf`.
  if (result['name'] === undefined && typeof service['name'] === 'string') result['name'] = service['name'];
  const logging = doc['logging'];
  const level = isObject(logging) ? logging['level'] : undefined;
  if (result['log_level'] === undefined && typeof level === 'string' && LOG_LEVELS.has(level)) {
    result['log_level'] = level;
  }
  return result;
}
