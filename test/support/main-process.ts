/** The real entry point as a child process (`node src/main.ts`), and free ports for it and its brokers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose successor is free too (the local Kafka's controller uses port + 1). */
export function freePortPair(): Promise<number> {
  return freePorts(2);
}

/**
 * The first of `count` consecutive free ports (a local Kafka cluster's nodes use two each), at
 * random in 20000-49999, or in TEST_PORT_RANGE (`first-last`) when set, so test runs sharing a
 * machine can keep apart.
 */
export async function freePorts(count: number): Promise<number> {
  const [low, high] = (process.env.TEST_PORT_RANGE ?? '20000-49999').split('-').map(Number) as [number, number];
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 2 - count));
    let free = true;
    for (let i = 0; i < count && free; i++) free = await canListen(port + i);
    if (free) return port;
  }
  throw new Error(`no ${count} consecutive free ports`);
}

export interface MainProcess {
  child: ChildProcess;
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
}

/** Starts main.ts and resolves with the URL it logs once it serves (no per-IP limit unless `env` sets one: tests connect from one address). */
export function startMain(env: Record<string, string>, args: string[] = []): Promise<MainProcess> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, LOG_LEVEL: 'info', CLIENT_IP_CONNECTION_LIMIT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`main did not start:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /serving on (http:\/\/[0-9.:]+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => output });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`main exited with ${code}:\n${output}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}
