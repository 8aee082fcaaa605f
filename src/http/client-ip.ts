import proxyaddr from '@fastify/proxy-addr';
import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import type { ServiceConfig } from '../config/types.ts';

/** Whether the hop at `index` (0 = the socket's peer) with this address is a trusted proxy. */
export type ProxyTrust = (address: string, index: number) => boolean;

/**
 * Compiles `trusted_proxies` (CIDRs, addresses, or `loopback`/`linklocal`/`uniquelocal`) with the
 * library fastify and Express use for the same (it also matches IPv4-mapped IPv6 peers).
 */
export function compileTrust(proxies: readonly string[]): ProxyTrust {
  return proxyaddr.compile([...proxies]);
}

export interface ClientIpPolicy {
  /** Lower-cased header a trusted proxy sets or appends to, e.g. `x-forwarded-for` or `x-client-ip`. */
  header?: string;
  trust: ProxyTrust;
}

/**
 * The client's address, normalized (IPv4-mapped IPv6 as IPv4). The header is believed only when the
 * socket's peer is a trusted proxy, and read as a list proxies append to (`X-Forwarded-For`): the
 * client is the right-most address that is not itself a trusted proxy; what lies to its left is
 * whatever the client wrote. Anything that is not an IP address falls back to the socket's address.
 */
export function clientIp(request: IncomingMessage, policy: ClientIpPolicy): string {
  const socket = normalize(request.socket.remoteAddress) ?? 'unknown';
  if (policy.header === undefined || !policy.trust(socket, 0)) return socket;
  const value = request.headers[policy.header];
  const hops = (Array.isArray(value) ? value.join(',') : (value ?? '')).split(',').reverse();
  for (const [index, hop] of hops.entries()) {
    const address = normalize(hop.trim());
    if (address === undefined) return socket;
    if (!policy.trust(address, index + 1)) return address;
  }
  return socket;
}

/** A request id a client may not forge: only a trusted proxy's `X-Request-ID` is kept. */
export function trustedRequestId(request: IncomingMessage, trust: ProxyTrust): string | undefined {
  const value = request.headers['x-request-id'];
  const socket = normalize(request.socket.remoteAddress);
  if (typeof value !== 'string' || socket === undefined || !trust(socket, 0)) return undefined;
  // Bounded and printable, since it goes into every log line of the request.
  return /^[\w.:@/+=-]{1,128}$/.test(value) ? value : undefined;
}

/**
 * The key a client's streams are counted under: an IPv4 address, or the IPv6 network of
 * `ipv6Prefix` bits (one customer usually gets a whole /64, so per address would be no limit).
 */
export function limiterKey(ip: string, ipv6Prefix: number): string {
  return ipaddr.IPv6.isValid(ip) ? network(ipaddr.IPv6.parse(ip), ipv6Prefix) : ip;
}

/**
 * The `clientIp` field of a log line under `log_client_ip`: the address as is, its network
 * (IPv4 /24, IPv6 /48, which still tells operators where load comes from without identifying a
 * person), or no field at all.
 */
export function clientIpLogField(ip: string, mode: ServiceConfig['logClientIp']): { clientIp?: string } {
  if (mode === 'none') return {};
  if (mode === 'full') return { clientIp: ip };
  const address = normalize(ip);
  if (address === undefined) return { clientIp: 'invalid' };
  const parsed = ipaddr.parse(address);
  return { clientIp: network(parsed, parsed.kind() === 'ipv4' ? 24 : 48).split('/')[0] as string };
}

/** An address in its canonical text, IPv4-mapped IPv6 as IPv4; undefined when it is not an address. */
function normalize(text: string | undefined): string | undefined {
  if (text === undefined || !ipaddr.isValid(text)) return undefined;
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) return (parsed as ipaddr.IPv6).toIPv4Address().toString();
  // Only the dotted-quad form counts: ipaddr.js also reads `0x7f.1` and `127.1`, which no proxy writes.
  if (parsed.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return parsed.toString();
}

/** `address/bits` with the host bits zeroed. */
function network(address: ipaddr.IPv4 | ipaddr.IPv6, bits: number): string {
  const bytes = address.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] = (bytes[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${bits}`;
}
