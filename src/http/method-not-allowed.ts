import type { FastifyInstance, HTTPMethods } from 'fastify';
import { sendProblem } from './problem.ts';

/** Methods a client may send to a read-only path, answered 405 rather than a misleading 404. */
const WRITE_METHODS: readonly HTTPMethods[] = ['POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Records the routes registered from now on; the returned function, called once every route is
 * in place, answers the write methods on each of their paths with 405 and the `Allow` they serve.
 */
export function methodNotAllowed(server: FastifyInstance): () => void {
  const methods = new Map<string, Set<string>>();
  server.addHook('onRoute', (route) => {
    if (route.url === undefined || route.url === '*') return;
    const served = methods.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) served.add(method);
    methods.set(route.url, served);
  });
  return () => {
    for (const [url, served] of [...methods]) {
      if (WRITE_METHODS.some((m) => served.has(m))) continue;
      const allow = [...new Set([...served, ...(served.has('GET') ? ['HEAD'] : []), 'OPTIONS'])].join(', ');
      server.route({
        method: [...WRITE_METHODS],
        url,
        // Answered before the body is read or parsed: what a refused request sends is never looked at.
        onRequest: async (request, reply) => sendProblem(request, reply.header('allow', allow), 'method_not_allowed', `${request.method} is not served here; use ${allow}`),
        handler: async () => undefined,
      });
    }
  };
}
