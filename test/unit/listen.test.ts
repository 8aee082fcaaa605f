import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, type Listening } from '../../src/http/listen.ts';

const CLIENTS = 300;
const BUSY_TURN_MS = 10;

/** A child process opens `CLIENTS` connections at once, each sends a request; prints how many got 200. */
const CONNECTOR = `
const net = require('node:net');
const [port, n] = process.argv.slice(1).map(Number);
let ok = 0, done = 0;
for (let i = 0; i < n; i++) {
  const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n'));
  let head = '';
  s.on('data', (d) => { head += d; });
  s.on('error', () => {});
  s.on('close', () => { if (head.startsWith('HTTP/1.1 200')) ok++; if (++done === n) { console.log(ok); process.exit(0); } });
}
`;

let app: FastifyInstance | undefined;
let listening: Listening | undefined;

afterEach(async () => {
  listening?.close();
  await app?.close();
  app = undefined;
  listening = undefined;
});

async function serve(sockets: number, port = 0, maxConnections = 0, dropped?: () => void): Promise<{ app: FastifyInstance; port: number }> {
  app = Fastify();
  app.get('/', async () => 'ok');
  listening = await listen(app, { host: '127.0.0.1', port, backlog: 4096, sockets, maxConnections, ...(dropped ? { dropped } : {}) });
  return { app, port: (app.server.address() as AddressInfo).port };
}

/** Keeps the event loop busy (turns of `BUSY_TURN_MS`, like a loop writing thousands of streams) while `CLIENTS` connect; counts turns between the first and the last accept. */
async function storm(sockets: number): Promise<{ accepted: number; turns: number; served: number }> {
  const { app, port } = await serve(sockets);
  let accepted = 0;
  let turns = 0;
  let busy = true;
  app.server.on('connection', () => {
    accepted++;
    if (accepted === CLIENTS) busy = false;
  });
  const turn = (): void => {
    if (accepted > 0) turns++;
    const start = performance.now();
    while (performance.now() - start < BUSY_TURN_MS);
    if (busy) setImmediate(turn);
  };
  setImmediate(turn);
  const child = spawn(process.execPath, ['-e', CONNECTOR, String(port), String(CLIENTS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return { accepted, turns, served: Number(out.trim()) };
}

describe('listening sockets', () => {
  it('accepts one connection per turn of a busy event loop with one socket (why there are more)', async () => {
    const { accepted, turns, served } = await storm(1);
    expect(accepted).toBe(CLIENTS);
    expect(served).toBe(CLIENTS);
    expect(accepted / turns).toBeLessThan(1.2);
  }, 60_000);

  it('accepts several connections per turn with 8 sockets on the port, and serves every one', async () => {
    const { accepted, turns, served } = await storm(8);
    expect(accepted).toBe(CLIENTS);
    expect(served).toBe(CLIENTS);
    expect(accepted / turns).toBeGreaterThan(3);
  }, 60_000);

  it('refuses a port another server holds, as a plain bind does', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      await expect(serve(8, port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      holder.close();
    }
  });

  it('stops accepting on every socket once closed', async () => {
    const { port } = await serve(8);
    listening?.close();
    await app?.close();
    listening = undefined;
    app = undefined;
    const refused = await Promise.all(
      Array.from({ length: 20 }, () => new Promise<string>((resolve) => {
        const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve('connected'); });
        s.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      })),
    );
    expect(refused.every((r) => r === 'ECONNREFUSED')).toBe(true);
  });

  it('closes connections past max_connections unanswered, whichever socket took them, and takes new ones once some close', async () => {
    let dropped = 0;
    const { port } = await serve(8, 0, 5, () => dropped++);
    // Idle keep-alive connections: each answered once, then held open without a stream.
    const held = await Promise.all(Array.from({ length: 5 }, () => request(port, 'keep-alive')));
    expect(held.map((h) => h.answer)).toEqual(Array(5).fill('HTTP/1.1 200'));
    await until(() => listening?.connections === 5);
    const refused = await Promise.all(Array.from({ length: 10 }, () => request(port, 'close')));
    expect(refused.map((r) => r.answer)).toEqual(Array(10).fill('closed unanswered'));
    expect(dropped).toBe(10);
    expect(listening?.connections).toBe(5);
    for (const h of held.slice(0, 2)) h.socket.destroy();
    await until(() => listening?.connections === 3);
    const again = await Promise.all(Array.from({ length: 2 }, () => request(port, 'close')));
    expect(again.map((a) => a.answer)).toEqual(Array(2).fill('HTTP/1.1 200'));
    for (const h of held.slice(2)) h.socket.destroy();
  });
});

/** One request on a new connection: the status line, or 'closed unanswered'; a keep-alive connection is left open. */
function request(port: number, connection: 'close' | 'keep-alive'): Promise<{ answer: string; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET / HTTP/1.1\r\nHost: t\r\nConnection: ${connection}\r\n\r\n`));
    let data = '';
    const answer = (): string => (data === '' ? 'closed unanswered' : data.slice(0, 12));
    socket.on('data', (d: Buffer) => {
      data += d.toString();
      if (connection === 'keep-alive' && data.includes('\r\n\r\n')) resolve({ answer: answer(), socket });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ answer: answer(), socket }));
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}
