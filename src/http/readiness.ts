import type { ProblemType } from './problems.ts';

/** Why the service is not ready, as the problem `/_ready` answers; `undefined` from `check()` means ready. */
export type NotReady = Extract<ProblemType, 'kafka_unavailable' | 'shutting_down'>;

/**
 * The readiness probe: ready while Kafka answers and the service is not draining. Concurrent probes
 * share one Kafka round trip, and a probe never waits longer than `timeoutMs`, so a load balancer
 * polling it cannot pile up requests on a cluster that hangs.
 */
export class Readiness {
  readonly #ping: () => Promise<boolean>;
  readonly #timeoutMs: number;
  #inFlight: Promise<boolean> | undefined;
  #draining = false;

  constructor(ping: () => Promise<boolean>, timeoutMs: number) {
    this.#ping = ping;
    this.#timeoutMs = timeoutMs;
  }

  /** From now on the service reports not ready, so load balancers send new clients elsewhere. */
  drain(): void {
    this.#draining = true;
  }

  async check(): Promise<NotReady | undefined> {
    if (this.#draining) return 'shutting_down';
    this.#inFlight ??= this.#probe().finally(() => {
      this.#inFlight = undefined;
    });
    return (await this.#inFlight) ? undefined : 'kafka_unavailable';
  }

  async #probe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#timeoutMs);
    });
    try {
      return await Promise.race([this.#ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
