/** A program run as a user would (a shell pipeline, node, python), its output collected, stopped like Ctrl-C would. */
import { spawn } from 'node:child_process';

export interface Program {
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Waits until `condition` holds over what was written; rejects with the output after `timeoutMs`. */
  until(condition: (p: Program) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal) when the program ends by itself or is stopped. */
  exited: Promise<number | string | null>;
  /** Ends the program and every process it started (a shell pipeline's curl too). */
  stop(): Promise<void>;
}

export function runProgram(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Program {
  // Its own process group, so stop() reaches every process of a pipeline.
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  let running = true;
  void exited.then(() => (running = false));
  const program: Program = {
    stdout: () => out,
    stderr: () => err,
    async until(condition, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition(program)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout: ${out.slice(-3000)}\nstderr: ${err.slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    exited,
    async stop() {
      if (running && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
  return program;
}
