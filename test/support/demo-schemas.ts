/** The shipped catalogue and its schemas, to check demo events the way a consumer relies on them. */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { loadCatalogue } from '../../src/catalogue/load.ts';
import { SchemaStore } from '../../src/catalogue/schemas.ts';
import type { StreamConfig } from '../../src/catalogue/types.ts';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../../src/config/load.ts';

export interface ShippedCatalogue {
  streams: readonly StreamConfig[];
  /** Errors of `event` against the stream's schema and against the one its `$schema` names; empty when valid. */
  errors(stream: StreamConfig, event: Record<string, unknown>): Promise<string[]>;
  /** The streams whose schema is not shipped. */
  withoutSchema(): Promise<string[]>;
}

/**
 * The schema without `$id`s: materialized schemas inline their fragments, each with the
 * fragment's `$id`, so one id appears twice and Ajv refuses it. Nothing refers to them.
 */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== '$id').map(([k, v]) => [k, withoutIds(v)]));
}

export async function shippedCatalogue(): Promise<ShippedCatalogue> {
  const { config } = await loadConfig({ argv: ['--config', DEFAULT_CONFIG_FILE], env: {} });
  const streams = (await loadCatalogue(config)).streams;
  const store = new SchemaStore(config.schemaBaseUris);
  const compiled = new Map<string, ValidateFunction>();
  const validator = (uri: string, schema: Record<string, unknown>): ValidateFunction => {
    let validate = compiled.get(uri);
    if (validate === undefined) {
      // The schemas name the draft-07 meta-schema by an https URI Ajv does not know; the schemas
      // themselves are not what is tested here.
      const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
      addFormats.default(ajv);
      validate = ajv.compile(withoutIds(schema) as Record<string, unknown>);
      compiled.set(uri, validate);
    }
    return validate;
  };
  const check = (uri: string, schema: Record<string, unknown>, event: unknown): string[] => {
    const validate = validator(uri, schema);
    return validate(event) ? [] : (validate.errors ?? []).map((e) => `${uri}: ${e.instancePath} ${e.message ?? ''}`);
  };
  return {
    streams,
    async errors(stream, event) {
      const own = await store.get(stream);
      if (own === undefined) return [`${stream.name}: no schema`];
      const named = typeof event['$schema'] === 'string' ? await store.byUri(event['$schema']) : undefined;
      if (named === undefined) return [`${stream.name}: $schema ${String(event['$schema'])} not found`];
      return [...check(own.uri, own.schema, event), ...check(named.uri, named.schema, event)];
    },
    async withoutSchema() {
      const missing: string[] = [];
      for (const s of streams) if ((await store.get(s)) === undefined) missing.push(s.name);
      return missing;
    },
  };
}
