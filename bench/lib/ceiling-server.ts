/**
 * The fan-out ceiling: the physical best case of serving the bench stream with Node on this
 * machine, run next to the service by bench/fanout.ts (forked and driven by bench/lib/ceiling.ts;
 * never run directly). A bare `node:http` server with no Kafka and NO per-client work: every 10 ms
 * tick it builds the frames due at `rate` events/s ONCE (bench/lib/ceiling-frames.ts: the bytes the
 * service sends for the same recorded events, id lines and all) and writes the same buffer to every
 * socket.
 *
 * Compressed codings (the client's `Accept-Encoding`: gzip, deflate = zlib, zstd) get the same
 * treatment: one stateful compressor per coding for ALL its clients, fed each tick's batch once and
 * flushed (Z_SYNC_FLUSH; zstd: ZSTD_e_flush, one frame throughout, with deflate's 32 KiB window) so
 * every event decodes as soon as it arrives, and its output written as it is to every socket of that coding. The container header
 * and the `:ok` opening are compressed once at start, so every client's body is the same valid
 * stream, provided it connected before the first event: a compressed client arriving later would
 * need a history it does not have, so it is answered 503 (counted as `refusedLate`). A client
 * with an unknown or no coding gets identity. Levels are the service's defaults unless told.
 *
 * IPC, each request {id, request} answered {id, result}: init {deflateLevel, zstdLevel} → {port};
 * rate {rate} (0 stops) → {}; stats → CeilingStats. Listens on 127.0.0.1 only; exits with its parent.
 */
import http, { type ServerResponse } from 'node:http';
import { constants, createDeflate, createGzip, createZstdCompress, type Deflate, type Gzip, type ZstdCompress } from 'node:zlib';
import { loadTemplates, RECENTCHANGE_TOPICS } from './bench-events.ts';
import { CeilingFrames } from './ceiling-frames.ts';
import type { Coding } from './encodings.ts';

export interface CeilingInit {
  type: 'init';
  deflateLevel: number;
  zstdLevel: number;
}

export interface CeilingStats {
  /** The next seq to be produced (seqs produced so far). */
  nextSeq: number;
  clients: Record<Coding, number>;
  /** Compressed clients refused because they came after the first event. */
  refusedLate: number;
  /** Bytes of body written to ONE client of each coding since the start (its stream). */
  streamBytes: Record<Coding, number>;
  /** Identity bytes that went into each coding's stream. */
  inputBytes: Record<Coding, number>;
  rssBytes: number;
}

export type CeilingRequest = CeilingInit | { type: 'rate'; rate: number } | { type: 'stats' };
export interface CeilingEnvelope {
  id: number;
  request: CeilingRequest;
}

const OPENING = Buffer.from(':ok\n\n');
const TICK_MS = 10;
/** 2^15 = 32 KiB. */
const ZSTD_WINDOW_LOG = 15;

interface Stream {
  readonly coding: Coding;
  readonly sockets: Set<ServerResponse>;
  readonly compressor: Gzip | Deflate | ZstdCompress | null;
  /** What every client gets at connect: the (compressed) opening. */
  preamble: Buffer;
  /** An event batch went into it: a compressed stream can take no new client. */
  started: boolean;
  streamBytes: number;
  inputBytes: number;
}

function compressor(coding: Exclude<Coding, 'identity'>, init: CeilingInit): Gzip | Deflate | ZstdCompress {
  // Every write flushed; chunks large enough that one tick's output is one 'data' (one write per socket).
  const chunkSize = 256 * 1024;
  switch (coding) {
    case 'gzip':
      return createGzip({ level: init.deflateLevel, flush: constants.Z_SYNC_FLUSH, chunkSize });
    case 'deflate':
      return createDeflate({ level: init.deflateLevel, flush: constants.Z_SYNC_FLUSH, chunkSize });
    case 'zstd':
      // A 32 KiB window, as deflate's: with its default (2 MiB at level 3) zstd would match the bench
      // data's 300-event cycle (~480 KB) whole, a repetition no live stream offers.
      return createZstdCompress({
        flush: constants.ZSTD_e_flush,
        chunkSize,
        params: { [constants.ZSTD_c_compressionLevel]: init.zstdLevel, [constants.ZSTD_c_windowLog]: ZSTD_WINDOW_LOG },
      });
  }
}

async function makeStream(coding: Coding, init: CeilingInit): Promise<Stream> {
  const sockets = new Set<ServerResponse>();
  if (coding === 'identity') return { coding, sockets, compressor: null, preamble: OPENING, started: false, streamBytes: OPENING.length, inputBytes: OPENING.length };
  const z = compressor(coding, init);
  // The opening's output (container header included): collected, then every later output goes to all sockets.
  const first: Buffer[] = [];
  let collect = true;
  const stream: Stream = { coding, sockets, compressor: z, preamble: Buffer.alloc(0), started: false, streamBytes: 0, inputBytes: OPENING.length };
  z.on('data', (out: Buffer) => {
    stream.streamBytes += out.length;
    if (collect) {
      first.push(out);
      return;
    }
    for (const res of sockets) res.write(out);
  });
  await new Promise<void>((resolve) => z.write(OPENING, () => resolve()));
  // The output of a write is pushed before its callback; one more turn to be sure it was seen.
  await new Promise((r) => setImmediate(r));
  collect = false;
  stream.preamble = Buffer.concat(first);
  return stream;
}

function pick(acceptEncoding: string | string[] | undefined): Coding {
  const value = (Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : (acceptEncoding ?? '')).trim().toLowerCase();
  return value === 'gzip' || value === 'deflate' || value === 'zstd' ? value : 'identity';
}

/** Starts serving; returns the port and the handler of later requests. */
async function start(init: CeilingInit): Promise<{ port: number; handle: (r: CeilingRequest) => unknown }> {
  const streams = new Map<Coding, Stream>();
  for (const coding of ['identity', 'gzip', 'deflate', 'zstd'] as const) streams.set(coding, await makeStream(coding, init));
  let refusedLate = 0;
  const server = http.createServer((req, res) => {
    const stream = streams.get(pick(req.headers['accept-encoding']))!;
    if (stream.compressor !== null && stream.started) {
      refusedLate++;
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('the ceiling takes compressed clients only before the first event\n');
      return;
    }
    const headers: Record<string, string> = {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      vary: 'accept, accept-encoding',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    };
    if (stream.compressor !== null) headers['content-encoding'] = stream.coding;
    res.writeHead(200, headers);
    res.write(stream.preamble);
    stream.sockets.add(res);
    res.once('close', () => stream.sockets.delete(res));
  });
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  const frames = new CeilingFrames(loadTemplates(), RECENTCHANGE_TOPICS);
  let rate = 0;
  let acc = 0;
  let last = Date.now();
  setInterval(() => {
    const now = Date.now();
    acc += (rate * (now - last)) / 1000;
    last = now;
    if (acc < 1) return;
    const count = Math.min(Math.floor(acc), 5000);
    acc -= count;
    // Built once, written to everyone: no per-client work.
    const batch = frames.batch(count, now);
    for (const stream of streams.values()) {
      if (stream.sockets.size === 0) continue;
      stream.inputBytes += batch.length;
      if (stream.compressor === null) {
        stream.streamBytes += batch.length;
        for (const res of stream.sockets) res.write(batch);
      } else {
        // Once for all its clients; the flushed output reaches them from the 'data' handler.
        stream.started = true;
        stream.compressor.write(batch);
      }
    }
  }, TICK_MS);

  const handle = (r: CeilingRequest): unknown => {
    if (r.type === 'rate') {
      rate = r.rate;
      acc = 0;
      last = Date.now();
      return {};
    }
    if (r.type === 'stats') {
      const per = <T>(f: (s: Stream) => T): Record<Coding, T> => Object.fromEntries([...streams].map(([c, s]) => [c, f(s)])) as Record<Coding, T>;
      const stats: CeilingStats = {
        nextSeq: frames.nextSeq,
        clients: per((s) => s.sockets.size),
        refusedLate,
        streamBytes: per((s) => s.streamBytes),
        inputBytes: per((s) => s.inputBytes),
        rssBytes: process.memoryUsage.rss(),
      };
      return stats;
    }
    throw new Error('ceiling: already initialised');
  };
  return { port, handle };
}

let handler: ((r: CeilingRequest) => unknown) | null = null;
process.on('message', (m: CeilingEnvelope) => {
  const reply = (result: unknown): void => void process.send?.({ id: m.id, result });
  if (handler !== null) {
    reply(handler(m.request));
    return;
  }
  if (m.request.type !== 'init') throw new Error(`ceiling: expected init, got ${m.request.type}`);
  start(m.request).then(
    ({ port, handle }) => {
      handler = handle;
      reply({ port });
    },
    (error: unknown) => {
      process.stderr.write(`ceiling: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
});
// The parent went away (finished, crashed or killed): never linger.
process.on('disconnect', () => process.exit(0));
