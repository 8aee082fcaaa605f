import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseRequestParser } from '../../src/http/request-parser.ts';

type Streaming = { req: IncomingMessage; res: ServerResponse; released: boolean };

/** A bare server whose every request becomes a never-ending stream, as the stream route opens one. */
async function streamServer(release = true): Promise<{ port: number; streams: Streaming[]; server: http.Server }> {
  const streams: Streaming[] = [];
  const server = http.createServer((req, res) => {
    sockets.push(req.socket);
    res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'close' });
    res.flushHeaders();
    streams.push({ req, res, released: release && releaseRequestParser(req) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, streams, server };
}

const servers: http.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  // A released connection is off the server's connection list: closeAllConnections does not see it.
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A raw client: everything it received, and whether the server closed the connection. */
function client(port: number): { socket: net.Socket; received: () => string; ended: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /v2/stream/x HTTP/1.1\r\nHost: x\r\n\r\n'));
  sockets.push(socket);
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => text, ended };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const until = async (check: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
const parserOf = (s: Streaming) => (s.req.socket as net.Socket & { parser?: unknown }).parser;

describe('releaseRequestParser', () => {
  it("frees the connection's parser one turn after the stream opened; the stream goes on", async () => {
    const { port, streams } = await streamServer();
    const c = client(port);
    await until(() => streams.length === 1);
    const s = streams[0]!;
    expect(s.released).toBe(true);
    await until(() => parserOf(s) === null);
    s.res.write('data: 1\n\n');
    await until(() => c.received().includes('data: 1'));
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(c.received().toLowerCase()).toContain('connection: close');
    c.socket.destroy();
  });

  it('sees the client leave', async () => {
    const { port, streams } = await streamServer();
    const c = client(port);
    await until(() => streams.length === 1 && parserOf(streams[0]!) === null);
    const closed = new Promise<void>((resolve) => streams[0]!.res.once('close', () => resolve()));
    c.socket.end();
    await closed;
  });

  it('drops what the client sends afterwards (a pipelined request gets no answer) and keeps streaming', async () => {
    const { port, streams, server } = await streamServer();
    let requests = 0;
    server.on('request', () => requests++);
    const c = client(port);
    await until(() => streams.length === 1 && parserOf(streams[0]!) === null);
    c.socket.write('GET /other HTTP/1.1\r\nHost: x\r\n\r\nnot http at all\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    streams[0]!.res.write('data: 2\n\n');
    await until(() => c.received().includes('data: 2'));
    expect(requests).toBe(1);
    expect(c.received().match(/HTTP\/1\.1/g)).toHaveLength(1);
    c.socket.destroy();
  });

  it('closes the connection when the stream ends', async () => {
    const { port, streams } = await streamServer();
    const c = client(port);
    await until(() => streams.length === 1 && parserOf(streams[0]!) === null);
    streams[0]!.res.end('retry: 1000\n\n');
    await c.ended;
    expect(c.received()).toContain('retry: 1000');
  });

  it('does nothing more when the client left before the next turn', async () => {
    const { port, streams } = await streamServer();
    const c = client(port);
    await until(() => streams.length === 1);
    streams[0]!.req.socket.destroy();
    await turn();
    await turn();
    await c.ended;
  });

  it('leaves a connection without a parser alone', () => {
    const socket = new net.Socket();
    expect(releaseRequestParser({ socket } as unknown as IncomingMessage)).toBe(false);
    socket.destroy();
  });

  it("without it, Node keeps the parser for the connection's life", async () => {
    const { port, streams } = await streamServer(false);
    const c = client(port);
    await until(() => streams.length === 1);
    await turn();
    await turn();
    expect(parserOf(streams[0]!)).toBeTruthy();
    c.socket.destroy();
  });
});
