/** Why a stream was refused a slot: its client holds its share, or the process holds its maximum. */
export type SlotRefusal = 'client' | 'total';

/**
 * Counts open streams, per client and in all, so one client cannot hold every slot and no number of
 * clients can make the process hold more streams (and what each keeps) than it was sized for.
 */
export class StreamSlots {
  readonly #perClient: number;
  readonly #total: number;
  readonly #open = new Map<string, number>();
  #all = 0;

  /** `perClient` 0 means unlimited (EventStreams' `client_ip_connection_limit`); `total` 0 likewise. */
  constructor(perClient: number, total: number) {
    this.#perClient = perClient;
    this.#total = total;
  }

  /** Takes a slot for `client` (its address or network), or says why not. */
  acquire(client: string): SlotRefusal | undefined {
    if (this.#total > 0 && this.#all >= this.#total) return 'total';
    const open = this.#open.get(client) ?? 0;
    if (this.#perClient > 0 && open >= this.#perClient) return 'client';
    this.#open.set(client, open + 1);
    this.#all++;
    return undefined;
  }

  release(client: string): void {
    const open = this.#open.get(client);
    if (open === undefined) return;
    this.#all--;
    if (open > 1) this.#open.set(client, open - 1);
    else this.#open.delete(client);
  }

  /** Streams open for `client`. */
  count(client: string): number {
    return this.#open.get(client) ?? 0;
  }

  /** Streams open in all. */
  get open(): number {
    return this.#all;
  }
}
