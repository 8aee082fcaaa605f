import type { StreamCatalogue } from '../catalogue/types.ts';
import type { ServiceConfig } from '../config/types.ts';

/**
 * The OpenAPI document served at `/?spec`. The list of streams sits where EventStreams clients and
 * its UI read it: `paths['/v2/stream/{streams}'].get.parameters[0].schema.items.enum`.
 */
export function buildOpenApi(catalogue: StreamCatalogue, info: ServiceConfig['info']): Record<string, unknown> {
  const names = catalogue.streams.flatMap((s) => [s.name, ...s.aliases]).sort();
  const streamDocs: Record<string, unknown> = {};
  for (const stream of catalogue.streams) {
    for (const name of [stream.name, ...stream.aliases]) {
      streamDocs[`/v2/stream/${name}`] = {
        get: {
          tags: ['stream documentation'],
          summary: stream.description ?? `Events of ${stream.name}`,
          description: `Documentation only: subscribe with /v2/stream/${name}. Topics: ${stream.topics.join(', ')}.`,
          'x-schema-title': stream.schemaTitle,
          responses: { '200': { description: 'Event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
        },
      };
    }
  }
  return {
    openapi: '3.0.3',
    info: { title: info.name, version: info.version, description: info.description },
    externalDocs: { url: info.home },
    paths: {
      '/v2/stream/{streams}': {
        get: {
          tags: ['streams'],
          summary: 'Subscribe to one or multiple streams.',
          parameters: [
            {
              name: 'streams',
              in: 'path',
              required: true,
              description: 'Comma separated list of stream names or aliases to subscribe to.',
              style: 'simple',
              explode: false,
              schema: { type: 'array', items: { type: 'string', enum: names } },
            },
            {
              name: 'Last-Event-ID',
              in: 'header',
              description:
                'Where to resume: a JSON array of topic names or {topic, partition, offset} / {topic, partition, timestamp} objects. Topics must belong to the requested streams.',
              schema: { type: 'string' },
            },
            {
              name: 'since',
              in: 'query',
              description: 'Start from this time: epoch milliseconds or an ISO-8601 date. Ignored when Last-Event-ID is given.',
              schema: { type: 'string' },
            },
          ],
          responses: {
            '200': {
              description: 'The stream. SSE by default; newline-delimited JSON when Accept starts with application/json.',
              content: { 'text/event-stream': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } },
            },
            '400': { description: 'Unknown stream, bad since or bad Last-Event-ID', content: { 'application/problem+json': { schema: { type: 'object' } } } },
            '404': { description: 'Last-Event-ID names a topic outside the requested streams', content: { 'application/problem+json': { schema: { type: 'object' } } } },
          },
        },
      },
      '/v2/streams': { get: { summary: 'The stream catalogue', responses: { '200': { description: 'Streams with aliases, descriptions and schemas' } } } },
      ...streamDocs,
    },
  };
}
