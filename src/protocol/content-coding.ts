import Negotiator from 'negotiator';

/** The content codings a stream can be sent in. */
export type ContentCoding = 'identity' | 'gzip' | 'deflate' | 'zstd';

/**
 * The coding of a stream from `Accept-Encoding` (q-values read, ties broken by `offered`' order):
 * identity when nothing offered is acceptable, including a client that refuses identity too.
 */
export function negotiateCoding(acceptEncoding: string | undefined, offered: readonly ContentCoding[]): ContentCoding {
  if (acceptEncoding === undefined || offered.length === 0) return 'identity';
  const chosen = new Negotiator({ headers: { 'accept-encoding': acceptEncoding } }).encoding([...offered, 'identity']);
  return (offered as readonly string[]).includes(chosen ?? '') ? (chosen as ContentCoding) : 'identity';
}
