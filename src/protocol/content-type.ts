/** The two body formats of the streaming endpoint. */
export type StreamFormat = 'sse' | 'ndjson';

export interface Negotiated {
  format: StreamFormat;
  contentType: string;
}

/**
 * EventStreams' content negotiation: no Accept -> plain `text/event-stream`; an Accept starting with
 * `application/json` -> newline-delimited JSON; anything else -> SSE with a charset.
 */
export function negotiateFormat(accept: string | undefined): Negotiated {
  if (accept === undefined || accept.trim() === '') return { format: 'sse', contentType: 'text/event-stream' };
  if (accept.trim().toLowerCase().startsWith('application/json')) {
    return { format: 'ndjson', contentType: 'application/json; charset=utf-8' };
  }
  return { format: 'sse', contentType: 'text/event-stream; charset=utf-8' };
}
