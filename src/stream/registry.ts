import type { StreamSession } from './session.ts';

/** The open streams of this process, so shutdown can end each one properly. */
export class SessionRegistry {
  readonly #sessions = new Set<StreamSession>();

  get size(): number {
    return this.#sessions.size;
  }

  add(session: StreamSession): void {
    this.#sessions.add(session);
  }

  delete(session: StreamSession): void {
    this.#sessions.delete(session);
  }

  /** Ends every stream with reconnection advice; clients resume elsewhere with their ids. */
  closeAll(retryMs: number): void {
    for (const session of this.#sessions) session.close(retryMs);
    this.#sessions.clear();
  }
}
