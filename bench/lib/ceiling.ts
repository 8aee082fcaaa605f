/**
 * Parent side of the fan-out ceiling (bench/lib/ceiling-server.ts): forks it, waits until it
 * serves, and sets its rate and reads its counters over IPC. Its clients are the ordinary load
 * generator's, so the ceiling and the service are measured the same way.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CeilingEnvelope, CeilingRequest, CeilingStats } from './ceiling-server.ts';
import type { Cleanup } from './run.ts';

const SERVER = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url));

export type { CeilingStats };

export class Ceiling {
  readonly pid: number;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exit: Promise<void>;
  #exited: string | null = null;

  private constructor(child: ChildProcess, pid: number, port: number, exit: Promise<void>) {
    this.#child = child;
    this.pid = pid;
    this.port = port;
    this.#exit = exit;
    child.once('exit', (code, signal) => (this.#exited = `exited (code ${code}, signal ${signal})`));
  }

  /** Forks the ceiling (stopped by `cleanup`) with the service's compression levels. */
  static async start(cleanup: Cleanup, levels: { deflateLevel: number; zstdLevel: number }): Promise<Ceiling> {
    const child = fork(SERVER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (child.pid === undefined) throw new Error('ceiling: no pid');
    const pid = child.pid;
    const exit = new Promise<void>((r) => child.once('exit', () => r()));
    const remove = cleanup.add(`ceiling ${pid}`, async () => {
      child.kill('SIGKILL');
      await exit;
    });
    try {
      const { port } = (await call(child, { type: 'init', ...levels }, 30_000)) as { port: number };
      const ceiling = new Ceiling(child, pid, port, exit);
      void exit.then(remove);
      return ceiling;
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  exited(): string | null {
    return this.#exited;
  }

  /** Events per second in total (0 stops). */
  async setRate(rate: number): Promise<void> {
    await call(this.#child, { type: 'rate', rate }, 10_000);
  }

  stats(): Promise<CeilingStats> {
    return call(this.#child, { type: 'stats' }, 10_000) as Promise<CeilingStats>;
  }

  async stop(): Promise<void> {
    if (this.#exited === null) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#exit;
    clearTimeout(timer);
  }
}

let nextId = 1;

function call(child: ChildProcess, request: CeilingRequest, timeoutMs: number): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (m: { id: number; result: unknown }): void => {
      if (m.id !== id) return;
      done();
      resolve(m.result);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      done();
      reject(new Error(`ceiling exited (code ${code}, signal ${signal}) before answering ${request.type}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`ceiling: no answer to ${request.type} within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ id, request } satisfies CeilingEnvelope);
  });
}
