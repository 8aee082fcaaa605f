import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.ts';
import { SchemaStore } from '../../src/catalogue/schemas.ts';
import type { StreamCatalogue } from '../../src/catalogue/types.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ServiceConfig } from '../../src/config/types.ts';
import { buildOpenApi } from '../../src/http/openapi.ts';
import { problemCases } from '../../src/http/problems.ts';
import { schemaErrors, openApiErrors, type OpenApiDoc } from '../support/openapi.ts';

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
