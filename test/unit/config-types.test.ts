// The config types are derived from the schema; `tsc` checks the expectTypeOf lines (npm test runs it).
import { describe, expect, expectTypeOf, it } from 'vitest';
import { camelize, type FromSchema, type JsonSchema, type KeyPath } from '../../src/config/from-schema.ts';
import type { FileConfig, RawConfig, SaslMechanism, ServiceConfig, StreamSettings } from '../../src/config/types.ts';

/** Every construct the config schema uses, small. */
const sample = {
  type: 'object',
  additionalProperties: true,
  properties: {
    max_cost: { type: 'integer', default: 1 },
    ratio: { type: 'number' },
    mode: { enum: ['shared', 'per_connection'], default: 'shared' },
    brokers: { type: ['array', 'string'], items: { type: 'string' } },
    section: { type: 'object', default: {}, properties: { idle_ttl_ms: { type: 'integer', default: 0 }, enabled: { type: 'boolean' } } },
    by_name: { type: 'object', additionalProperties: { $ref: '#/$defs/item' } },
  },
  $defs: {
    item: { type: 'object', additionalProperties: true, properties: { topic_prefixes: { type: 'array', items: { type: 'string' } } } },
  },
} as const satisfies JsonSchema;
type SampleDefs = (typeof sample)['$defs'];
type Item = { [key: string]: unknown; topic_prefixes?: string[] };

describe('FromSchema', () => {
  it('maps types, enums, type lists and $ref; keys with a default are always present', () => {
    expectTypeOf<FromSchema<typeof sample, SampleDefs>>().toEqualTypeOf<{
      [key: string]: unknown;
      max_cost: number;
      mode: 'shared' | 'per_connection';
      section: { idle_ttl_ms: number; enabled?: boolean };
      ratio?: number;
      brokers?: string[] | string;
      by_name?: { [name: string]: Item };
    }>();
  });

  it('camelCases the keys of sections, not of maps; other keys are dropped, as camelize does', () => {
    type Camel = FromSchema<typeof sample, SampleDefs, 'camel'>;
    expectTypeOf<keyof Camel>().toEqualTypeOf<'maxCost' | 'ratio' | 'mode' | 'brokers' | 'section' | 'byName'>();
    expectTypeOf<Camel['section']>().toEqualTypeOf<{ idleTtlMs: number; enabled?: boolean }>();
    expectTypeOf<Camel['byName']>().toEqualTypeOf<{ [name: string]: Item } | undefined>();
    const doc = { max_cost: 2, mode: 'shared', section: { idle_ttl_ms: 5 }, by_name: { a_b: { topic_prefixes: ['x.'], other_key: 1 } }, unknown_key: 1 };
    expect(camelize(sample, doc)).toEqual({ maxCost: 2, mode: 'shared', section: { idleTtlMs: 5 }, byName: { a_b: { topic_prefixes: ['x.'], other_key: 1 } } });
  });

  it('lists the key paths a schema declares', () => {
    expectTypeOf<KeyPath<typeof sample>>().toEqualTypeOf<
      ['max_cost'] | ['ratio'] | ['mode'] | ['brokers'] | ['section'] | ['section', 'idle_ttl_ms'] | ['section', 'enabled'] | ['by_name']
    >();
  });
});

describe('the config types', () => {
  it('follow the schema', () => {
    expectTypeOf<RawConfig['port']>().toEqualTypeOf<number>();
    expectTypeOf<RawConfig['stream_config_uri']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<RawConfig['log_level']>().toEqualTypeOf<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>();
    expectTypeOf<RawConfig['kafka']['metadata.broker.list']>().toEqualTypeOf<string[] | string | undefined>();
    expectTypeOf<RawConfig['mediawiki_redacted_pages']>().toEqualTypeOf<{ [domain: string]: (string | number)[] }>();
    expectTypeOf<SaslMechanism>().toEqualTypeOf<'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'>();
    expectTypeOf<StreamSettings['remove_fields']>().toEqualTypeOf<string[] | undefined>();
    expectTypeOf<RawConfig['streams']>().toEqualTypeOf<{ [name: string]: StreamSettings }>();
    expectTypeOf<FileConfig['fanout']['cacheBytesPerPartition']>().toEqualTypeOf<number>();
  });

  it('replace what the service derives', () => {
    expectTypeOf<ServiceConfig['listenAddress']>().toEqualTypeOf<string>();
    expectTypeOf<ServiceConfig['mediawikiRedactedPages']>().toEqualTypeOf<Record<string, string[]>>();
    expectTypeOf<ServiceConfig['connections']>().toEqualTypeOf<
      Omit<FileConfig['connections'], 'maxDuration'> & { maxDurationMs: number }
    >();
    expectTypeOf<ServiceConfig>().not.toHaveProperty('interface');
    expectTypeOf<ServiceConfig>().not.toHaveProperty('streamConfigUriOptions');
    expectTypeOf<ServiceConfig>().not.toHaveProperty('name');
  });
});
