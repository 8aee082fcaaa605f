/** Results: machine info, markdown tables, and bench/results/<name>.json + .md. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/lib/repo-root.ts';

export interface MachineInfo {
  date: string;
  node: string;
  cores: number;
  cpuModel: string;
  memGiB: number;
  kernel: string;
  loadavgAtStart: number[];
  ulimitNofile: string | null;
  gitCommit: string | null;
  gitDirty: boolean | null;
  /** The host's `net.ipv4.tcp_wmem` (min, default, max send buffer): how much a socket's kernel buffer takes before a writer sees it full. */
  tcpWmem: string | null;
  /** The host's `net.ipv4.tcp_mem` (low, pressure, high) in pages: all TCP sockets' buffers together; past "pressure" the kernel shrinks every socket's buffers, at "high" it refuses writes. */
  tcpMem: string | null;
}

function readSysctl(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim().split(/\s+/).join(' ');
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const sh = (cmd: string, args: string[]): string | null => {
    try {
      return execFileSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  // Read-only git queries: which code was measured.
  const status = sh('git', ['status', '--porcelain', '--', 'src']);
  return {
    date: new Date().toISOString(),
    node: process.version,
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    ulimitNofile: sh('sh', ['-c', 'ulimit -n']),
    gitCommit: sh('git', ['rev-parse', '--short', 'HEAD']),
    gitDirty: status === null ? null : status !== '',
    tcpWmem: readSysctl('/proc/sys/net/ipv4/tcp_wmem'),
    tcpMem: readSysctl('/proc/sys/net/ipv4/tcp_mem'),
  };
}

export type Cell = string | number | boolean | null | undefined;

export function fmt(v: Cell): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '–';
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 100) / 100);
  }
  return v;
}

export function table(headers: string[], rows: Cell[][]): string {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map((c) => fmt(c).replace(/\|/g, '\\|')).join(' | ')} |`);
  return lines.join('\n');
}

/** Writes bench/results/<name>.json and .md and prints the markdown. */
export function writeResults(name: string, json: unknown, markdown: string): void {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(dir, `${name}.md`), `${markdown.trimEnd()}\n`);
  process.stdout.write(`\n${markdown.trimEnd()}\n\nwritten: bench/results/${name}.json, bench/results/${name}.md\n`);
}
