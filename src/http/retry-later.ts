import type { FastifyReply, FastifyRequest } from 'fastify';
import { sseRetry } from '../event/frame.ts';
import { sendProblem } from './problem.ts';
import { PROBLEMS, type RetryLaterType } from './problems.ts';

/** Seconds of the `Retry-After` header of a 503 answer. */
export const RETRY_AFTER_SECONDS = 5;

/** The status each retry stream stands for, for the refused-requests metric. */
const retryAnswers = new WeakMap<FastifyReply, number>();

/**
 * "Not now, retry shortly" (Kafka unreachable, topics not there yet, suppression index rebuilding,
 * the server at capacity, too many streams from this client). Event-stream clients give up for good
 * on any answer but 200 (browser `EventSource`, npm `eventsource`, python `requests-sse`), yet
 * reconnect with their `Last-Event-ID` after a 200 event stream that ends. So a request that accepts
 * `text/event-stream` gets such a stream: the reason as a comment and `retry:` advice (jittered like
 * the server's other reconnect advice), then the end. Everyone else (curl, scripts, probes), and
 * clients that say they read problem bodies (`Accept: text/event-stream, application/problem+json`,
 * as the web UI), get the problem (429 or 503) with `Retry-After`.
 */
export function sendRetryLater(request: FastifyRequest, reply: FastifyReply, type: RetryLaterType, detail: string, retryMs: number): FastifyReply {
  // The client comes back after a while: an idle keep-alive connection meanwhile would only hold a
  // descriptor and memory (thousands of them when a process at capacity refuses a crowd).
  reply.header('connection', 'close');
  if (!wantsRetryStream(request.headers.accept)) {
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    return sendProblem(request, reply, type, detail);
  }
  retryAnswers.set(reply, PROBLEMS[type].status);
  const comment = `:${type}: ${detail.replace(/[\r\n]+/g, ' ')}\n\n`;
  return reply
    .code(200)
    .type('text/event-stream')
    .header('cache-control', 'no-cache')
    .send(comment + sseRetry(retryMs + Math.random() * retryMs));
}

/** The status a reply stands for: a 200 retry stream still counts as the refusal it replaces. */
export function refusalStatus(reply: FastifyReply): number {
  return retryAnswers.get(reply) ?? reply.statusCode;
}

function wantsRetryStream(accept: string | undefined): boolean {
  const types = accept?.toLowerCase() ?? '';
  return types.includes('text/event-stream') && !types.includes('application/problem+json');
}
