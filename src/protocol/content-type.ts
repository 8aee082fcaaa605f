import Negotiator from 'negotiator';

/** The two body formats of the streaming endpoint. */
export type StreamFormat = 'sse' | 'ndjson';

export interface Negotiated {
  format: StreamFormat;
  contentType: string;
}

/**
 * EventStreams' content negotiation, with q-values read: no Accept -> plain `text/event-stream`;
 * `application/json` as the client's first choice -> newline-delimited JSON; anything else
 * (including `application/json;q=0`, "not acceptable") -> SSE with a charset.
 */
export function negotiateFormat(accept: string | undefined): Negotiated {
  if (accept === undefined || accept.trim() === '') return { format: 'sse', contentType: 'text/event-stream' };
  // The first range of the client's own order of preference, as EventStreams looks only at it.
  const [preferred] = new Negotiator({ headers: { accept } }).mediaTypes();
  if (preferred?.toLowerCase() === 'application/json') return { format: 'ndjson', contentType: 'application/json; charset=utf-8' };
  return { format: 'sse', contentType: 'text/event-stream; charset=utf-8' };
}
