import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.ts';
import { SchemaStore } from '../../src/catalogue/schemas.ts';
import type { StreamCatalogue } from '../../src/catalogue/types.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ServiceConfig } from '../../src/config/types.ts';
import { buildOpenApi } from '../../src/http/openapi.ts';
import { toOpenApi30Schema } from '../../src/http/openapi-schema.ts';
import { problemCases } from '../../src/http/problems.ts';
import { schemaCheck, schemaErrors, openApiErrors, type OpenApiDoc } from '../support/openapi.ts';

const SHIPPED_CONFIG = fileURLToPath(new URL('../../config/config.yaml', import.meta.url));

let config: ServiceConfig;
let catalogue: StreamCatalogue;
let doc: OpenApiDoc;
let schemas: SchemaStore;

// The shipped configuration: Wikimedia's public streams and their schemas.
beforeAll(async () => {
  ({ config } = await loadConfig({ argv: ['--config', SHIPPED_CONFIG], env: {} }));
  catalogue = await loadCatalogue(config);
  schemas = new SchemaStore(config.schemaBaseUris);
  doc = (await buildOpenApi(catalogue, config.info, (s) => schemas.get(s))) as unknown as OpenApiDoc;
});

describe('OpenAPI document of the shipped catalogue', () => {
  it('is valid against the official OpenAPI schema', async () => {
    expect(catalogue.streams.length).toBeGreaterThan(10);
    expect(await openApiErrors(doc)).toEqual([]);
  });

  it('lists every stream and alias in the enum EventStreams clients read', () => {
    const names = catalogue.streams.flatMap((s) => [s.name, ...s.aliases]).sort();
    expect(doc.paths['/v2/stream/{streams}']?.get.parameters?.[0]?.schema.items?.enum).toEqual(names);
  });

  it('documents since, Last-Event-ID, the projection and the filter clauses of the generic route', () => {
    const params = doc.paths['/v2/stream/{streams}']?.get.parameters ?? [];
    expect(params.map((p) => [p.name, p.in])).toEqual([
      ['streams', 'path'],
      ['Last-Event-ID', 'header'],
      ['since', 'query'],
      ['fields', 'query'],
      ['filters', 'query'],
    ]);
    const filters = params.find((p) => p.name === 'filters');
    expect(filters).toMatchObject({ style: 'form', explode: true, schema: { type: 'object', additionalProperties: { type: 'string' } } });
  });

  it('has a documentation path per stream and alias with its event schema and an example that is a valid event', async () => {
    let withSchema = 0;
    for (const stream of catalogue.streams) {
      const resolved = await schemas.get(stream);
      if (resolved !== undefined) withSchema++;
      for (const name of [stream.name, ...stream.aliases]) {
        const operation = doc.paths[`/v2/stream/${name}`]?.get;
        const json = operation?.responses['200']?.content?.['application/json'];
        expect(json, name).toBeDefined();
        const schema = json?.schema ?? {};
        if (resolved === undefined) {
          expect(schema, name).toEqual({ type: 'object' });
          expect(operation?.description, name).toContain('not available');
          continue;
        }
        expect(Object.keys(schema['properties'] ?? {}), name).toEqual(Object.keys(resolved.schema['properties'] ?? {}));
        expect(json?.example, name).toEqual((resolved.schema['examples'] as unknown[])[0]);
        expect(schemaErrors(schema, json?.example), name).toEqual([]);
      }
    }
    // Most shipped streams have their schema in config/schemas; the rest are documented without one.
    expect(withSchema).toBeGreaterThan(catalogue.streams.length / 2);
  });

  it('describes error responses with the problem body schema', () => {
    const responses = doc.paths['/v2/stream/{streams}']?.get.responses ?? {};
    for (const status of ['400', '404', '429', '503']) {
      expect(responses[status]?.content?.['application/problem+json']?.schema, status).toEqual({ $ref: '#/components/schemas/Problem' });
    }
    expect(doc.components.schemas['Problem']).toMatchObject({ required: ['type', 'title', 'status', 'detail', 'method', 'uri'] });
    for (const route of ['/v2/streams', '/_info', '/_ready', '/metrics']) expect(doc.paths[route], route).toBeDefined();
  });

  it('documents every problem type of the catalogue with its statuses, and the refusals of each route under their status', () => {
    const problemType = (doc.components.schemas['Problem']?.['properties'] as Record<string, { description: string }>)['type'];
    for (const { type, status } of problemCases()) expect(problemType?.description).toContain(`- \`${type}\` (${status}): `);
    const described = (path: string, status: string) => doc.paths[path]?.get.responses[status]?.description ?? '';
    expect(described('/v2/stream/{streams}', '400')).toMatch(/`not_found`: .*available_streams/);
    expect(described('/v2/stream/{streams}', '404')).toContain('`topic_not_allowed`: ');
    expect(described('/v2/stream/{streams}', '503')).toMatch(/`filter_budget_exhausted`: [^]*200 event stream/);
    expect(described('/v2/schema/{schema}', '404')).toMatch(/`not_found`: .*schema/);
    expect(described('/_ready', '503')).toMatch(/`kafka_unavailable`: [^]*`shutting_down`: /);
    expect(described('/_ready', '503')).not.toContain('event stream');
  });
});

describe('event schemas as OpenAPI 3.0 Schema Objects', () => {
  it('keeps what a value must be where 3.0 can say it, and the rest as x- extensions', () => {
    const draft07 = {
      $id: '/x/1.0.0',
      $schema: 'https://json-schema.org/draft-07/schema#',
      definitions: { unused: { type: 'string' } },
      type: 'object',
      required: ['id'],
      properties: {
        id: { type: ['integer', 'null'], minimum: 0, examples: [5, 6] },
        kind: { const: 'edit' },
        score: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        loose: { type: ['array', 'object', 'string'], anyOf: [{ maxLength: 3 }, { minItems: 1 }] },
        none: { type: 'null' },
        tags: { type: 'array', items: { type: 'string', pattern: '^a' } },
        map: { type: 'object', patternProperties: { '^x': { type: 'string' } }, additionalProperties: false },
        either: { oneOf: [true, false] },
      },
    };
    expect(toOpenApi30Schema(draft07)).toEqual({
      type: 'object',
      required: ['id'],
      properties: {
        id: { type: 'integer', nullable: true, minimum: 0, example: 5 },
        kind: { enum: ['edit'] },
        score: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true },
        loose: { anyOf: [{ maxLength: 3 }, { minItems: 1 }], allOf: [{ anyOf: [{ type: 'array' }, { type: 'object' }, { type: 'string' }] }] },
        none: { nullable: true, enum: [null] },
        tags: { type: 'array', items: { type: 'string', pattern: '^a' } },
        map: { type: 'object', 'x-patternProperties': { '^x': { type: 'string' } }, additionalProperties: false },
        either: { oneOf: [{}, { not: {} }] },
      },
    });
  });

  it('validates the same values as the draft-07 original on every shipped schema and its examples', async () => {
    // Ajv reads 3.0's `nullable` (an OpenAPI keyword it supports): the converted schema accepts null where the original does.
    expect(schemaErrors({ type: 'integer', nullable: true }, null)).toEqual([]);
    expect(schemaErrors({ type: 'integer', nullable: true }, 'x')).not.toEqual([]);
    /** The value with one member set to null, for each member of it and of its object members. */
    const withNulls = (value: Record<string, unknown>): unknown[] =>
      Object.entries(value).flatMap(([key, member]) => [
        { ...value, [key]: null },
        ...(typeof member === 'object' && member !== null && !Array.isArray(member) ? Object.keys(member).map((inner) => ({ ...value, [key]: { ...member, [inner]: null } })) : []),
      ]);
    let checked = 0;
    let nullable = 0;
    for (const stream of catalogue.streams) {
      const resolved = await schemas.get(stream);
      if (resolved === undefined) continue;
      // Without its `$schema` and `$id`s (fragments repeat them, which Ajv refuses in one schema).
      const { $schema: _dialect, ...original } = JSON.parse(JSON.stringify(resolved.schema), (key, value: unknown) => (key === '$id' ? undefined : value)) as Record<string, unknown>;
      const originalErrors = schemaCheck(original);
      const convertedErrors = schemaCheck(toOpenApi30Schema(resolved.schema) as Record<string, unknown>);
      for (const example of (resolved.schema['examples'] as unknown[] | undefined) ?? []) {
        // The example, and it with a null in each place (two levels deep): allowed where the original allows it.
        for (const value of [example, 7, ...withNulls(example as Record<string, unknown>)]) {
          const accepted = originalErrors(value).length === 0;
          if (accepted && value !== example) nullable++;
          expect(convertedErrors(value).length === 0, `${stream.name}: ${JSON.stringify(value).slice(0, 200)}`).toBe(accepted);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(nullable).toBeGreaterThan(0);
  });

  it('marks stream routes x-monitor: false and gives every other route x-amples', () => {
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, { 'x-monitor'?: boolean; 'x-amples'?: unknown[] }>>)) {
      for (const operation of Object.values(methods)) {
        if (path.startsWith('/v2/stream/')) expect(operation['x-monitor'], path).toBe(false);
        else expect(operation['x-amples']?.length, path).toBeGreaterThan(0);
      }
    }
  });
});
