import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** An RFC 9457 problem body, shaped like EventStreams' errors (`type`, `title`, `detail`, ...). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  method: string;
  uri: string;
  [extra: string]: unknown;
}

export function problem(request: FastifyRequest, status: number, type: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { type, title: STATUS_CODES[status] ?? 'Error', status, detail, method: request.method.toLowerCase(), uri: request.url, ...extra };
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  type: string,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply.code(status).type('application/problem+json').send(problem(request, status, type, detail, extra));
}
