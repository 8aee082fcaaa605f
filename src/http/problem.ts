import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemTitle, resolveAnswer, type ProblemAnswer, type ProblemType } from './problems.ts';

/** The part of a problem body that does not depend on the request. */
export interface ProblemBody {
  type: ProblemType;
  title: string;
  status: number;
  detail: string;
}

/** An RFC 9457 problem body, shaped like EventStreams' errors (`type`, `title`, `detail`, ...). */
export interface Problem extends ProblemBody {
  method: string;
  uri: string;
  [extra: string]: unknown;
}

export function problemBody(answer: ProblemAnswer, detail: string): ProblemBody {
  const { type, status } = resolveAnswer(answer);
  return { type, title: problemTitle(status), status, detail };
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: ProblemAnswer,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const body: Problem = { ...problemBody(answer, detail), method: request.method.toLowerCase(), uri: request.url, ...extra };
  return reply.code(body.status).type('application/problem+json').send(body);
}
