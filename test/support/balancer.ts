/**
 * A real HAProxy (Debian's, installed by scripts/provision.sh `ensure_haproxy`; HAPROXY_PATH to use
 * another) in front of service instances, set up as the README recommends for several instances:
 * round robin with no stickiness, the client's address in `X-Forwarded-For` (believed by the
 * instances because the balancer is their `trusted_proxies`), unready instances (`/_ready`, e.g.
 * draining) taken out, a refused connection retried on another instance, and idle timeouts the
 * heartbeat keeps a stream within. It runs in the foreground as the test's child and is stopped by
 * its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, freePortPair } from './main-process.ts';

export const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';

/**
 * The address the balancer connects to the instances from (all of 127/8 is loopback on Linux): the
 * instances trust this one only, so a client on 127.0.0.1 talking to an instance directly is not a
 * trusted proxy.
 */
export const BALANCER_SOURCE = '127.0.0.3';

/** What an instance behind the balancer sets, so it believes the balancer's `X-Forwarded-For` and nobody else's. */
export const BEHIND_BALANCER = { client_ip_header: 'x-forwarded-for', trusted_proxies: [BALANCER_SOURCE] } as const;

export interface Balancer {
  url: string;
  /** Everything HAProxy wrote (its warnings and alerts). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The configuration: `backends` are `host:port` of the instances; `backups` (another data centre's)
 * get streams only while none of `backends` is up.
 */
export function haproxyConfig(listenPort: number, backends: readonly string[], backups: readonly string[] = []): string {
  // No global maxconn: HAProxy derives it from the open-files limit, each stream holding two.
  return `defaults
  mode http
  timeout connect 2s
  # Idle limits, in both directions: an open stream sends at least a heartbeat (heartbeat_interval, 15 s) meanwhile.
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  # A refused or reset connect (an instance killed or restarting) is retried, each time on another instance.
  retries 3
  option redispatch 1

frontend eventstreams
  bind 127.0.0.1:${listenPort}
  # Appends the client's address; the instances list this balancer in trusted_proxies.
  option forwardfor
  # No instance ready (e.g. Kafka unreachable from all): answer event-stream clients as an instance
  # would, 200 with retry advice, since EventSource clients give up for good on HAProxy's own 503.
  http-request return status 200 content-type text/event-stream string ":no instance is ready; retry shortly\\n\\nretry: 2000\\n\\n" if { req.hdr(accept) -m sub text/event-stream } !{ nbsrv(eventstreams) gt 0 }
  default_backend eventstreams

backend eventstreams
  # Round robin, no cookie and no stick table: any instance serves any reconnect.
  balance roundrobin
  # Draining (SIGTERM) or Kafka unreachable: /_ready answers 503 and the instance gets no new streams.
  option httpchk GET /_ready
  http-check expect status 200
  default-server check inter 500ms fall 2 rise 2 source ${BALANCER_SOURCE}
${backends.map((b, i) => `  server es${i + 1} ${b}`).join('\n')}
${backups.map((b, i) => `  server backup${i + 1} ${b} backup`).join('\n')}
`;
}

export async function startBalancer(backends: readonly string[], backups: readonly string[] = []): Promise<Balancer> {
  const dir = await mkdtemp(join(tmpdir(), 'eventstreams-haproxy-'));
  const port = await freePortPair();
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, haproxyConfig(port, backends, backups));
  let output = '';
  const check = spawn(HAPROXY, ['-c', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  check.stdout.on('data', (d: Buffer) => (output += d.toString()));
  check.stderr.on('data', (d: Buffer) => (output += d.toString()));
  if ((await exited(check)) !== 0) throw new Error(`haproxy -c refused the configuration:\n${output}`);
  // -db: foreground, no daemon, so the child's pid is HAProxy's.
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitListening(url, child, () => output);
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitListening(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`haproxy exited:\n${output()}`);
    try {
      // Any HTTP answer (a 503 while no instance is up yet) means it listens.
      await fetch(`${url}/_info`, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`haproxy does not answer on ${url}:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
