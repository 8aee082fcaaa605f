import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp, compileTrust, limiterKey, trustedRequestId, type ClientIpPolicy } from '../../src/http/client-ip.ts';

/** A request as the HTTP server hands it over: the socket's peer and the headers as sent. */
const request = (peer: string | undefined, headers: Record<string, string | string[]> = {}): IncomingMessage =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

const behind = (header: string, proxies: string[] = ['loopback']): ClientIpPolicy => ({ header, trust: compileTrust(proxies) });

describe('clientIp', () => {
  it('is the socket address without a configured header, whatever the client sends', () => {
    const policy = { trust: compileTrust(['loopback']) };
    expect(clientIp(request('198.51.100.7', { 'x-forwarded-for': '203.0.113.1' }), policy)).toBe('198.51.100.7');
    expect(clientIp(request('::ffff:198.51.100.7'), policy)).toBe('198.51.100.7');
    expect(clientIp(request(undefined), policy)).toBe('unknown');
  });

  it('ignores the header when the peer is not a trusted proxy (a client talking to the service directly)', () => {
    const xff = behind('x-forwarded-for', ['10.0.0.0/8']);
    expect(clientIp(request('198.51.100.7', { 'x-forwarded-for': '203.0.113.1' }), xff)).toBe('198.51.100.7');
    expect(clientIp(request('10.1.2.3', { 'x-forwarded-for': '203.0.113.1' }), xff)).toBe('203.0.113.1');
    const nobody = behind('x-client-ip', []);
    expect(clientIp(request('127.0.0.1', { 'x-client-ip': '203.0.113.1' }), nobody)).toBe('127.0.0.1');
  });

  it('takes the right-most untrusted X-Forwarded-For entry: what the client wrote to its left cannot pick its bucket', () => {
    const xff = behind('x-forwarded-for', ['10.0.0.0/8', 'loopback']);
    // client -> proxy A (10.0.0.5, appends the client) -> proxy B (127.0.0.1, appends A)
    const spoofed = request('127.0.0.1', { 'x-forwarded-for': '1.1.1.1, 8.8.8.8, 198.51.100.7, 10.0.0.5' });
    expect(clientIp(spoofed, xff)).toBe('198.51.100.7');
    expect(clientIp(request('127.0.0.1', { 'x-forwarded-for': ['1.1.1.1', '198.51.100.7'] }), xff)).toBe('198.51.100.7');
    // Every hop trusted (a request from inside): the socket's peer.
    expect(clientIp(request('127.0.0.1', { 'x-forwarded-for': '10.0.0.9' }), xff)).toBe('127.0.0.1');
    expect(clientIp(request('127.0.0.1', { 'x-forwarded-for': ' 2001:db8::1 ' }), xff)).toBe('2001:db8::1');
    expect(clientIp(request('127.0.0.1', { 'x-forwarded-for': '::ffff:198.51.100.7' }), xff)).toBe('198.51.100.7');
  });

  it('falls back to the socket address for values that are not addresses', () => {
    const xff = behind('x-forwarded-for');
    for (const junk of ['', 'unknown', '<script>', '198.51.100.7:443', '127.1', '0x7f.0.0.1', 'a'.repeat(5000), '1.2.3.4, nonsense', '999.1.1.1']) {
      expect(clientIp(request('127.0.0.1', { 'x-forwarded-for': junk }), xff), junk).toBe('127.0.0.1');
    }
    expect(clientIp(request('127.0.0.1', { 'x-client-ip': 'unknown' }), behind('x-client-ip'))).toBe('127.0.0.1');
    expect(clientIp(request('127.0.0.1', {}), behind('x-client-ip'))).toBe('127.0.0.1');
  });

  it('trusts IPv4-mapped peers of a trusted IPv4 range (a dual-stack listener)', () => {
    expect(clientIp(request('::ffff:10.0.0.5', { 'x-client-ip': '203.0.113.9' }), behind('x-client-ip', ['10.0.0.0/8']))).toBe('203.0.113.9');
  });
});

describe('limiterKey', () => {
  it('counts IPv4 per address and IPv6 per network of the configured prefix', () => {
    expect(limiterKey('198.51.100.7', 64)).toBe('198.51.100.7');
    expect(limiterKey('2001:db8:1:2:aaaa::1', 64)).toBe(limiterKey('2001:db8:1:2:ffff:1:2:3', 64));
    expect(limiterKey('2001:db8:1:2::1', 64)).toBe('2001:db8:1:2::/64');
    expect(limiterKey('2001:db8:1:2::1', 64)).not.toBe(limiterKey('2001:db8:1:3::1', 64));
    expect(limiterKey('2001:db8:1:2::1', 48)).toBe(limiterKey('2001:db8:1:3::1', 48));
    expect(limiterKey('2001:db8::1', 128)).not.toBe(limiterKey('2001:db8::2', 128));
    expect(limiterKey('2001:db8:1:2::1', 60)).toBe('2001:db8:1::/60');
    expect(limiterKey('unknown', 64)).toBe('unknown');
  });
});

describe('trustedRequestId', () => {
  const trust = compileTrust(['loopback']);
  it("keeps a trusted proxy's X-Request-ID and ignores a client's", () => {
    expect(trustedRequestId(request('127.0.0.1', { 'x-request-id': 'abc-123' }), trust)).toBe('abc-123');
    expect(trustedRequestId(request('198.51.100.7', { 'x-request-id': 'abc-123' }), trust)).toBeUndefined();
  });
  it('refuses ids that would bloat or break log lines, even from a proxy', () => {
    expect(trustedRequestId(request('127.0.0.1', { 'x-request-id': 'x'.repeat(129) }), trust)).toBeUndefined();
    expect(trustedRequestId(request('127.0.0.1', { 'x-request-id': 'a b' }), trust)).toBeUndefined();
    expect(trustedRequestId(request('127.0.0.1', { 'x-request-id': ['a', 'b'] }), trust)).toBeUndefined();
  });
});
