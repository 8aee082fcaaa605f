/**
 * libuv (since 1.45) accepts one connection per listening socket per turn of the event loop. A
 * loop busy writing thousands of streams turns every 10-20 ms, so one socket accepts 50-100
 * connections a second and a reconnect storm waits minutes in the kernel's accept queue (measured:
 * 1,541 of 5,000 clients had no response after 125 s). More sockets on the same port
 * (SO_REUSEPORT, the kernel spreads connections among them) accept that many per turn.
 */
import type { Server } from 'node:http';
import { createServer, type AddressInfo, type ListenOptions, type Server as NetServer, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

export interface ListenSettings {
  host: string;
  port: number;
  /** Each socket's accept queue. */
  backlog: number;
  /** Listening sockets on the port (`connections.accept_sockets`). */
  sockets: number;
  /** Open connections of every kind (streams, requests, idle keep-alive) past which new ones are closed unanswered; 0 = unlimited (`connections.max_connections`). */
  maxConnections: number;
  /** A connection was closed unanswered because `maxConnections` were open. */
  dropped?: () => void;
}

export interface Listening {
  /** The server's address as fastify reports it. */
  url: string;
  /** Connections open now (what `maxConnections` bounds). */
  readonly connections: number;
  /** Stops accepting on the extra sockets (the server's own closes with the app). */
  close(): void;
}

/** Listens on `settings.sockets` sockets of one port; every connection goes to the app's server. */
export async function listen(app: FastifyInstance, settings: ListenSettings): Promise<Listening> {
  const shared = settings.sockets > 1;
  // With SO_REUSEPORT a second instance on a taken port would share it silently: fail as a plain bind does.
  if (shared && settings.port !== 0) await ensureFree(settings.host, settings.port);
  const open = countConnections(app.server, settings);
  const url = await app.listen({ port: settings.port, host: settings.host, backlog: settings.backlog, ...(shared ? { reusePort: true } : {}) });
  const extras: NetServer[] = [];
  try {
    const { address, port } = app.server.address() as AddressInfo;
    for (let i = 1; i < settings.sockets; i++) extras.push(await forward(app.server, { host: address, port, backlog: settings.backlog, reusePort: true }));
  } catch (error) {
    closeAll(extras);
    await app.close();
    throw error;
  }
  return {
    url,
    get connections() {
      return open.count;
    },
    close: () => closeAll(extras),
  };
}

/**
 * Counts the connections the server gets from all its sockets and closes, before the HTTP parser
 * sees them, those past the cap: an anonymous client may hold connections without opening a stream
 * (idle keep-alive, a request sent a byte at a time), and each holds a file descriptor and memory.
 * Node's own `maxConnections` counts per listening socket, not per port.
 */
function countConnections(server: Server, settings: ListenSettings): { count: number } {
  const open = { count: 0 };
  server.prependListener('connection', (socket: Socket) => {
    if (settings.maxConnections > 0 && open.count >= settings.maxConnections) {
      socket.destroy();
      settings.dropped?.();
      return;
    }
    open.count++;
    socket.on('close', () => open.count--);
  });
  return open;
}

/** A socket that hands what it accepts to `server`, as if `server` had accepted it. */
async function forward(server: Server, options: ListenOptions): Promise<NetServer> {
  // The options an http.Server gives its own sockets: the HTTP parser decides what a half-close means, and no Nagle delay.
  const extra = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => server.emit('connection', socket));
  await bind(extra, options);
  return extra;
}

async function ensureFree(host: string, port: number): Promise<void> {
  const probe = createServer();
  await bind(probe, { host, port });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

function bind(server: NetServer, options: ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeAll(servers: readonly NetServer[]): void {
  // Stops accepting at once; the connections accepted are the app server's to end.
  for (const server of servers) server.close();
}
