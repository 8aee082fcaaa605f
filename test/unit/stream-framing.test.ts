import { describe, expect, it } from 'vitest';
import { dataLineBuffer } from '../../src/event/frame.ts';
import { framingFor } from '../../src/stream/framing.ts';

const ID = '[{"topic":"t","partition":0,"offset":7}]';
const frame = dataLineBuffer('{"title":"É"}');

describe('SSE framing', () => {
  const sse = framingFor('sse');
  it('opens with a comment and keeps the connection alive with empty comments', () => {
    expect([sse.opening, sse.heartbeat]).toEqual([':ok\n\n', ':\n\n']);
  });
  it('writes an event as its per-client head followed by the shared frame itself', () => {
    expect(sse.messageHead?.(ID)).toBe(`event: message\nid: ${ID}\n`);
    expect(sse.messageBody(frame)).toBe(frame);
    expect(sse.messageHead?.(ID) + sse.messageBody(frame).toString()).toBe(`event: message\nid: ${ID}\ndata: {"title":"É"}\n\n`);
  });
  it('writes notices, errors, reconnection advice and id-only blocks', () => {
    expect(sse.notice(ID, '{"type":"position"}')).toBe(`event: notice\nid: ${ID}\ndata: {"type":"position"}\n\n`);
    expect(sse.error(ID, 'SlowClient', 'too "slow"')).toBe(`event: error\nid: ${ID}\ndata: {"name":"SlowClient","message":"too \\"slow\\""}\n\n`);
    expect(sse.retry(1500.6)).toBe('retry: 1501\n\n');
    expect(sse.position(ID)).toBe(`id: ${ID}\n\n`);
  });
});

describe('NDJSON framing', () => {
  const ndjson = framingFor('ndjson');
  it('opens with a newline and keeps the connection alive with blank lines', () => {
    expect([ndjson.opening, ndjson.heartbeat]).toEqual(['\n', '\n']);
  });
  it('writes an event as one line, a view of the shared frame, with no head', () => {
    const line = ndjson.messageBody(frame);
    expect(ndjson.messageHead).toBeUndefined();
    expect(line.toString()).toBe('{"title":"É"}\n');
    expect(line.buffer).toBe(frame.buffer);
  });
  it('has room for events only', () => {
    expect([ndjson.notice(ID, '{}'), ndjson.error(ID, 'SlowClient', 'x'), ndjson.retry(1000), ndjson.position(ID)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});
