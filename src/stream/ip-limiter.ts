/** Counts open streams per client IP so one client cannot hold every connection slot. */
export class IpLimiter {
  readonly #limit: number;
  readonly #open = new Map<string, number>();

  /** `limit` 0 means unlimited (EventStreams' `client_ip_connection_limit`). */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes a slot for `ip`; false when it already holds `limit` streams. */
  acquire(ip: string): boolean {
    const open = this.#open.get(ip) ?? 0;
    if (this.#limit > 0 && open >= this.#limit) return false;
    this.#open.set(ip, open + 1);
    return true;
  }

  release(ip: string): void {
    const open = (this.#open.get(ip) ?? 0) - 1;
    if (open > 0) this.#open.set(ip, open);
    else this.#open.delete(ip);
  }

  /** Streams open for `ip` (for tests and metrics). */
  count(ip: string): number {
    return this.#open.get(ip) ?? 0;
  }
}
