/** Parent side of the load generator: forks bench/lib/loadgen.ts and talks to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Envelope, InitRequest, Reply, Request, ResponseMap } from './loadgen-protocol.ts';
import type { Cleanup } from './run.ts';

const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url));

export class LoadGen {
  readonly child: ChildProcess;
  readonly pid: number;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #exited: string | null = null;
  readonly #exit: Promise<void>;

  private constructor(child: ChildProcess) {
    this.child = child;
    if (child.pid === undefined) throw new Error('load generator: no pid');
    this.pid = child.pid;
    child.on('message', (m: Reply) => {
      const w = this.#waiting.get(m.id);
      if (w === undefined) return;
      this.#waiting.delete(m.id);
      clearTimeout(w.timer);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`load generator: ${m.error ?? 'failed'}`));
    });
    this.#exit = new Promise<void>((r) => child.once('exit', () => r()));
    child.on('exit', (code, signal) => {
      this.#exited = `exited (code ${code}, signal ${signal})`;
      for (const [, w] of this.#waiting) {
        clearTimeout(w.timer);
        w.reject(new Error(`load generator ${this.#exited}`));
      }
      this.#waiting.clear();
    });
  }

  /** Forks the generator (registered with `cleanup`) and initialises it. */
  static async start(cleanup: Cleanup, init: Omit<InitRequest, 'type'>): Promise<LoadGen> {
    // A larger young generation keeps the GC cheap with many short-lived read slices.
    const child = fork(LOADGEN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-semi-space-size=64'] });
    const gen = new LoadGen(child);
    cleanup.add(`load generator ${gen.pid}`, () => gen.stop());
    await gen.request({ type: 'init', ...init }, 10_000);
    return gen;
  }

  request<T extends Request>(req: T, timeoutMs: number): Promise<ResponseMap[T['type']]> {
    if (this.#exited !== null) return Promise.reject(new Error(`load generator ${this.#exited}`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`load generator: no answer to ${req.type} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, request: req } satisfies Envelope);
    });
  }

  /** Closes all connections and ends the child (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.#exited !== null) return;
    await this.request({ type: 'disconnect' }, 5_000).catch(() => undefined);
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.#exit;
    clearTimeout(timer);
  }
}
