import { describe, expect, it } from 'vitest';
import { BenchFrames } from '../../bench/lib/bench-frames.ts';
import { parseBlocks, SseBlocks, SseParser } from '../../bench/lib/sse-parser.ts';

const ID = '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":7}]';
const STREAM =
  ':ok\n\n' +
  `event: message\nid: ${ID}\ndata: {"bench":{"seq":7,"sent_ms":1700000000000},"title":"Ä"}\n\n` +
  ':\n\n' +
  'id: [{"offset":9}]\n\n' +
  'retry: 5000\n\n' +
  'event: notice\ndata: one\ndata: two\n\n' +
  'data\nid:no-space\n\n' +
  'event: message\nid: [{"offset":10}]\ndata: {"partial"';

/** Pushes `text` in pieces cut at `cuts`, each copied into one reused buffer (as the load generator reads). */
function pushPieces(parser: SseParser, text: string, cuts: number[]): void {
  const bytes = Buffer.from(text);
  const shared = Buffer.alloc(bytes.length);
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    bytes.copy(shared, 0, from, to);
    parser.push(shared, 0, to - from);
    shared.fill(0x7e);
    from = to;
  }
}

describe('SseParser', () => {
  it('reads every field of complete frames; the partial last frame is left out', () => {
    expect(parseBlocks(STREAM)).toEqual([
      { comment: 'ok' },
      { event: 'message', id: ID, data: '{"bench":{"seq":7,"sent_ms":1700000000000},"title":"Ä"}' },
      { comment: '' },
      { id: '[{"offset":9}]' },
      { retry: '5000' },
      { event: 'notice', data: 'one\ntwo' },
      { data: '', id: 'no-space' },
    ]);
  });

  it('gives the same frames and last id wherever the reads split the bytes', () => {
    const whole = parseBlocks(STREAM);
    const length = Buffer.byteLength(STREAM);
    for (let cut = 1; cut < length; cut++) {
      const sink = new SseBlocks();
      const parser = new SseParser(sink);
      pushPieces(parser, STREAM, [cut]);
      expect(sink.blocks, `cut at ${cut}`).toEqual(whole);
      expect(parser.lastEventId).toBe('no-space');
    }
    const sink = new SseBlocks();
    const parser = new SseParser(sink);
    pushPieces(parser, STREAM, Array.from({ length: length - 1 }, (_, i) => i + 1));
    expect(sink.blocks).toEqual(whole);
  });

  it('keeps the id of the last complete frame, also across a reset that drops a partial frame', () => {
    const sink = new SseBlocks();
    const parser = new SseParser(sink);
    pushPieces(parser, `event: message\nid: ${ID}\ndata: {}\n\nevent: message\nid: [{"offset":8}]\nda`, []);
    expect(parser.lastEventId).toBe(ID);
    parser.reset();
    // A new connection: nothing of the dropped frame's lines carries over.
    pushPieces(parser, ':ok\n\n', []);
    expect(parser.lastEventId).toBe(ID);
    expect(sink.blocks).toEqual([{ event: 'message', id: ID, data: '{}' }, { comment: 'ok' }]);
  });
});

describe('BenchFrames', () => {
  function read(text: string, cuts: number[] = []): { messages: [number, number][]; named: [string, string][] } {
    const messages: [number, number][] = [];
    const named: [string, string][] = [];
    pushPieces(new SseParser(new BenchFrames({ message: (s, t) => messages.push([s, t]), named: (k, t) => named.push([k, t]) })), text, cuts);
    return { messages, named };
  }

  it('reads bench.seq and bench.sent_ms of message events, first or anywhere in the value', () => {
    expect(read(STREAM)).toEqual({
      messages: [
        [7, 1700000000000],
        [-1, -1],
      ],
      named: [['notice', 'event: notice\ndata: one\ndata: two']],
    });
    expect(read('event: message\ndata: {"a":1,"bench":{"seq":12,"sent_ms":5}}\n\n', [20]).messages).toEqual([[12, 5]]);
  });
});
