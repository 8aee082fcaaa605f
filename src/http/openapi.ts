import type { ResolvedSchema } from '../catalogue/schemas.ts';
import type { StreamCatalogue, StreamConfig } from '../catalogue/types.ts';
import type { ServiceConfig } from '../config/types.ts';
import { toOpenApi30Schema } from './openapi-schema.ts';
import { schemaPath } from './routes/schemas.ts';
import { caseOf, problemCases, type ProblemAnswer, type ProblemCase } from './problems.ts';

/** A JSON object of the OpenAPI document (paths, operations, schemas). */
type Doc = Record<string, unknown>;

/** Finds a stream's event JSON schema; undefined when it has none (or it cannot be read). */
export type SchemaLookup = (stream: StreamConfig) => Promise<ResolvedSchema | undefined>;

/**
 * The OpenAPI 3.0 document served at `/?spec`, built from the live catalogue. 3.0 like EventStreams'
 * own, which service-runner's spec checks and its test suite validate as 3.0; the streams' event
 * schemas are converted to 3.0 Schema Objects (`openapi-schema.ts`). The list of streams sits where
 * EventStreams clients and its UI read it: `paths['/v2/stream/{streams}'].get.parameters[0].schema.items.enum`.
 *
 * As in EventStreams, stream routes carry `x-monitor: false` (a spec-driven monitor must not open a
 * stream that never ends), and every other route `x-amples`: requests and the answers to expect,
 * which service-runner's service-checker makes and checks.
 */
export async function buildOpenApi(catalogue: StreamCatalogue, info: ServiceConfig['info'], schemaOf: SchemaLookup): Promise<Doc> {
  const names = catalogue.streams.flatMap((s) => [s.name, ...s.aliases]).sort();
  const streamDocs: Record<string, Doc> = {};
  const schemas = await Promise.all(catalogue.streams.map((s) => schemaOf(s).catch(() => undefined)));
  catalogue.streams.forEach((stream, i) => {
    for (const name of [stream.name, ...stream.aliases]) streamDocs[`/v2/stream/${name}`] = { get: streamDocOperation(stream, name, schemas[i]) };
  });
  const withSchema = catalogue.streams.findIndex((_s, i) => schemas[i] !== undefined);
  return {
    openapi: '3.0.3',
    info: {
      title: info.name,
      version: info.version,
      description: `${info.description}\n\n${TRY_IT_OUT}`,
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    externalDocs: { description: 'Documentation', url: info.home },
    tags: [
      { name: 'streams', description: `Subscribe to streams of events. ${TRY_IT_OUT}` },
      { name: 'stream documentation', description: 'One entry per stream and alias, with its event schema and an example; subscribe with the route of the same path' },
      { name: 'service', description: 'Catalogue, schemas and service information' },
    ],
    paths: {
      '/v2/stream/{streams}': {
        get: {
          tags: ['streams'],
          operationId: 'subscribe',
          summary: 'Subscribe to one or multiple streams.',
          description:
            'Server-Sent Events (or newline-delimited JSON with `Accept: application/json`) of the topics of every named stream. ' +
            'Each event carries an `id` covering every partition read; reconnecting with it as `Last-Event-ID` resumes exactly.\n\n' +
            TRY_IT_OUT,
          'x-monitor': false,
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
            ...STREAM_PARAMETERS,
          ],
          responses: { '200': STREAM_RESPONSE, ...problemResponses(SUBSCRIBE_PROBLEMS, true) },
        },
      },
      ...streamDocs,
      '/v2/streams': {
        get: {
          tags: ['service'],
          operationId: 'listStreams',
          summary: 'The stream catalogue: names, aliases, descriptions, topics and schema links.',
          'x-amples': [
            {
              title: 'the stream catalogue',
              request: {},
              response: { status: 200, headers: { 'content-type': 'application/json' }, body: { streams: catalogue.streams.length > 0 ? [{ name: '/.+/', topics: ['/.+/'] }] : [] } },
            },
          ],
          responses: { '200': { description: 'The catalogue', content: { 'application/json': { schema: { $ref: '#/components/schemas/Catalogue' } } } } },
        },
      },
      '/v2/schema/{schema}': {
        get: {
          tags: ['service'],
          operationId: 'getSchema',
          summary: "An event JSON schema, as linked by the catalogue's `schema_url`.",
          parameters: [
            {
              name: 'schema',
              in: 'path',
              required: true,
              description: 'Schema title and version, e.g. `mediawiki/recentchange/1.0.0`, or `<title>/latest`.',
              schema: { type: 'string' },
            },
          ],
          'x-amples': schemaAmples(withSchema === -1 ? undefined : { stream: catalogue.streams[withSchema] as StreamConfig, resolved: schemas[withSchema] as ResolvedSchema }),
          responses: {
            '200': { description: 'The JSON schema', content: { 'application/json': { schema: { type: 'object' } } } },
            ...problemResponses(SCHEMA_PROBLEMS, false),
          },
        },
      },
      '/_info': {
        get: {
          tags: ['service'],
          operationId: 'info',
          summary: 'Service name, version, description and home page (also at `/_info/`). Cheap: use it as the liveness probe.',
          'x-amples': [
            {
              title: 'retrieve service info',
              request: {},
              response: { status: 200, headers: { 'content-type': 'application/json' }, body: { name: '/.+/', description: '/.+/', version: '/.+/', home: '/.+/' } },
            },
          ],
          responses: { '200': { description: 'Service information', content: { 'application/json': { schema: { $ref: '#/components/schemas/ServiceInfo' } } } } },
        },
      },
      ...Object.fromEntries(INFO_FIELDS.map((field) => [`/_info/${field}`, infoFieldPath(field)])),
      '/_info/home': {
        get: {
          tags: ['service'],
          operationId: 'infoHome',
          summary: "Redirects to the service's home page (`home` of `/_info`).",
          'x-amples': [{ title: 'redirect to the home page', request: {}, response: { status: 301, headers: { location: info.home } } }],
          responses: { '301': { description: 'To the home page', headers: { location: { schema: { type: 'string' } } } } },
        },
      },
      '/_ready': {
        get: {
          tags: ['service'],
          operationId: 'ready',
          summary: 'Readiness: 200 while Kafka answers and the service is not shutting down, else 503.',
          'x-amples': [{ title: 'ready', request: {}, response: { status: 200, headers: { 'content-type': 'application/json' }, body: { status: 'ready' } } }],
          responses: {
            '200': { description: 'Ready', content: { 'application/json': { schema: { $ref: '#/components/schemas/Readiness' } } } },
            ...problemResponses(READY_PROBLEMS, false),
          },
        },
      },
      '/metrics': {
        get: {
          tags: ['service'],
          operationId: 'metrics',
          summary: 'Prometheus metrics.',
          'x-amples': [{ title: 'metrics', request: {}, response: { status: 200, headers: { 'content-type': 'text/plain' } } }],
          responses: { '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/robots.txt': {
        get: {
          tags: ['service'],
          operationId: 'robots',
          summary: 'Asks crawlers to stay away (a stream never ends).',
          'x-amples': [{ title: 'robots.txt', request: {}, response: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'User-agent: *\nDisallow: /\n' } }],
          responses: { '200': { description: 'robots.txt', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/': {
        get: {
          tags: ['service'],
          operationId: 'root',
          summary: 'Redirects to the web UI; `/?spec` is this document, `/?doc` shows it in Swagger UI.',
          parameters: [
            { name: 'spec', in: 'query', description: 'Answer this OpenAPI document', allowEmptyValue: true, schema: { type: 'string' } },
            { name: 'doc', in: 'query', description: 'Answer Swagger UI for this document', allowEmptyValue: true, schema: { type: 'string' } },
          ],
          'x-amples': [
            { title: 'redirect to the web UI', request: {}, response: { status: 302, headers: { location: '/v2/ui' } } },
            { title: 'this document', request: { query: { spec: '' } }, response: { status: 200, headers: { 'content-type': 'application/json' }, body: { openapi: '/^3\\.0\\.\\d+$/' } } },
            { title: 'Swagger UI', request: { query: { doc: '' } }, response: { status: 200, headers: { 'content-type': 'text/html' } } },
          ],
          responses: {
            '200': { description: 'With `spec`: this document; with `doc`: Swagger UI', content: { 'application/json': { schema: { type: 'object' } }, 'text/html': { schema: { type: 'string' } } } },
            '302': { description: 'To the web UI', headers: { location: { schema: { type: 'string' } } } },
          },
        },
      },
    },
    components: { schemas: COMPONENT_SCHEMAS },
  };
}

/** A documentation-only path per stream name and alias, like EventStreams': its schema and first example. */
function streamDocOperation(stream: StreamConfig, name: string, resolved: ResolvedSchema | undefined): Doc {
  const lines = [stream.description ?? `${stream.name} events.`];
  if (name !== stream.name) lines.push(`(NOTE: This stream is an alias of ${stream.name})`);
  lines.push(`Topics: ${stream.topics.join(', ')}`);
  if (resolved !== undefined) lines.push(`Schema: ${resolved.uri}`);
  else lines.push(`Schema title: ${stream.schemaTitle ?? 'none'} (the schema is not available here)`);
  const eventSchema = resolved === undefined ? { type: 'object' } : embeddable(resolved.schema);
  const example = resolved === undefined ? undefined : firstExample(resolved.schema);
  lines.push(TRY_IT_OUT);
  return {
    tags: ['stream documentation'],
    operationId: `subscribe_${name.replace(/[^A-Za-z0-9_]/g, '_')}`,
    summary: `${name} events`,
    description: lines.join('\n\n'),
    'x-monitor': false,
    parameters: STREAM_PARAMETERS,
    responses: {
      '200': {
        description: 'The stream; each event is an object of this schema',
        content: {
          'application/json': { schema: eventSchema, ...(example !== undefined ? { example } : {}) },
          'text/event-stream': { schema: { type: 'string' } },
        },
      },
    },
  };
}

/** The event schema as a 3.0 Schema Object; its top-level `examples` move to the media type. */
function embeddable(schema: Record<string, unknown>): Doc {
  const { examples: _examples, ...rest } = schema;
  return toOpenApi30Schema(rest) as Doc;
}

/** Swagger UI waits for a whole response, which a stream never is: said wherever it offers "Try it out". */
const TRY_IT_OUT =
  '**"Try it out" cannot show a stream**: Swagger UI waits for the response to end, and a stream does not. ' +
  'Follow streams in the web UI (`/v2/ui`) or with curl, e.g. `curl -s https://<this host>/v2/stream/recentchange`.';

const INFO_FIELDS = ['name', 'version', 'description'] as const;

/** `/_info/<field>`: `{"<field>": value}`, as service-runner's services answer. */
function infoFieldPath(field: (typeof INFO_FIELDS)[number]): Doc {
  return {
    get: {
      tags: ['service'],
      operationId: `info_${field}`,
      summary: `The service's ${field}, as \`{"${field}": …}\`.`,
      'x-amples': [{ title: `retrieve service ${field}`, request: {}, response: { status: 200, headers: { 'content-type': 'application/json' }, body: { [field]: '/.+/' } } }],
      responses: {
        '200': {
          description: `The ${field}`,
          content: { 'application/json': { schema: { type: 'object', required: [field], properties: { [field]: { type: 'string' } } } } },
        },
      },
    },
  };
}

/** A schema the catalogue links, when one is available, else a refusal of a schema no stream has. */
function schemaAmples(found: { stream: StreamConfig; resolved: ResolvedSchema } | undefined): Doc[] {
  const unknown = { title: 'a schema no stream has', request: { params: { schema: 'no/such/schema/latest' } }, response: { status: 404, headers: { 'content-type': 'application/problem+json' } } };
  if (found === undefined) return [unknown];
  const path = schemaPath(found.stream)?.slice('/v2/schema/'.length);
  if (path === undefined) return [unknown];
  const title = found.resolved.schema['title'];
  const body = typeof title === 'string' ? { title } : undefined;
  return [{ title: `the schema of ${found.stream.name}`, request: { params: { schema: path } }, response: { status: 200, headers: { 'content-type': 'application/json' }, ...(body ? { body } : {}) } }, unknown];
}

function firstExample(schema: Record<string, unknown>): unknown {
  const examples = schema['examples'];
  return Array.isArray(examples) && examples.length > 0 ? examples[0] : undefined;
}

/** What each operation can be refused with (the generic refusals of any request are in the `Problem` schema). */
const SUBSCRIBE_PROBLEMS: readonly ProblemAnswer[] = [
  { type: 'not_found', status: 400 },
  'too_many_streams',
  'invalid_timestamp',
  'invalid_last_event_id',
  'invalid_filter',
  { type: 'bad_request', status: 400 },
  'topic_not_allowed',
  'uri_too_long',
  'too_many_connections',
  'request_too_large',
  'overloaded',
  'kafka_unavailable',
  'no_topics',
  'sanitizer_not_ready',
  'filter_budget_exhausted',
];
const SCHEMA_PROBLEMS: readonly ProblemAnswer[] = [{ type: 'bad_request', status: 400 }, { type: 'not_found', status: 404 }];
const READY_PROBLEMS: readonly ProblemAnswer[] = ['kafka_unavailable', 'shutting_down'];

const RETRY_STREAM =
  'See `Retry-After`. To a request that accepts `text/event-stream` (and not `application/problem+json`) these are a 200 event stream instead ' +
  '(a comment with the reason, `retry:` advice, the end), so event-stream clients reconnect instead of giving up.';

/**
 * One response per status, describing its problem types from the catalogue; `retryStreams` where
 * the operation answers the retry-later ones as retry streams to event-stream clients.
 */
function problemResponses(answers: readonly ProblemAnswer[], retryStreams: boolean): Record<string, Doc> {
  const byStatus = new Map<string, ProblemCase[]>();
  for (const answer of answers) {
    const found = caseOf(answer);
    const status = String(found.status).toUpperCase();
    byStatus.set(status, [...(byStatus.get(status) ?? []), found]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, cases]) => {
      const lines = cases.map((c) => `- \`${c.type}\`: ${c.when}`);
      if (retryStreams && cases.some((c) => c.retryLater)) lines.push('', RETRY_STREAM);
      return [status, { description: lines.join('\n'), content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } }];
    }),
  );
}

const STREAM_PARAMETERS: readonly Doc[] = [
  {
    name: 'Last-Event-ID',
    in: 'header',
    description:
      'Where to resume: the `id` of the last event received, i.e. a JSON array of `{topic, partition, offset}` or `{topic, partition, timestamp}` ' +
      'objects (or topic names). Offsets win over timestamps; `offset: -1` is the end, `-2` the start. Topics must belong to the requested streams. ' +
      'Example: `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1795455663429}]`',
    schema: { type: 'string' },
  },
  {
    name: 'since',
    in: 'query',
    description: 'Start from this time: epoch milliseconds or an ISO-8601 date. Ignored when `Last-Event-ID` is given.',
    schema: { type: 'string' },
    examples: { epochMs: { value: '1795455663429' }, iso: { value: '2026-12-01T07:00:00Z' } },
  },
  {
    name: 'fields',
    in: 'query',
    description:
      'Projection: comma separated dotted field paths to keep in each event, e.g. `meta.dt,title,user`. ' +
      '`meta.topic`, `meta.partition`, `meta.offset` and `meta.key` are always kept.',
    schema: { type: 'string' },
    example: 'meta.dt,title,user',
  },
  {
    name: 'filters',
    in: 'query',
    description: [
      'Every other query parameter is a filter clause on a dotted event field path; several clauses must all hold (AND). ' +
        'Only matching events are sent; the `id` still advances over the others.',
      '- `wiki=enwiki,dewiki`: equals any of the values; `bot!=true`: equals none of them (a missing field is not equal)',
      '- `length.new>=10000`, `namespace<100`, also `>` and `<=`: compares numbers, or date-time fields as times',
      '- `title=Talk:*`: `*` matches any text (strings only)',
      '- a bare `comment`: the field is present; `!comment`: it is absent',
      '- inside values, `\\,` `\\*` and `\\\\` are a literal comma, star and backslash',
      '- a path through an array tests each element (`performer.groups=sysop`)',
      'Example: `/v2/stream/recentchange?wiki=enwiki&bot!=true&length.new>=10000`. Field types come from the stream schema: ' +
        'an unknown field, a value of the wrong type or a malformed clause is answered with 400, problem type `invalid_filter`, ' +
        'the offending `field` and, for unknown fields, `valid_fields`. ' +
        'Each filter has a cost (its `*` patterns above all, then date-time comparisons, `fields` paths and clauses; exact values are cheap): ' +
        'one costlier than the server admits is answered with 400 `invalid_filter` saying what to reduce.',
    ].join('\n'),
    style: 'form',
    explode: true,
    schema: { type: 'object', additionalProperties: { type: 'string' } },
    example: { wiki: 'enwiki,dewiki', 'bot!': 'true' },
  },
];

const STREAM_RESPONSE: Doc = {
  description:
    'The stream: `text/event-stream` by default (`:ok`, then `event: message` / `id` / `data` blocks, heartbeat comments, ' +
    '`event: notice` when a position could not be honoured, `event: error` before the server ends it); ' +
    'newline-delimited JSON when `Accept` starts with `application/json`.',
  headers: {
    'eventstreams-start-positions': { description: 'The offset every partition actually starts from (JSON array)', schema: { type: 'string' } },
  },
  content: {
    'text/event-stream': { schema: { type: 'string' } },
    'application/json': { schema: { type: 'object', description: 'One event per line' } },
  },
};

const COMPONENT_SCHEMAS: Doc = {
  Problem: {
    type: 'object',
    description: 'An RFC 9457 problem body, shaped like EventStreams\' errors.',
    required: ['type', 'title', 'status', 'detail', 'method', 'uri'],
    properties: {
      type: {
        type: 'string',
        description: ['Machine-readable error type:', ...problemCases().map((c) => `- \`${c.type}\` (${c.status}): ${c.when}`)].join('\n'),
      },
      title: { type: 'string', description: 'HTTP status text' },
      status: { type: 'integer' },
      detail: { type: 'string', description: 'What went wrong, for people' },
      method: { type: 'string' },
      uri: { type: 'string' },
      available_streams: { type: 'array', items: { type: 'string' }, description: 'With `not_found`: the streams that exist' },
      field: { type: 'string', description: 'With `invalid_filter`: the field path at fault' },
      valid_fields: {
        type: 'array',
        description: 'With `invalid_filter` for an unknown field: the field paths that can be filtered on, with their types',
        items: { type: 'object', required: ['path', 'type'], properties: { path: { type: 'string' }, type: { type: 'string' } } },
      },
    },
    additionalProperties: true,
  },
  Catalogue: {
    type: 'object',
    required: ['streams'],
    properties: {
      streams: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'aliases', 'topics'],
          properties: {
            name: { type: 'string' },
            aliases: { type: 'array', items: { type: 'string' } },
            description: { type: 'string', nullable: true },
            topics: { type: 'array', items: { type: 'string' } },
            schema_title: { type: 'string', nullable: true },
            schema_uri: { type: 'string', nullable: true },
            schema_url: { type: 'string', nullable: true, description: 'Where this service serves the schema' },
          },
        },
      },
    },
  },
  ServiceInfo: {
    type: 'object',
    required: ['name', 'version', 'description', 'home'],
    properties: { name: { type: 'string' }, version: { type: 'string' }, description: { type: 'string' }, home: { type: 'string' } },
  },
  Readiness: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['ready'] } },
  },
};
