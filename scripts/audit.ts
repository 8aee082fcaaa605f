/**
 * `node scripts/audit.ts`: fails when a production dependency has a high or critical advisory
 * (`npm audit --omit=dev`). When the advisory database cannot be asked (offline, a mirror without
 * the audit endpoint), it warns and passes: an unreachable registry says nothing about the code.
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export type AuditVerdict = { status: 'clean' | 'vulnerable'; counts: Record<string, number>; names: string[] } | { status: 'unavailable'; reason: string };

const BLOCKING = ['high', 'critical'];

/** Reads the output of `npm audit --json`. */
export function auditVerdict(output: string): AuditVerdict {
  let report: unknown;
  try {
    report = JSON.parse(output);
  } catch {
    return { status: 'unavailable', reason: `npm audit printed no JSON: ${output.trim().slice(0, 200)}` };
  }
  const { metadata, vulnerabilities, message, error } = (report ?? {}) as {
    metadata?: { vulnerabilities?: Record<string, number> };
    vulnerabilities?: Record<string, { severity?: string }>;
    message?: string;
    error?: { summary?: string; code?: string };
  };
  const counts = metadata?.vulnerabilities;
  if (counts === undefined) return { status: 'unavailable', reason: message ?? error?.summary ?? error?.code ?? 'no audit report' };
  const names = Object.entries(vulnerabilities ?? {})
    .filter(([, v]) => BLOCKING.includes(v.severity ?? ''))
    .map(([name]) => name);
  return { status: BLOCKING.some((level) => (counts[level] ?? 0) > 0) ? 'vulnerable' : 'clean', counts, names };
}

function main(): void {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
  const verdict = auditVerdict(run.stdout);
  if (verdict.status === 'unavailable') {
    process.stdout.write(`WARNING: npm audit could not check the production dependencies (${verdict.reason}); not checked this time\n`);
    return;
  }
  process.stdout.write(`npm audit (production dependencies): ${JSON.stringify(verdict.counts)}\n`);
  if (verdict.status === 'vulnerable') {
    process.stderr.write(`high or critical advisories in: ${verdict.names.join(', ')}\n`);
    spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high'], { stdio: 'inherit' });
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
