import type { FastifyRequest } from 'fastify';
import { isIPv4, isIPv6 } from 'node:net';
import type { ServiceConfig } from '../config/types.ts';

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

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * The `clientIp` field of a log line under `log_client_ip`: the address as is, its network
 * (IPv4 /24, IPv6 /48, which still tells operators where load comes from without identifying a
 * person), or no field at all. A value that is not an IP (a proxy header says anything) is never
 * logged as given.
 */
export function clientIpLogField(ip: string, mode: ServiceConfig['logClientIp']): { clientIp?: string } {
  if (mode === 'none') return {};
  if (mode === 'full') return { clientIp: ip };
  return { clientIp: truncateIp(ip) };
}

function truncateIp(ip: string): string {
  const mapped = MAPPED_IPV4.exec(ip)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return `::ffff:${truncateIpv4(mapped)}`;
  if (isIPv4(ip)) return truncateIpv4(ip);
  if (isIPv6(ip)) return `${ipv6Groups(ip.split('%')[0] ?? '').slice(0, 3).map((g) => g.toString(16)).join(':')}::`;
  return 'invalid';
}

function truncateIpv4(ip: string): string {
  return `${ip.split('.').slice(0, 3).join('.')}.0`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing IPv4 part converted). */
function ipv6Groups(ip: string): number[] {
  const [head = '', tail] = ip.split('::');
  const parse = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const first = parse(head);
  const last = tail === undefined ? [] : parse(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}
