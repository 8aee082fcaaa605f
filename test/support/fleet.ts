/**
 * Several instances of the real service (`node src/main.ts`, each a process of its own on a fixed
 * port, as behind a load balancer), that a test may SIGKILL, SIGTERM (drain) and start again on
 * the same port.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { exited, freePortPair, startMain, type MainProcess } from './main-process.ts';

export interface Fleet {
  /** `127.0.0.1:port` of each instance, for the balancer. */
  readonly addresses: readonly string[];
  readonly urls: readonly string[];
  /** Whether instance `i` runs. */
  running(i: number): boolean;
  /** Signals instance `i` and waits until it exited (SIGTERM: after draining its streams). */
  signal(i: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts instance `i` again on its port; resolves once it serves. */
  start(i: number): Promise<void>;
  /** What instance `i` logged, over all its runs. */
  output(i: number): string;
  stop(): Promise<void>;
}

/** Starts `count` instances with the same config (`port` set per instance). */
export async function startFleet(count: number, config: Record<string, unknown>): Promise<Fleet> {
  const dir = await mkdtemp(join(tmpdir(), 'eventstreams-fleet-'));
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    let port = await freePortPair();
    while (ports.includes(port)) port = await freePortPair();
    ports.push(port);
  }
  const files = await Promise.all(
    ports.map(async (port, i) => {
      const file = join(dir, `instance-${i + 1}.yaml`);
      await writeFile(file, stringify({ listen_address: '127.0.0.1', ...config, port }));
      return file;
    }),
  );
  const processes: (MainProcess | undefined)[] = await Promise.all(files.map((file) => startMain({}, ['--config', file])));
  const earlier = ports.map(() => '');
  return {
    addresses: ports.map((port) => `127.0.0.1:${port}`),
    urls: ports.map((port) => `http://127.0.0.1:${port}`),
    running: (i) => processes[i] !== undefined,
    async signal(i, signal) {
      const main = processes[i];
      if (main === undefined) return;
      main.child.kill(signal);
      await exited(main.child);
      earlier[i] += main.output();
      processes[i] = undefined;
    },
    async start(i) {
      processes[i] ??= await startMain({}, ['--config', files[i]!]);
    },
    output: (i) => earlier[i]! + (processes[i]?.output() ?? ''),
    async stop() {
      await Promise.all(
        processes.map(async (main) => {
          if (main === undefined) return;
          main.child.kill('SIGKILL');
          await exited(main.child);
        }),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
