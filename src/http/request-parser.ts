import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';

/**
 * What this module uses of Node's HTTP parser (`node:_http_common`'s HTTPParser), which Node's
 * server keeps at `socket.parser` for as long as the connection is open.
 */
interface NodeHttpParser {
  _consumed?: boolean;
  unconsume?: () => void;
  remove?: () => void;
  close?: () => void;
  /** Callbacks Node's server binds to this connection (request, socket, server), by name and by index. */
  [callback: string | number]: unknown;
}

/** The indexed callbacks of a parser (`HTTPParser.kOnExecute`...), as Node's `cleanParser` clears them. */
const CALLBACK_SLOTS = ['kOnMessageBegin', 'kOnExecute', 'kOnTimeout'];
/** Node's server wraps these socket methods to take the socket back from the parser (`socketListenerWrap`). */
const WRAPPED_SOCKET_METHODS = ['on', 'addListener', 'prependListener'] as const;

type ParsedSocket = IncomingMessage['socket'] & { parser?: NodeHttpParser | null };

/**
 * Frees the native HTTP parser of a connection whose request has been read and whose response is
 * a stream that ends with the connection (sent with `Connection: close`).
 *
 * Node's server keeps one parser per open connection, ready for the next request of a keep-alive
 * connection; it is a 10 KB C++ object (`node::http_parser::Parser`, in the malloc heap), more than
 * everything else an idle stream holds (bench/results/memory.md). A stream connection never carries
 * another request, so the parser is closed as Node closes the parsers it does not pool: off the
 * socket (it reads no more bytes: anything the client still sends is read and dropped), off the
 * server's connection list (request timeouts: the request is complete), then deleted, one turn of
 * the event loop later so that no parser call is on the stack. What Node's listeners still hold is
 * the closed parser's empty JS object; every call on it is a no-op.
 *
 * Relies on Node internals (`socket.parser` and its `unconsume`, `remove`, `close`, as Node's own
 * `freeParser` uses them); when they are not there it does nothing, and the connection keeps its
 * parser as before. Returns whether it will free one.
 */
export function releaseRequestParser(request: IncomingMessage): boolean {
  const socket = request.socket as ParsedSocket | null;
  const parser = socket?.parser;
  if (socket === null || parser === null || parser === undefined) return false;
  if (typeof parser.remove !== 'function' || typeof parser.close !== 'function') return false;
  if (parser._consumed === true && typeof parser.unconsume !== 'function') return false;
  setImmediate(() => {
    // Closed meanwhile: Node's own close handler freed (or pooled) it already.
    if (socket.parser !== parser || socket.destroyed) return;
    if (parser._consumed === true) {
      parser.unconsume!();
      parser._consumed = false;
    }
    parser.remove!();
    socket.parser = null;
    parser.close!();
    clean(parser, socket);
  });
  return true;
}

/**
 * What Node's `freeParser` and `socketListenerWrap` would drop next: the closed parser's callbacks
 * bound to this connection (~260 bytes), and the socket's three wrapped listener methods, which
 * Node puts back to `net.Socket`'s own once the socket has no parser (~300 bytes).
 */
function clean(parser: NodeHttpParser, socket: ParsedSocket): void {
  const slots = (parser.constructor ?? {}) as unknown as Record<string, unknown>;
  for (const name of CALLBACK_SLOTS) {
    const slot = slots[name];
    if (typeof slot === 'number') parser[slot] = null;
  }
  parser.onIncoming = null;
  parser.incoming = null;
  parser.socket = null;
  const own = socket as unknown as Record<string, unknown>;
  for (const method of WRAPPED_SOCKET_METHODS) {
    if (Object.hasOwn(own, method)) own[method] = Socket.prototype[method];
  }
}
