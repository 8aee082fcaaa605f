import { randomBytes } from 'node:crypto';
import { constants, crc32, gunzipSync, inflateSync, zstdDecompressSync, createGunzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adler32, adler32Combine, crc32Combine, crc32Shift } from '../../src/compress/checksum.ts';
import { Compression, type BodyEncoder } from '../../src/compress/encoder.ts';
import { SharedChunk } from '../../src/compress/shared-chunk.ts';
import { readRecordedEvents } from '../../bench/lib/recorded-events.ts';
import { negotiateCoding, streamCoding, streamVary, type ContentCoding } from '../../src/protocol/content-coding.ts';

describe('checksums folded per batch', () => {
  it.each([
    [0, 0],
    [1, 1],
    [100, 3],
    [5000, 70_000],
    [3, 1 << 20],
  ])('CRC-32 and Adler-32 of A‖B from A and B (%i + %i bytes) equal those of the whole', (a, b) => {
    const [x, y] = [randomBytes(a), randomBytes(b)];
    const whole = Buffer.concat([x, y]);
    expect(crc32Combine(crc32(x), crc32(y), crc32Shift(b))).toBe(crc32(whole));
    expect(adler32Combine(adler32(x), adler32(y), b)).toBe(adler32(whole));
    expect(adler32(y, adler32(x))).toBe(adler32(whole));
  });
  it('Adler-32 of a known text', () => expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398));
});

describe('content coding negotiation', () => {
  const offered: ContentCoding[] = ['gzip', 'deflate', 'zstd'];
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br, zstd', 'gzip'],
    ['gzip, deflate', 'gzip'],
    ['deflate', 'deflate'],
    ['zstd', 'zstd'],
    ['gzip;q=0.5, zstd', 'zstd'],
    ['gzip;q=0, deflate', 'deflate'],
    ['br', 'identity'],
    ['identity', 'identity'],
    ['*', 'gzip'],
    ['gzip;q=0, deflate;q=0, zstd;q=0, identity;q=0', 'identity'],
  ])('Accept-Encoding %j → %s', (header, coding) => expect(negotiateCoding(header, offered)).toBe(coding));
  it('offers nothing the configuration leaves out', () => {
    expect(negotiateCoding('gzip, zstd', ['zstd'])).toBe('zstd');
    expect(negotiateCoding('gzip', [])).toBe('identity');
  });
  it('sends identity to the user agents that read bodies raw (python sseclient), and says the body varies with the user agent', () => {
    const policy = { codings: offered, identityUserAgents: ['python-requests/'] };
    expect(streamCoding('gzip, deflate', 'python-requests/2.32.3', policy)).toBe('identity');
    expect(streamCoding('gzip, deflate', 'Pywikibot/11.9.0 requests/2.32.3', policy)).toBe('gzip');
    expect(streamCoding('gzip, deflate', undefined, policy)).toBe('gzip');
    expect(streamVary(policy)).toBe('accept, accept-encoding, user-agent');
    expect(streamVary({ codings: offered, identityUserAgents: [] })).toBe('accept, accept-encoding');
  });
});

const recorded = readRecordedEvents().map((event) => JSON.stringify(event));

/** A real recentchange event framed as the service sends it. */
function frame(seq: number): string {
  return `event: message\nid: [{"topic":"eqiad.rc","partition":0,"timestamp":${1_700_000_000_000 + seq},"ts_seen":1}]\ndata: ${recorded[seq % recorded.length]}\n\n`;
}

interface Conn {
  encoder: BodyEncoder;
  wire: Buffer[];
  plain: string[];
}

function decode(coding: ContentCoding, wire: Buffer, complete: boolean): string {
  if (coding === 'gzip') return (complete ? gunzipSync(wire) : gunzipSync(wire, { finishFlush: constants.Z_SYNC_FLUSH })).toString();
  if (coding === 'deflate') return (complete ? inflateSync(wire) : inflateSync(wire, { finishFlush: constants.Z_SYNC_FLUSH })).toString();
  if (coding === 'zstd') return (complete ? zstdDecompressSync(wire) : zstdDecompressSync(wire, { finishFlush: constants.ZSTD_e_flush })).toString();
  return wire.toString();
}

/**
 * Connections of one group joining at different times; each turn every open connection is sent the
 * turn's batch (shared), some also their own blocks (heartbeats, ids). Returns each one's wire bytes
 * and what it should decode to.
 */
function simulate(coding: ContentCoding, compression: Compression, turns = 120) {
  const conns: Conn[] = [];
  const open = (): Conn => {
    const conn: Conn = { encoder: compression.encoder(coding, 'sse|group'), wire: [], plain: [] };
    conns.push(conn);
    own(conn, ':ok\n\n');
    return conn;
  };
  const own = (conn: Conn, text: string) => {
    conn.wire.push(Buffer.from(conn.encoder.own(text)));
    conn.plain.push(text);
  };
  open();
  let seq = 0;
  // The position each turn leads to: a connection's next batch leads on from its last one.
  let position = {};
  for (let turn = 0; turn < turns; turn++) {
    if (turn % 15 === 3) open();
    if (turn === 40) own(conns[0]!, ':\n\n');
    if (turn === 41) own(conns[1]!, `id: [{"topic":"eqiad.rc","partition":0,"offset":${seq}}]\n\n`);
    let text = '';
    for (let i = 0; i < 1 + (turn % 3); i++) text += frame(seq++);
    const next = {};
    const chunk = new SharedChunk(Buffer.from(text), position, next);
    position = next;
    for (const conn of conns) {
      conn.wire.push(conn.encoder.shared(chunk));
      conn.plain.push(text);
    }
  }
  return conns;
}

describe.each(['gzip', 'deflate', 'zstd'] as const)('%s streams shared by a group', (coding) => {
  it('decode on every connection to exactly its identity stream, whenever it joined, with a valid trailer after a clean end', () => {
    const compression = new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 10, maxSharedZstdStreams: 10 });
    const conns = simulate(coding, compression);
    for (const conn of conns) {
      const trailer = conn.encoder.finish();
      if (trailer !== undefined) conn.wire.push(trailer);
      // gunzipSync/inflateSync check the CRC-32/Adler-32 and length: a wrong trailer throws.
      expect(decode(coding, Buffer.concat(conn.wire), true)).toBe(conn.plain.join(''));
      conn.encoder.release();
    }
    expect(compression.sharedHistories).toBe(0);
    expect(compression.sharedZstdStreams).toBe(0);
  });

  it('decode up to the last write when the connection is cut (no trailer)', async () => {
    const conns = simulate(coding, new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 10, maxSharedZstdStreams: 10 }), 30);
    for (const conn of conns) expect(decode(coding, Buffer.concat(conn.wire), false)).toBe(conn.plain.join(''));
    if (coding === 'gzip') {
      // And as a streaming client sees it: every event as soon as its write arrived.
      const gunzip = createGunzip();
      const seen: string[] = [];
      gunzip.on('data', (d: Buffer) => seen.push(d.toString()));
      const conn = conns[0]!;
      for (const [i, piece] of conn.wire.entries()) {
        await new Promise<void>((resolve) => gunzip.write(piece, () => resolve()));
        await new Promise<void>((resolve) => gunzip.flush(constants.Z_SYNC_FLUSH, () => resolve()));
        expect(seen.join('')).toBe(conn.plain.slice(0, i + 1).join(''));
      }
    }
  });
});

describe('a shared deflate history', () => {
  it('compresses like one compressor per connection once windows match, and connections without it still decode', () => {
    const shared = simulate('gzip', new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 10, maxSharedZstdStreams: 10 }), 200);
    const none = simulate('gzip', new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 0, maxSharedZstdStreams: 0 }), 200);
    const bytes = (conns: Conn[]) => Buffer.concat(conns[0]!.wire).length;
    const identity = Buffer.concat(shared[0]!.plain.map((p) => Buffer.from(p))).length;
    // History-free batches cost far more than batches that refer to the last 32 KiB.
    expect(bytes(shared) / identity).toBeLessThan(0.6 * (bytes(none) / identity));
    // The target for one compressor per group, in steady state (joins and a heartbeat included).
    expect(bytes(shared) / identity).toBeLessThan(0.25);
    for (const conns of [shared, none]) for (const conn of conns) expect(decode('gzip', Buffer.concat(conn.wire), false)).toBe(conn.plain.join(''));
  });

  it('is released with the last connection of its group', () => {
    const compression = new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 1, maxSharedZstdStreams: 1 });
    const a = compression.encoder('gzip', 'one');
    const b = compression.encoder('deflate', 'one');
    compression.encoder('gzip', 'two'); // over the bound: history-free
    expect(compression.sharedHistories).toBe(1);
    a.release();
    expect(compression.sharedHistories).toBe(1);
    b.release();
    expect(compression.sharedHistories).toBe(0);
  });
});

describe('a shared zstd stream', () => {
  const settings = { deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 0 };
  it('compresses like one compressor per connection for connections in step, and joiners enter at the next frame', () => {
    const shared = simulate('zstd', new Compression({ ...settings, maxSharedZstdStreams: 1 }), 400);
    const none = simulate('zstd', new Compression({ ...settings, maxSharedZstdStreams: 0 }), 400);
    const ratio = (conn: Conn) => Buffer.concat(conn.wire).length / Buffer.concat(conn.plain.map((p) => Buffer.from(p))).length;
    // A frame per write (what connections past the bound get) against the group's frames.
    expect(ratio(shared[0]!)).toBeLessThan(0.25);
    expect(ratio(shared[0]!)).toBeLessThan(0.6 * ratio(none[0]!));
    // One that joined mid-frame (turn 3) had a frame of its own per write until the next frame began, then shared them.
    expect(ratio(shared[1]!)).toBeLessThan(0.25);
    for (const conns of [shared, none])
      for (const conn of conns) {
        expect(decode('zstd', Buffer.concat(conn.wire), false)).toBe(conn.plain.join(''));
        const end = conn.encoder.finish();
        if (end !== undefined) conn.wire.push(end);
        // The end closes the frame the connection is in: a strict decoder takes the whole body.
        expect(decode('zstd', Buffer.concat(conn.wire), true)).toBe(conn.plain.join(''));
      }
  });

  it('is released with the last connection of its group, and connections past the bound still decode', () => {
    const compression = new Compression({ ...settings, maxSharedZstdStreams: 1 });
    const a = compression.encoder('zstd', 'one');
    const b = compression.encoder('zstd', 'one');
    compression.encoder('zstd', 'two'); // over the bound: a frame per write
    expect(compression.sharedZstdStreams).toBe(1);
    a.release();
    expect(compression.sharedZstdStreams).toBe(1);
    b.release();
    expect(compression.sharedZstdStreams).toBe(0);
  });
});
