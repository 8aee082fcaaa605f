import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemBody, sendProblem } from './problem.ts';

const answered = new WeakSet<Socket>();

/** How long a refused connection may keep sending (e.g. the rest of a huge URL) before it is cut. */
const DRAIN_MS = 2000;

/**
 * Requests Node's HTTP parser refuses before fastify sees them (request line and headers over
 * `maxHeaderSize`, malformed HTTP): answered with a problem body like every other refusal, then
 * closed. The rest of what the client sends is read and dropped for a moment, so it receives the
 * answer instead of a connection reset.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // Node reports the parse error again for every further chunk: the first report answers.
  if (error.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  const body =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? problemBody('request_too_large', `The request line (URL) and headers together exceed ${maxHeaderSize} bytes`)
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? problemBody('request_timeout', 'The request was not received in time')
        : problemBody({ type: 'bad_request', status: 400 }, 'Malformed HTTP request');
  if (socket.writable) {
    const json = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${body.status} ${body.title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
    socket.resume();
    socket.setTimeout(DRAIN_MS, () => socket.destroy());
  } else {
    socket.destroy();
  }
}

/** Fastify's own refusals of a URL (bad percent-encoding, a path segment over the router's limit), as problems. */
export function frameworkErrors(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendProblem(request, reply, 'uri_too_long', 'A path segment of the URL is too long');
  return sendProblem(request, reply, { type: 'bad_request', status: 400 }, 'The URL is not valid (bad percent-encoding)');
}
