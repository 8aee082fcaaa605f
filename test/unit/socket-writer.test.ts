import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Compression } from '../../src/compress/encoder.ts';
import { EVICTION_GRACE_MS, SOCKET_HIGH_WATER, SocketWriter } from '../../src/stream/socket-writer.ts';

/** A response whose "socket" is a PassThrough nobody reads until the test does. */
function response() {
  const socket = {
    destroys: 0,
    resets: 0,
    get destroyed(): boolean {
      return this.destroys + this.resets > 0;
    },
    destroy(): void {
      this.destroys++;
    },
    resetAndDestroy(): void {
      this.resets++;
    },
  };
  const res = Object.assign(new PassThrough({ highWaterMark: 1024 }), { socket });
  const events = { drained: 0, closed: 0, bytes: [] as number[] };
  const writer = new SocketWriter(res, new Compression({ deflateLevel: 6, zstdLevel: 3, maxSharedHistories: 0, maxSharedZstdStreams: 0 }).encoder('identity', 'k'), {
    drained: () => events.drained++,
    closed: () => events.closed++,
    countBytes: (bytes) => events.bytes.push(bytes),
  });
  return { res, socket, writer, events };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('SocketWriter', () => {
  it('counts the bytes it hands to the socket, as UTF-8', () => {
    const { res, writer, events } = response();
    writer.write('é\n');
    writer.write(Buffer.from('abc'));
    expect([writer.bytesWritten, events.bytes]).toEqual([6, [3, 3]]);
    expect(res.read()?.toString()).toBe('é\nabc');
  });

  it('is full at the high-water mark, and says so on the next drain, once', async () => {
    const { res, writer, events } = response();
    const chunk = Buffer.alloc(16 * 1024);
    while (!writer.full) writer.write(chunk);
    expect(writer.buffered).toBeGreaterThanOrEqual(SOCKET_HIGH_WATER);
    writer.awaitDrain();
    writer.awaitDrain();
    await tick();
    expect(events.drained).toBe(0);
    res.resume();
    await tick();
    expect([events.drained, writer.full, writer.buffered]).toEqual([1, false, 0]);
    // Armed again only when asked again.
    res.pause();
    while (!writer.full) writer.write(chunk);
    res.resume();
    await tick();
    expect(events.drained).toBe(1);
  });

  it('tells when the connection closed, and that it is gone', async () => {
    const { res, writer, events } = response();
    expect(writer.gone).toBe(false);
    res.destroy();
    await tick();
    expect([writer.gone, events.closed]).toEqual([true, 1]);
  });

  it('ends an evicted stream and destroys its connection once the last bytes are out', async () => {
    const { res, socket, writer } = response();
    writer.write('event: error\n\n');
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    writer.evict();
    expect(socket.destroyed).toBe(false);
    res.resume();
    await tick();
    expect([socket.destroys, socket.resets]).toEqual([1, 0]);
    // Closed gracefully: the grace period's end resets nothing.
    vi.advanceTimersByTime(EVICTION_GRACE_MS);
    expect([socket.destroys, socket.resets]).toEqual([1, 0]);
  });

  it('resets the connection of an evicted client that reads nothing, after a grace period', () => {
    vi.useFakeTimers();
    const { writer, socket } = response();
    writer.write(Buffer.alloc(SOCKET_HIGH_WATER * 2));
    writer.evict();
    vi.advanceTimersByTime(EVICTION_GRACE_MS - 1);
    expect(socket.destroyed).toBe(false);
    vi.advanceTimersByTime(1);
    expect([socket.destroys, socket.resets]).toEqual([0, 1]);
  });
});
