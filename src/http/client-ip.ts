import type { FastifyRequest } from 'fastify';

/**
 * The client's IP: from the trusted proxy's header when configured (first address of a list),
 * else the socket's address.
 */
export function clientIp(request: FastifyRequest, trustedHeader: string | undefined): string {
  if (trustedHeader !== undefined) {
    const value = request.headers[trustedHeader.toLowerCase()];
    const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
    if (first !== undefined && first !== '') return first.slice(0, 64);
  }
  return request.socket.remoteAddress ?? 'unknown';
}
