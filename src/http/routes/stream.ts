import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StreamCatalogue, StreamConfig } from '../../catalogue/types.ts';
import type { RequestedPosition } from '../../protocol/position.ts';
import type { ServiceConfig } from '../../config/types.ts';
import type { EventSource } from '../../fanout/source.ts';
import { budgetProblem } from '../../filter/budget.ts';
import type { FilterProblem } from '../../filter/check.ts';
import type { Metrics } from '../../metrics/registry.ts';
import type { Compression } from '../../compress/encoder.ts';
import type { Cohorts } from '../../stream/cohort.ts';
import type { FlushQueue } from '../../stream/flush-queue.ts';
import { PositionError, resolveAssignment, type Assignment, type PositionRefusal } from '../../kafka/start-positions.ts';
import { streamCoding, streamVary, type CodingPolicy, type ContentCoding } from '../../protocol/content-coding.ts';
import { negotiateFormat } from '../../protocol/content-type.ts';
import { parseLastEventId } from '../../protocol/last-event-id.ts';
import { parseSince } from '../../protocol/since.ts';
import { startPositionsHeader } from '../../stream/notice.ts';
import type { PositionStates } from '../../stream/position-ids.ts';
import type { SessionRegistry } from '../../stream/registry.ts';
import type { StreamSlots } from '../../admission/stream-slots.ts';
import type { LoadGuard } from '../../admission/load-guard.ts';
import type { LiveSelections, SelectionLease } from '../../selection/live-selections.ts';
import type { Selections } from '../../selection/selections.ts';
import { framingFor } from '../../stream/framing.ts';
import { StreamSession } from '../../stream/session.ts';
import { clientIp, clientIpLogField, limiterKey, type ClientIpPolicy } from '../client-ip.ts';
import { sendProblem } from '../problem.ts';
import { releaseRequestParser } from '../request-parser.ts';
import { forgetSentHeaders } from '../sent-headers.ts';
import type { ProblemAnswer } from '../problems.ts';
import { refusalStatus, RETRY_AFTER_SECONDS, sendRetryLater } from '../retry-later.ts';

export interface StreamRouteDeps {
  config: ServiceConfig;
  clientIpPolicy: ClientIpPolicy;
  catalogue: () => StreamCatalogue;
  sessions: SessionRegistry;
  slots: StreamSlots;
  source: EventSource;
  flush: FlushQueue;
  /** Clients in step served as one (`fanout.cohorts`); undefined: each by itself. */
  cohorts?: Cohorts;
  compression: Compression;
  positions: PositionStates;
  guard: LoadGuard;
  metrics: Metrics;
  selections: Selections;
  liveSelections: LiveSelections;
  suppressionsReady: (timeoutMs: number) => Promise<boolean>;
}

/** Response header listing the concrete offset every partition starts from on this connection. */
export const START_POSITIONS_HEADER = 'eventstreams-start-positions';
const MAX_STREAMS_PER_REQUEST = 64;
/** Refusals a client should simply retry: back off longer than after a normal end of stream. */
const BACKOFF_MS = RETRY_AFTER_SECONDS * 1000;
/** An unknown stream is a 400 `not_found`, as EventStreams answers it. */
const UNKNOWN_STREAM: ProblemAnswer = { type: 'not_found', status: 400 };
/** The answer to each reason the Kafka layer refuses the requested positions for. */
const POSITION_PROBLEMS = { topic_not_allowed: 'topic_not_allowed' } as const satisfies Record<PositionRefusal, ProblemAnswer>;

type StreamRequest = FastifyRequest<{ Params: { streams: string }; Querystring: Record<string, string | string[] | undefined> }>;

export function streamRoute(app: FastifyInstance, deps: StreamRouteDeps): void {
  // Declared before the GET so fastify does not derive a HEAD that would run it: a HEAD checks the
  // request and answers the stream's head, but opens nothing (a discarded body never pushes back).
  app.head('/v2/stream/:streams', async (request: StreamRequest, reply) => {
    const parsed = parseStreamRequest(request, reply, deps.catalogue());
    if ('problem' in parsed) return parsed.problem;
    const selected = await deps.selections.check(parsed.streams, rawQuery(request));
    if (!selected.ok) return sendFilterProblem(request, reply, selected.problem);
    const { contentType } = negotiateFormat(request.headers.accept);
    const coding = codingOf(request, deps.config.compression);
    return reply.code(200).headers(bodyHeaders(contentType, coding, deps.config.compression, reply.getHeader('vary'))).send();
  });
  app.get('/v2/stream/:streams', async (request: StreamRequest, reply) => {
    if (deps.guard.overloaded()) {
      deps.metrics.rejected.inc({ status: '503' });
      return sendRetryLater(request, reply, 'overloaded', 'This server is at capacity; retry shortly (the current streams keep being served)', BACKOFF_MS);
    }
    const ip = clientIp(request.raw, deps.clientIpPolicy);
    const slot = limiterKey(ip, deps.config.clientIpIpv6Prefix);
    const refused = deps.slots.acquire(slot);
    if (refused === 'total') {
      deps.metrics.rejected.inc({ status: '503' });
      return sendRetryLater(request, reply, 'overloaded', `This server serves at most ${deps.config.connections.maxStreams} streams at once; retry shortly`, BACKOFF_MS);
    }
    if (refused === 'client') {
      deps.metrics.rejected.inc({ status: '429' });
      return sendRetryLater(request, reply, 'too_many_connections', `At most ${deps.config.clientIpConnectionLimit} concurrent streams per client`, BACKOFF_MS);
    }
    // The slot is held for the stream's lifetime, or released at once when no stream opens.
    const opened = await serveStream(request, reply, deps, ip, slot).catch((error: unknown) => {
      deps.slots.release(slot);
      throw error;
    });
    if (opened !== 'streaming') {
      deps.slots.release(slot);
      deps.metrics.rejected.inc({ status: String(refusalStatus(reply)) });
    }
    return opened === 'streaming' ? reply : opened;
  });
}

interface StreamRequestParts {
  streams: StreamConfig[];
  since: number | undefined;
  positions: RequestedPosition[];
}

/** The requested streams and start position, or the problem answer refusing them. */
function parseStreamRequest(request: StreamRequest, reply: FastifyReply, catalogue: StreamCatalogue): StreamRequestParts | { problem: FastifyReply } {
  const names = request.params.streams.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return { problem: sendProblem(request, reply, UNKNOWN_STREAM, 'Name at least one stream') };
  if (names.length > MAX_STREAMS_PER_REQUEST) {
    return { problem: sendProblem(request, reply, 'too_many_streams', `At most ${MAX_STREAMS_PER_REQUEST} streams per request`) };
  }
  const streams: StreamConfig[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    const stream = catalogue.get(name);
    if (stream === undefined) unknown.push(name);
    else if (!streams.includes(stream)) streams.push(stream);
  }
  if (unknown.length > 0) {
    return {
      problem: sendProblem(request, reply, UNKNOWN_STREAM, `Invalid streams: ${unknown.map((n) => n.slice(0, 100)).join(', ')}`, {
        available_streams: catalogue.streams.map((s) => s.name),
      }),
    };
  }
  const sinceParam = request.query.since;
  const since = parseSince(Array.isArray(sinceParam) ? sinceParam[0] : sinceParam);
  if (!since.ok) return { problem: sendProblem(request, reply, 'invalid_timestamp', since.error) };
  const lastEventIdHeader = request.headers['last-event-id'];
  const lastEventId = parseLastEventId(Array.isArray(lastEventIdHeader) ? lastEventIdHeader[0] : lastEventIdHeader);
  if (!lastEventId.ok) return { problem: sendProblem(request, reply, 'invalid_last_event_id', lastEventId.error) };
  return { streams, since: since.timestamp, positions: lastEventId.positions };
}

/** The part of the URL after `?`, as sent (filters are parsed from the raw text). */
function rawQuery(request: StreamRequest): string {
  const url = request.raw.url ?? '';
  return url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
}

function sendFilterProblem(request: StreamRequest, reply: FastifyReply, problem: FilterProblem): FastifyReply {
  const { message, field, validFields } = problem;
  return sendProblem(request, reply, 'invalid_filter', message, {
    ...(field === undefined ? {} : { field }),
    ...(validFields === undefined ? {} : { valid_fields: validFields }),
  });
}

async function serveStream(request: StreamRequest, reply: FastifyReply, deps: StreamRouteDeps, ip: string, slot: string): Promise<FastifyReply | 'streaming'> {
  const parsed = parseStreamRequest(request, reply, deps.catalogue());
  if ('problem' in parsed) return parsed.problem;
  const { streams } = parsed;
  // Checked and compiled, but held by nothing until the stream opens: a later refusal leaves nothing behind.
  const selected = await deps.selections.check(streams, rawQuery(request));
  if (!selected.ok) return sendFilterProblem(request, reply, selected.problem);

  // Replayed history must be scrubbed of every suppression Kafka knows of: wait for the index after a start.
  const replaying = parsed.since !== undefined || parsed.positions.length > 0;
  if (replaying && !(await deps.suppressionsReady(deps.config.sanitize.replayWaitMs))) {
    return sendRetryLater(request, reply, 'sanitizer_not_ready', 'The suppression index is still being rebuilt from Kafka; retry shortly', deps.config.connections.reconnectDelayMs);
  }

  const topics = [...new Set(streams.flatMap((s) => s.topics))];
  const allowedTopics = [...new Set(streams.flatMap((s) => [...s.topics, ...(s.topicsAllowed ?? [])]))];
  let assignment: Assignment;
  try {
    assignment = await resolveAssignment(
      { topics, allowedTopics, positions: parsed.positions, since: parsed.since, now: Date.now() },
      deps.source.offsets,
    );
  } catch (error) {
    if (error instanceof PositionError) return sendProblem(request, reply, POSITION_PROBLEMS[error.kind], error.message);
    request.log.error({ err: error, streams: streams.map((s) => s.name) }, 'could not resolve stream positions in Kafka');
    return sendRetryLater(request, reply, 'kafka_unavailable', 'Kafka is not reachable right now; retry shortly', deps.config.connections.reconnectDelayMs);
  }
  if (assignment.missingTopics.length > 0) {
    request.log.error({ topics: assignment.missingTopics }, 'configured topics do not exist in Kafka');
  }
  if (assignment.starts.length === 0) {
    return sendRetryLater(request, reply, 'no_topics', 'None of the topics of the requested streams exist in Kafka yet', deps.config.connections.reconnectDelayMs);
  }

  // The last step before the stream opens, so no later refusal can leave budget or a selection held.
  const acquired = deps.liveSelections.acquire(selected.candidate);
  if (!acquired.ok) {
    return sendRetryLater(request, reply, 'filter_budget_exhausted', budgetProblem(acquired.cost, acquired.spent, acquired.limit), BACKOFF_MS);
  }
  try {
    openStream(request, reply, deps, streams, acquired.lease, assignment, ip, slot);
  } catch (error) {
    acquired.lease.release();
    throw error;
  }
  return 'streaming';
}

function openStream(
  request: StreamRequest,
  reply: FastifyReply,
  deps: StreamRouteDeps,
  streams: StreamConfig[],
  lease: SelectionLease,
  assignment: Assignment,
  ip: string,
  slot: string,
): void {
  const { selection } = lease;
  const { format, contentType } = negotiateFormat(request.headers.accept);
  const coding = codingOf(request, deps.config.compression);
  const log = request.log;
  const loggedIp = clientIpLogField(ip, deps.config.logClientIp);
  // Client-written: clipped so one header cannot make every log line of the stream large.
  const userAgent = request.headers['user-agent']?.slice(0, 256);
  const started = Date.now();
  reply.hijack();
  const res = reply.raw;
  const preset: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) preset[name] = value;
  res.writeHead(200, {
    ...preset,
    ...bodyHeaders(contentType, coding, deps.config.compression, preset.vary),
    // The connection ends with the stream: it carries no other request, so its parser can go.
    connection: 'close',
    'x-accel-buffering': 'no',
    [START_POSITIONS_HEADER]: startPositionsHeader(assignment.starts),
  });
  res.flushHeaders();
  forgetSentHeaders(res);
  releaseRequestParser(request.raw);

  const { connections, fanout } = deps.config;
  const filteredByTopic = new Map(streams.flatMap((s) => s.topics.map((topic) => [topic, deps.metrics.eventsFiltered.labels(s.name)] as const)));
  const shareKey = `${format}|${selection.key}`;
  const session = new StreamSession(res, {
    framing: framingFor(format),
    encoder: deps.compression.encoder(coding, shareKey),
    starts: assignment.starts,
    dropped: assignment.dropped,
    selection,
    countFiltered: (topic, clients = 1) => filteredByTopic.get(topic)?.inc(clients),
    shareKey,
    positions: deps.positions,
    backlogBytes: fanout.clientBacklogBytes,
    stallMs: fanout.clientStallMs,
    replayLookaheadBytes: deps.source.ordersReplay ? fanout.replayLookaheadBytes : 0,
    replayOrderWaitMs: fanout.replayOrderWaitMs,
    heartbeatIntervalMs: deps.config.heartbeatInterval,
    // Jitter spreads the reconnects of clients that connected together.
    ...(connections.maxDurationMs > 0 ? { deadline: started + connections.maxDurationMs * (1 - connections.maxDurationJitter * Math.random()) } : {}),
    reconnectDelayMs: connections.reconnectDelayMs,
    flush: deps.flush,
    ...(deps.cohorts !== undefined ? { cohorts: deps.cohorts } : {}),
    guard: deps.guard,
    metrics: deps.metrics,
    log,
  });
  deps.metrics.encodedConnections.inc({ encoding: coding });
  const names = streams.map((s) => s.name);
  for (const name of names) {
    deps.metrics.connectedClients.inc({ stream: name });
    deps.metrics.connectionsTotal.inc({ stream: name });
  }
  deps.sessions.add(session);
  session.open();
  session.follow(deps.source, assignment.ends);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    session.unfollow();
    lease.release();
    deps.slots.release(slot);
    deps.sessions.delete(session);
    for (const name of names) deps.metrics.connectedClients.dec({ stream: name });
    log.info(
      {
        streams: names,
        ...loggedIp,
        userAgent,
        durationMs: Date.now() - started,
        eventsSent: session.stats.eventsSent,
        bytesSent: session.stats.bytesSent,
        reason: session.endReason,
      },
      'stream closed',
    );
  };
  res.on('close', close); // not `once`: see SocketWriter's constructor
  log.info({ streams: names, format, coding, partitions: assignment.starts.length, ...loggedIp, userAgent }, 'stream opened');
  // A client gone while the request was being resolved: its 'close' has been and will not come again.
  if (res.destroyed) close();
}

function codingOf(request: FastifyRequest, policy: CodingPolicy): ContentCoding {
  return streamCoding(request.headers['accept-encoding'], request.headers['user-agent'], policy);
}

/** The head of a stream's body, for GET and HEAD alike; `vary` adds to one already set (CORS). */
function bodyHeaders(contentType: string, coding: ContentCoding, policy: CodingPolicy, vary: unknown): Record<string, string> {
  // The body depends on these: a cache in between must not hand one client's variant to another.
  const depends = streamVary(policy);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'cache-control': 'no-cache',
    vary: typeof vary === 'string' && vary !== '' ? `${vary}, ${depends}` : depends,
  };
  if (coding !== 'identity') headers['content-encoding'] = coding;
  return headers;
}
