/**
 * The V8 inspector of the service child (which runs with `--inspect=127.0.0.1:0`, INSPECT_ARGS):
 * a full garbage collection, so heap figures taken right after it are the live heap, not whatever
 * garbage the last GC happened to leave (a baseline and an end state compare); an expression
 * evaluated in the service (`process.memoryUsage()`, V8 heap statistics); a heap snapshot written
 * to a file.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Node flags for the service so that `collectGarbage` can reach it (loopback, random port). */
export const INSPECT_ARGS = ['--inspect=127.0.0.1:0'];

/** The inspector's WebSocket URL, from the `Debugger listening on ws://...` line of the service log. */
async function inspectorUrl(logFile: string): Promise<string | null> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(text)?.[1] ?? null;
}

/** One inspector session: calls answered in order of their ids, snapshot chunks to a sink. */
export class InspectorSession {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #chunk: ((text: string) => void) | null = null;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (e: MessageEvent) => {
      const m = JSON.parse(String(e.data)) as { id?: number; method?: string; params?: { chunk?: string }; result?: unknown; error?: { message?: string } };
      if (m.method === 'HeapProfiler.addHeapSnapshotChunk') {
        this.#chunk?.(m.params?.chunk ?? '');
        return;
      }
      const w = m.id === undefined ? undefined : this.#waiting.get(m.id);
      if (w === undefined) return;
      this.#waiting.delete(m.id!);
      if (m.error !== undefined) w.reject(new Error(`inspector: ${m.error.message ?? JSON.stringify(m.error)}`));
      else w.resolve(m.result);
    });
    const fail = (): void => {
      for (const w of this.#waiting.values()) w.reject(new Error('inspector: connection closed'));
      this.#waiting.clear();
    };
    ws.addEventListener('close', fail);
    ws.addEventListener('error', fail);
  }

  /** Connects to the service whose log is `logFile`; null when its inspector is not reachable. */
  static async open(logFile: string, timeoutMs = 10_000): Promise<InspectorSession | null> {
    const url = await inspectorUrl(logFile);
    if (url === null) return null;
    const ws = new WebSocket(url);
    const opened = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      ws.addEventListener('open', () => {
        clearTimeout(timer);
        resolve(true);
      });
      ws.addEventListener('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!opened) {
      ws.close();
      return null;
    }
    return new InspectorSession(ws);
  }

  call<T = unknown>(method: string, params: object = {}, timeoutMs = 120_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`inspector: no answer to ${method} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  collectGarbage(): Promise<unknown> {
    return this.call('HeapProfiler.collectGarbage');
  }

  /** The JSON value of `expression` evaluated in the service's main context. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.call<{ result: { value?: T }; exceptionDetails?: { text?: string } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails !== undefined) throw new Error(`inspector: ${expression}: ${r.exceptionDetails.text ?? 'threw'}`);
    return r.result.value as T;
  }

  /** Writes a heap snapshot (after a full GC, as V8 always does first) to `file`. */
  async heapSnapshot(file: string, captureNumericValue = false): Promise<void> {
    const out = createWriteStream(file);
    this.#chunk = (text) => out.write(text);
    try {
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue }, 600_000);
    } finally {
      this.#chunk = null;
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
  }

  /** Closes the session; resolves once its socket is closed, so fd counts taken after it do not see it. */
  close(timeoutMs = 5_000): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#ws.addEventListener('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#ws.close();
    });
  }
}

/** Runs `HeapProfiler.collectGarbage` in the service; false when the inspector is not reachable. */
export async function collectGarbage(logFile: string, timeoutMs = 30_000): Promise<boolean> {
  const session = await InspectorSession.open(logFile, timeoutMs);
  if (session === null) return false;
  try {
    await session.call('HeapProfiler.collectGarbage', {}, timeoutMs);
    return true;
  } catch {
    return false;
  } finally {
    await session.close();
  }
}
