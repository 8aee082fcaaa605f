/**
 * Running a benchmark as one command: progress logging, command-line numbers, and a cleanup
 * list that stops everything the benchmark started (load generator, service, Kafka) on success,
 * failure, Ctrl-C/SIGTERM and an overall deadline.
 */
import { parseArgs } from 'node:util';

const t0 = Date.now();

/** Progress on stderr (the result table goes to stdout). */
export function log(message: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${s}s] ${message}\n`);
}

export class Cleanup {
  readonly #tasks: { name: string; fn: () => Promise<void> }[] = [];
  #running: Promise<void> | null = null;

  /** Registers a stop action; returns a function that unregisters it (after a normal stop). */
  add(name: string, fn: () => Promise<void>): () => void {
    const task = { name, fn };
    this.#tasks.push(task);
    return () => {
      const i = this.#tasks.indexOf(task);
      if (i >= 0) this.#tasks.splice(i, 1);
    };
  }

  /** Runs the stop actions, newest first, each bounded to 60 s; safe to call more than once. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#tasks.length > 0) {
        const task = this.#tasks.pop()!;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            log(`cleanup: ${task.name} did not stop within 60 s; going on`);
            resolve();
          }, 60_000);
        });
        await Promise.race([task.fn().catch((err: unknown) => log(`cleanup: ${task.name}: ${String(err)}`)), timeout]);
        clearTimeout(timer);
      }
    })();
    return this.#running;
  }
}

/**
 * Runs `main` with a cleanup list; stops everything and exits non-zero on error, signal or when
 * `deadlineMs` passes.
 */
export function runMain(name: string, deadlineMs: number, main: (cleanup: Cleanup) => Promise<void>): void {
  const cleanup = new Cleanup();
  let exiting = false;
  const bail = (why: string, code: number, signal = false): void => {
    if (exiting) {
      // Errors of things being stopped are expected now; only a second signal forces the exit.
      if (!signal) return;
      log(`${why} again: exiting without waiting for cleanup`);
      process.exit(code);
    }
    exiting = true;
    log(`${name}: ${why}; cleaning up`);
    void cleanup.run().then(() => process.exit(code));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => bail(`got ${sig}`, 130, true));
  process.on('uncaughtException', (err) => {
    log(`uncaught: ${err.stack ?? err.message}`);
    bail('uncaught exception', 1);
  });
  const deadline = setTimeout(() => bail(`overall deadline of ${Math.round(deadlineMs / 1000)} s passed`, 1), deadlineMs);
  deadline.unref();
  main(cleanup).then(
    async () => {
      await cleanup.run();
      clearTimeout(deadline);
      process.exit(0);
    },
    (err: unknown) => {
      log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      bail('error', 1);
    },
  );
}

export type OptionSpec = Record<string, { default: string; help: string }>;

/** Parses `--name value` options (all strings, with defaults); `--help` prints them and exits. */
/** The options every benchmark has: its broker port, the service's log level and node flags, the results name. */
export function serviceOptions(name: string, kafkaPort: number) {
  return {
    'kafka-port': { default: String(kafkaPort), help: 'port of the dedicated bench broker' },
    'log-level': { default: 'info', help: 'service log_level' },
    'service-node-args': { default: '', help: 'comma-separated node flags for the service, e.g. --cpu-prof,--cpu-prof-dir=/tmp/prof' },
    name: { default: name, help: 'results file name under bench/results/' },
  };
}

/** `--service-node-args` as a list of flags. */
export function nodeArgs(value: string): string[] {
  return value.split(',').filter((a) => a !== '');
}

export function options<T extends OptionSpec>(usage: string, spec: T): { [K in keyof T]: string } {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(Object.keys(spec).map((k) => [k, { type: 'string' as const }])),
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n\noptions:\n`);
    for (const [k, v] of Object.entries(spec)) process.stdout.write(`  --${k.padEnd(22)} ${v.help} (default ${v.default})\n`);
    process.exit(0);
  }
  const out: Record<string, string> = {};
  const given_: Record<string, string | boolean | undefined> = values;
  for (const [k, v] of Object.entries(spec)) {
    const given = given_[k];
    out[k] = typeof given === 'string' ? given : v.default;
  }
  return out as { [K in keyof T]: string };
}

export function num(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${what}: not a non-negative number: ${value}`);
  return n;
}

export function numList(value: string, what: string): number[] {
  return value.split(',').filter((s) => s.trim() !== '').map((s) => num(s.trim(), what));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
