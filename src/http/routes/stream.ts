import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StreamCatalogue, StreamConfig } from '../../catalogue/types.ts';
import type { ServiceConfig } from '../../config/types.ts';
import type { EventSource } from '../../fanout/hub.ts';
import { budgetProblem } from '../../filter/budget.ts';
import type { Metrics } from '../../metrics/registry.ts';
import type { FlushQueue } from '../../stream/flush-queue.ts';
import { PositionError, resolveAssignment, type Assignment } from '../../kafka/start-positions.ts';
import { negotiateFormat } from '../../protocol/content-type.ts';
import { parseLastEventId } from '../../protocol/last-event-id.ts';
import { parseSince } from '../../protocol/since.ts';
import { startPositionsHeader } from '../../stream/notice.ts';
import type { SessionRegistry } from '../../stream/registry.ts';
import type { IpLimiter } from '../../stream/ip-limiter.ts';
import type { LoadGuard } from '../../stream/load-guard.ts';
import type { LiveSelections, SelectionLease } from '../../stream/live-selections.ts';
import type { Selections } from '../../stream/selections.ts';
import { StreamSession } from '../../stream/session.ts';
import { clientIp, clientIpLogField } from '../client-ip.ts';
import { sendProblem } from '../problem.ts';
import { refusalStatus, RETRY_AFTER_SECONDS, sendRetryLater } from '../retry-later.ts';

export interface StreamRouteDeps {
  config: ServiceConfig;
  catalogue: () => StreamCatalogue;
  sessions: SessionRegistry;
  ipLimiter: IpLimiter;
  source: EventSource;
  flush: FlushQueue;
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

type StreamRequest = FastifyRequest<{ Params: { streams: string }; Querystring: Record<string, string | string[] | undefined> }>;

export function streamRoute(app: FastifyInstance, deps: StreamRouteDeps): void {
  app.get('/v2/stream/:streams', async (request: StreamRequest, reply) => {
    if (deps.guard.overloaded()) {
      deps.metrics.rejected.inc({ status: '503' });
      return sendRetryLater(request, reply, 503, 'overloaded', 'This server is at capacity; retry shortly (the current streams keep being served)', BACKOFF_MS);
    }
    const ip = clientIp(request, deps.config.clientIpHeader);
    if (!deps.ipLimiter.acquire(ip)) {
      deps.metrics.rejected.inc({ status: '429' });
      return sendRetryLater(request, reply, 429, 'too_many_connections', `At most ${deps.config.clientIpConnectionLimit} concurrent streams per client`, BACKOFF_MS);
    }
    // The slot is held for the stream's lifetime, or released at once when no stream opens.
    const opened = await serveStream(request, reply, deps, ip).catch((error: unknown) => {
      deps.ipLimiter.release(ip);
      throw error;
    });
    if (opened !== 'streaming') {
      deps.ipLimiter.release(ip);
      deps.metrics.rejected.inc({ status: String(refusalStatus(reply)) });
    }
    return opened === 'streaming' ? reply : opened;
  });
}

async function serveStream(request: StreamRequest, reply: FastifyReply, deps: StreamRouteDeps, ip: string): Promise<FastifyReply | 'streaming'> {
  const names = request.params.streams.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) return sendProblem(request, reply, 400, 'not_found', 'Name at least one stream');
  if (names.length > MAX_STREAMS_PER_REQUEST) {
    return sendProblem(request, reply, 400, 'too_many_streams', `At most ${MAX_STREAMS_PER_REQUEST} streams per request`);
  }
  const catalogue = deps.catalogue();
  const streams: StreamConfig[] = [];
  const unknown: string[] = [];
  for (const name of names) {
    const stream = catalogue.get(name);
    if (stream === undefined) unknown.push(name);
    else if (!streams.includes(stream)) streams.push(stream);
  }
  if (unknown.length > 0) {
    return sendProblem(request, reply, 400, 'not_found', `Invalid streams: ${unknown.map((n) => n.slice(0, 100)).join(', ')}`, {
      available_streams: catalogue.streams.map((s) => s.name),
    });
  }

  const sinceParam = request.query.since;
  const since = parseSince(Array.isArray(sinceParam) ? sinceParam[0] : sinceParam);
  if (!since.ok) return sendProblem(request, reply, 400, 'invalid_timestamp', since.error);
  const lastEventIdHeader = request.headers['last-event-id'];
  const lastEventId = parseLastEventId(Array.isArray(lastEventIdHeader) ? lastEventIdHeader[0] : lastEventIdHeader);
  if (!lastEventId.ok) return sendProblem(request, reply, 400, 'invalid_last_event_id', lastEventId.error);

  const url = request.raw.url ?? '';
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  // Checked and compiled, but held by nothing until the stream opens: a later refusal leaves nothing behind.
  const selected = await deps.selections.check(streams, query);
  if (!selected.ok) {
    const { message, field, validFields } = selected.problem;
    return sendProblem(request, reply, 400, 'invalid_filter', message, {
      ...(field === undefined ? {} : { field }),
      ...(validFields === undefined ? {} : { valid_fields: validFields }),
    });
  }

  // Replayed history must be scrubbed of every suppression Kafka knows of: wait for the index after a start.
  const replaying = since.timestamp !== undefined || lastEventId.positions.length > 0;
  if (replaying && !(await deps.suppressionsReady(deps.config.sanitize.replayWaitMs))) {
    return sendRetryLater(request, reply, 503, 'sanitizer_not_ready', 'The suppression index is still being rebuilt from Kafka; retry shortly', deps.config.connections.reconnectDelayMs);
  }

  const topics = [...new Set(streams.flatMap((s) => s.topics))];
  const allowedTopics = [...new Set(streams.flatMap((s) => [...s.topics, ...(s.topicsAllowed ?? [])]))];
  let assignment: Assignment;
  try {
    assignment = await resolveAssignment(
      { topics, allowedTopics, positions: lastEventId.positions, since: since.timestamp, now: Date.now() },
      deps.source.offsets,
    );
  } catch (error) {
    if (error instanceof PositionError) return sendProblem(request, reply, error.status, error.type, error.message);
    request.log.error({ err: error, streams: names }, 'could not resolve stream positions in Kafka');
    return sendRetryLater(request, reply, 503, 'kafka_unavailable', 'Kafka is not reachable right now; retry shortly', deps.config.connections.reconnectDelayMs);
  }
  if (assignment.missingTopics.length > 0) {
    request.log.error({ topics: assignment.missingTopics }, 'configured topics do not exist in Kafka');
  }
  if (assignment.starts.length === 0) {
    return sendRetryLater(request, reply, 503, 'no_topics', 'None of the topics of the requested streams exist in Kafka yet', deps.config.connections.reconnectDelayMs);
  }

  // The last step before the stream opens, so no later refusal can leave budget or a selection held.
  const acquired = deps.liveSelections.acquire(selected.candidate);
  if (!acquired.ok) {
    return sendRetryLater(request, reply, 503, 'filter_budget_exhausted', budgetProblem(acquired.cost, acquired.spent, acquired.limit), BACKOFF_MS);
  }
  try {
    openStream(request, reply, deps, streams, acquired.lease, assignment, ip);
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
): void {
  const { selection } = lease;
  const { format, contentType } = negotiateFormat(request.headers.accept);
  const log = request.log;
  const loggedIp = clientIpLogField(ip, deps.config.logClientIp);
  const started = Date.now();
  reply.hijack();
  const res = reply.raw;
  const preset: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) preset[name] = value;
  res.writeHead(200, {
    ...preset,
    'content-type': contentType,
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    [START_POSITIONS_HEADER]: startPositionsHeader(assignment.starts),
  });
  res.flushHeaders();

  const { connections, fanout } = deps.config;
  const filteredByTopic = new Map(streams.flatMap((s) => s.topics.map((topic) => [topic, deps.metrics.eventsFiltered.labels(s.name)] as const)));
  const session = new StreamSession(res, {
    format,
    starts: assignment.starts,
    dropped: assignment.dropped,
    selection,
    countFiltered: (topic) => filteredByTopic.get(topic)?.inc(),
    shareKey: `${format}|${selection.key}`,
    backlogBytes: fanout.clientBacklogBytes,
    stallMs: fanout.clientStallMs,
    heartbeatIntervalMs: deps.config.heartbeatIntervalMs,
    // Jitter spreads the reconnects of clients that connected together.
    ...(connections.maxDurationMs > 0 ? { deadline: started + connections.maxDurationMs * (1 - connections.maxDurationJitter * Math.random()) } : {}),
    reconnectDelayMs: connections.reconnectDelayMs,
    flush: deps.flush,
    guard: deps.guard,
    metrics: deps.metrics,
    log,
  });
  const names = streams.map((s) => s.name);
  for (const name of names) deps.metrics.connectedClients.inc({ stream: name });
  deps.metrics.connectionsTotal.inc({ streams: [...names].sort().join(',') });
  deps.sessions.add(session);
  session.open();
  const subscription = deps.source.subscribe(session.cursors, assignment.ends);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    subscription.close();
    lease.release();
    deps.ipLimiter.release(ip);
    deps.sessions.delete(session);
    for (const name of names) deps.metrics.connectedClients.dec({ stream: name });
    log.info(
      {
        streams: names,
        ...loggedIp,
        userAgent: request.headers['user-agent'],
        durationMs: Date.now() - started,
        eventsSent: session.stats.eventsSent,
        bytesSent: session.stats.bytesSent,
        reason: session.endReason,
      },
      'stream closed',
    );
  };
  res.once('close', close);
  log.info({ streams: names, format, partitions: assignment.starts.length, ...loggedIp, userAgent: request.headers['user-agent'] }, 'stream opened');
  // A client gone while the request was being resolved: its 'close' has been and will not come again.
  if (res.destroyed) close();
}
