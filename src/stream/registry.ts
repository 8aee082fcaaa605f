import type { StreamSession } from './session.ts';

/** What the registry does with a stream. */
type RegisteredStream = Pick<StreamSession, 'tick' | 'close'>;

const DRAIN_STEP_MS = 100;

/**
 * The open streams of this process: one ticker drives every stream's heartbeat and deadline, and
 * shutdown ends them gradually so their clients do not all reconnect at once.
 */
export class SessionRegistry {
  readonly #sessions = new Set<RegisteredStream>();
  readonly #ticker: NodeJS.Timeout;

  constructor(tickMs: number) {
    this.#ticker = setInterval(() => {
      const now = Date.now();
      for (const session of this.#sessions) session.tick(now);
    }, tickMs).unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  add(session: RegisteredStream): void {
    this.#sessions.add(session);
  }

  delete(session: RegisteredStream): void {
    this.#sessions.delete(session);
  }

  /** Ends every stream with reconnection advice, spread evenly over `windowMs`. */
  async drain(windowMs: number, retryMs: number): Promise<void> {
    const sessions = [...this.#sessions];
    // Session i closes in step floor(i * steps / n): evenly over the whole window.
    const steps = Math.max(1, Math.min(sessions.length, Math.floor(windowMs / DRAIN_STEP_MS)));
    const interval = windowMs / steps;
    let next = 0;
    for (let step = 0; step < steps; step++) {
      if (step > 0) await new Promise((resolve) => setTimeout(resolve, interval));
      const until = Math.floor(((step + 1) * sessions.length) / steps);
      for (; next < until; next++) sessions[next]?.close(retryMs, 'shutdown');
    }
    // Streams opened meanwhile (a balancer sends some until its health check sees the instance
    // unready) end too, or they would hold the shutdown open with no heartbeat.
    const drained = new Set(sessions);
    for (const session of this.#sessions) if (!drained.has(session)) session.close(retryMs, 'shutdown');
    this.#sessions.clear();
  }

  stop(): void {
    clearInterval(this.#ticker);
  }
}
