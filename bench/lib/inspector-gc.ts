/**
 * A full garbage collection in the service child, through the V8 inspector (the service runs
 * with `--inspect=127.0.0.1:0`, INSPECT_ARGS): heap figures taken right after it are the live
 * heap, not whatever garbage the last GC happened to leave, so a baseline and an end state compare.
 */
import { readFile } from 'node:fs/promises';

/** Node flags for the service so that `collectGarbage` can reach it (loopback, random port). */
export const INSPECT_ARGS = ['--inspect=127.0.0.1:0'];

/** The inspector's WebSocket URL, from the `Debugger listening on ws://...` line of the service log. */
async function inspectorUrl(logFile: string): Promise<string | null> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(text)?.[1] ?? null;
}

/** Runs `HeapProfiler.collectGarbage` in the service; false when the inspector is not reachable. */
export async function collectGarbage(logFile: string, timeoutMs = 30_000): Promise<boolean> {
  const url = await inspectorUrl(logFile);
  if (url === null) return false;
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      ws.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    ws.addEventListener('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
    ws.addEventListener('message', (e: MessageEvent) => {
      const reply = JSON.parse(String(e.data)) as { id?: number; error?: unknown };
      if (reply.id === 1) done(reply.error === undefined);
    });
    ws.addEventListener('error', () => done(false));
  });
}
