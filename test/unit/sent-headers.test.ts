import http, { type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { forgetSentHeaders } from '../../src/http/sent-headers.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A stream response as the stream route opens one: a header set before (as helmet does), the rest with writeHead. */
async function openStream(forget: boolean): Promise<{ res: ServerResponse; forgot: boolean; head: string; body: () => string }> {
  let opened!: (value: { res: ServerResponse; forgot: boolean }) => void;
  const ready = new Promise<{ res: ServerResponse; forgot: boolean }>((resolve) => (opened = resolve));
  const server = http.createServer((_req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    expect(forgetSentHeaders(res)).toBe(false); // nothing sent yet: kept
    res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'close' });
    res.flushHeaders();
    opened({ res, forgot: forget && forgetSentHeaders(res) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const { res, forgot } = await ready;
  while (!text.includes('\r\n\r\n')) await new Promise((resolve) => setTimeout(resolve, 5));
  return { res, forgot, head: text.slice(0, text.indexOf('\r\n\r\n')), body: () => text.slice(text.indexOf('\r\n\r\n') + 4) };
}

describe('forgetSentHeaders', () => {
  it('drops the header table of a sent head; the client got every header and the stream goes on', async () => {
    const kept = await openStream(false);
    expect(kept.res.getHeader('x-content-type-options')).toBe('nosniff');
    const stream = await openStream(true);
    expect(stream.forgot).toBe(true);
    expect(stream.res.getHeaders()).toEqual({});
    expect(stream.head.toLowerCase()).toContain('x-content-type-options: nosniff');
    expect(stream.head.toLowerCase()).toContain('content-type: text/event-stream');
    stream.res.write('data: 1\n\n');
    stream.res.end();
    await new Promise((resolve) => stream.res.once('finish', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Chunked framing still applies (the head said so): the event arrives in a chunk, then the last chunk.
    expect(stream.body()).toBe('9\r\ndata: 1\n\n\r\n0\r\n\r\n');
  });
});
