/**
 * compression: bytes and CPU per event of each way of compressing a stream, in process (no Kafka,
 * no sockets), on the 300 real recorded recentchange events framed as the service sends them
 * (`event: message`, a 4-partition EventStreams id line, `data:`), cycled with their ids moving on.
 * Batches of `--batch` events (1 = 100 events/s in 10 ms ticks; 4 = 400 events/s) are each one write.
 *
 * Designs, each over the same batches:
 * - identity;
 * - deflate per batch with no history (what a batch costs compressed alone; at 1 event per batch,
 *   per frame);
 * - shared history (the service): the group's batches compressed once against the last 32 KiB
 *   they were all sent (`Compression`, gzip, one connection in steady state);
 * - one stateful gzip compressor per connection (the ratio ceiling, at its CPU per connection);
 * - zstd, one frame per batch (what a connection gets outside its group's shared frame);
 * - zstd shared stream (the service): the group's batches through one zstd compressor, flushed.
 * Every design's output is decoded and compared with the identity bytes before it is reported.
 */
import { constants, createGzip, gunzipSync, zstdDecompressSync, type Gzip } from 'node:zlib';
import { DEFLATE_CONTAINERS } from '../src/compress/containers.ts';
import { Compression } from '../src/compress/encoder.ts';
import { SharedChunk, zstdFrame } from '../src/compress/shared-chunk.ts';
import { readRecordedEvents } from './lib/recorded-events.ts';
import { machineInfo, table, writeResults } from './lib/report.ts';
import { num, options } from './lib/run.ts';

const opts = options('node bench/compression.ts [--events 30000] [--batch 1,4] [--level 6]', {
  events: { default: '30000', help: 'events per design and batch size' },
  batch: { default: '1,4', help: 'events per write batch (comma-separated)' },
  level: { default: '6', help: 'deflate level' },
  'zstd-level': { default: '3', help: 'zstd level' },
});
const EVENTS = num(opts.events, 'events');
const LEVEL = num(opts.level, 'level');
const ZSTD_LEVEL = num(opts['zstd-level'], 'zstd-level');

const recorded = readRecordedEvents().map((e) => JSON.stringify(e));
const TOPICS = ['eqiad.mediawiki.recentchange', 'codfw.mediawiki.recentchange'];

function frames(count: number): Buffer[] {
  const out: Buffer[] = [];
  const ts = [1_754_300_000_000, 1_754_300_000_000, 1_754_300_000_000, 1_754_300_000_000];
  for (let i = 0; i < count; i++) {
    const p = i % 4;
    ts[p]! += 40 + (i % 13);
    const id = ts.map((t, k) => `{"topic":"${TOPICS[k % 2]}","partition":${k >> 1},"timestamp":${t + 1},"ts_seen":1}`).join(',');
    out.push(Buffer.from(`event: message\nid: [${id}]\ndata: ${recorded[i % recorded.length]}\n\n`));
  }
  return out;
}

function batches(all: Buffer[], size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += size) out.push(Buffer.concat(all.slice(i, i + size)));
  return out;
}

interface Design {
  name: string;
  what: string;
  /** Encodes every batch; returns the wire bytes and how to decode them. */
  run(input: Buffer[]): { wire: Buffer[] | Promise<Buffer[]>; decode: (wire: Buffer) => Buffer };
}

const gunzipPartial = (wire: Buffer) => gunzipSync(wire, { finishFlush: constants.Z_SYNC_FLUSH });
const inflateSegments = (wire: Buffer) => gunzipPartial(Buffer.concat([DEFLATE_CONTAINERS.gzip.header, wire]));

/** One flushed write at a time through a stateful gzip stream, as a connection's own compressor would do. */
async function perConnection(input: Buffer[]): Promise<Buffer[]> {
  const gzip: Gzip = createGzip({ level: LEVEL });
  const wire: Buffer[] = [];
  let pending: Buffer[] = [];
  gzip.on('data', (d: Buffer) => pending.push(d));
  for (const batch of input) {
    gzip.write(batch);
    await new Promise<void>((resolve) => gzip.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    wire.push(Buffer.concat(pending));
    pending = [];
  }
  gzip.destroy();
  return wire;
}

const DESIGNS: Design[] = [
  { name: 'identity', what: 'no compression', run: (input) => ({ wire: input, decode: (w) => w }) },
  {
    name: 'deflate per batch',
    what: 'each batch alone, no history (a connection not yet in its group’s history)',
    run: (input) => ({ wire: input.map((b) => new SharedChunk(b).standalone(LEVEL)), decode: inflateSegments }),
  },
  {
    name: 'shared history (service)',
    what: 'each batch once for the group, against the last 32 KiB the group was sent',
    run: (input) => {
      const encoder = new Compression({ deflateLevel: LEVEL, zstdLevel: ZSTD_LEVEL, maxSharedHistories: 1, maxSharedZstdStreams: 1 }).encoder('gzip', 'g');
      return { wire: input.map((b) => encoder.shared(new SharedChunk(b))), decode: gunzipPartial };
    },
  },
  {
    name: 'compressor per connection',
    what: 'one stateful gzip stream per connection (ratio ceiling; its CPU is per connection)',
    run: (input) => ({ wire: perConnection(input), decode: gunzipPartial }),
  },
  {
    name: 'zstd per batch',
    what: 'one zstd frame per batch, once for all connections (a connection outside its group’s shared frame)',
    run: (input) => ({ wire: input.map((b) => zstdFrame(b, ZSTD_LEVEL)), decode: (w) => zstdDecompressSync(w) }),
  },
  {
    name: 'zstd shared stream (service)',
    what: 'each batch once for the group through its zstd compressor (32 KiB window), flushed; frames of 256 KiB',
    run: (input) => {
      const encoder = new Compression({ deflateLevel: LEVEL, zstdLevel: ZSTD_LEVEL, maxSharedHistories: 1, maxSharedZstdStreams: 1 }).encoder('zstd', 'g');
      const wire = input.map((b) => encoder.shared(new SharedChunk(b)));
      encoder.release();
      return { wire, decode: (w) => zstdDecompressSync(w, { finishFlush: constants.ZSTD_e_flush }) };
    },
  },
];

const rows: (string | number)[][] = [];
const raw: Record<string, unknown>[] = [];
const all = frames(EVENTS);
for (const size of opts.batch.split(',').map((s) => num(s, 'batch'))) {
  const input = batches(all, size);
  const identity = Buffer.concat(input);
  for (const design of DESIGNS) {
    await design.run(input.slice(0, 200)).wire; // warm-up
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const run = design.run(input);
    const wire = await run.wire;
    const decode = run.decode;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const wireBytes = wire.reduce((n, b) => n + b.length, 0);
    if (!decode(Buffer.concat(wire)).equals(identity)) throw new Error(`${design.name} does not decode to the identity stream`);
    const row = {
      batch: size,
      design: design.name,
      what: design.what,
      bytesPerEvent: wireBytes / EVENTS,
      ofIdentity: wireBytes / identity.length,
      usPerEvent: (1000 * ms) / EVENTS,
      cpuUsPerEvent: (cpu.user + cpu.system) / EVENTS,
    };
    raw.push(row);
    rows.push([size, design.name, Math.round(row.bytesPerEvent), `${(100 * row.ofIdentity).toFixed(1)} %`, row.usPerEvent.toFixed(1), design.what]);
    process.stdout.write(`batch ${size} ${design.name}: ${(100 * row.ofIdentity).toFixed(1)} % of identity, ${row.usPerEvent.toFixed(1)} µs/event\n`);
  }
}

const info = machineInfo();
const md = `## compression: ${EVENTS.toLocaleString('en-US')} real recentchange events framed as the service sends them

${info.date}, node ${info.node}, ${info.cores} cores (${info.cpuModel}), commit ${info.gitCommit}${info.gitDirty ? ' (dirty)' : ''}. Deflate level ${LEVEL}, zstd level ${ZSTD_LEVEL}. Every output was decoded and equals the identity bytes. µs per event is the wall time to encode (per group for the shared designs, per connection for the compressor per connection).

${table(['events per write', 'design', 'bytes/event', 'of identity', 'µs/event', 'what'], rows)}
`;
writeResults('compression', { machine: info, events: EVENTS, level: LEVEL, zstdLevel: ZSTD_LEVEL, rows: raw }, md);
