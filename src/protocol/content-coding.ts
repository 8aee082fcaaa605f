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

/** Which codings a service offers, and to whom never. */
export interface CodingPolicy {
  readonly codings: readonly ContentCoding[];
  /** `User-Agent` prefixes that always get identity (clients that read the body raw). */
  readonly identityUserAgents: readonly string[];
}

/** The coding of a stream for a request's `Accept-Encoding` and `User-Agent`. */
export function streamCoding(acceptEncoding: string | undefined, userAgent: string | undefined, policy: CodingPolicy): ContentCoding {
  if (userAgent !== undefined && policy.identityUserAgents.some((prefix) => userAgent.startsWith(prefix))) return 'identity';
  return negotiateCoding(acceptEncoding, policy.codings);
}

/** The request headers a stream's body depends on, for `Vary`. */
export function streamVary(policy: CodingPolicy): string {
  return policy.identityUserAgents.length > 0 ? 'accept, accept-encoding, user-agent' : 'accept, accept-encoding';
}
