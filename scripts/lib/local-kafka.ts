/**
 * Starts and stops a real Apache Kafka (KRaft, 127.0.0.1) for tests and the demo: one node, or a
 * cluster of several on consecutive ports. Every node is a combined broker+controller, so N nodes
 * are N JVMs and a controller quorum of N (separate controllers would double the JVMs on a small
 * machine for nothing a local cluster needs). The broker jars come from Maven Central through
 * scripts/kafka/pom.xml and are cached in .kafka/lib; each node has its own data directory
 * (default .kafka/<port>, a cluster's nodes in its node-<id>/ subdirectories) holding
 * server.properties, kafka.pid, logs/ and data/.
 *
 * The JVM runs detached (its own process group), so a Ctrl-C in the terminal does not kill it
 * behind the parent's back: the parent stops it deliberately with stop()/stopLocalKafka().
 * Brokers are only ever stopped through the pid file of their data directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '@platformatic/kafka';
import { repoRoot } from './repo-root.ts';

export interface LocalKafkaOptions {
  /** Client (PLAINTEXT) port (of the first node). Default: KAFKA_PORT env, else 9092. */
  port?: number;
  /** Controller port of a single node. Default: port + 1. */
  controllerPort?: number;
  /**
   * Nodes (default 1). Node i (1-based) listens on port + 2(i-1) and its controller on the next
   * port; topics get replication factor N and `min.insync.replicas` a majority of N.
   */
  nodes?: number;
  /** Data directory. Default: <repo>/.kafka/<port>. */
  dataDir?: string;
  /** Stop any broker of dataDir and wipe dataDir before starting. */
  fresh?: boolean;
  /** Progress messages (download, format, start). Default: silent. */
  log?: (msg: string) => void;
  /** How long to wait for the broker to serve requests. Default 90 s. */
  startTimeoutMs?: number;
  /** Extra broker settings, written last into server.properties. */
  overrides?: Record<string, string | number | boolean>;
}

export interface LocalKafkaNode {
  /** KRaft node id, 1-based. */
  id: number;
  port: number;
  pid: number;
  dataDir: string;
}

export interface LocalKafka {
  brokers: string[];
  /** The first node's pid. */
  pid: number;
  dataDir: string;
  nodes: LocalKafkaNode[];
  /** Stops every node (together, so each broker's controlled shutdown still finds a quorum). */
  stop(): Promise<void>;
}

export interface LocalKafkaStatus {
  running: boolean;
  /** Process alive but the port does not answer (starting, or hung). */
  starting: boolean;
  pid: number | null;
  port: number | null;
  brokers: string[];
  dataDir: string;
}

export type LocalKafkaErrorCode =
  | 'NO_JAVA'
  | 'NO_MVN'
  | 'DOWNLOAD_FAILED'
  | 'PORT_IN_USE'
  | 'FORMAT_FAILED'
  | 'EXITED_EARLY'
  | 'START_TIMEOUT'
  | 'OTHER';

/** Errors of the launcher; `code` tells the cases apart (e.g. PORT_IN_USE to try another port). */
export class LocalKafkaError extends Error {
  readonly code: LocalKafkaErrorCode;
  constructor(code: LocalKafkaErrorCode, message: string) {
    super(message);
    this.name = 'LocalKafkaError';
    this.code = code;
  }
}

const HOST = '127.0.0.1';
const NODE_ID = 1;
const STOP_GRACE_MS = 30_000;
const LOG_TAIL_LINES = 30;

const kafkaHome = join(repoRoot, '.kafka');
const libDir = join(kafkaHome, 'lib');
const pomFile = join(repoRoot, 'scripts', 'kafka', 'pom.xml');
const log4jConfig = join(repoRoot, 'scripts', 'kafka', 'log4j2.xml');
const libMarker = join(libDir, '.pom.sha256');

export function defaultKafkaPort(): number {
  const env = process.env['KAFKA_PORT'];
  if (env === undefined || env === '') return 9092;
  return parsePort(env, 'KAFKA_PORT');
}

export function defaultDataDir(port: number): string {
  return join(kafkaHome, String(port));
}

function parsePort(value: string | number, what: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`${what}: invalid port ${JSON.stringify(value)}`);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Paths inside a data directory

function paths(dataDir: string) {
  return {
    pidFile: join(dataDir, 'kafka.pid'),
    props: join(dataDir, 'server.properties'),
    logsDir: join(dataDir, 'logs'),
    serverLog: join(dataDir, 'logs', 'server.log'),
    jvmOut: join(dataDir, 'logs', 'jvm.out'),
    logDirs: join(dataDir, 'data'),
    metaProps: join(dataDir, 'data', 'meta.properties'),
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

function readProcStat(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
}

/** True when the process exists and is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readProcStat(pid);
  if (stat === null) return existsSync('/proc') ? false : true;
  // "<pid> (<comm>) <state> ..."; comm may contain spaces and parentheses.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** True when pid is a live JVM running kafka.Kafka with this data directory's config. */
function isOurBroker(pid: number, dataDir: string): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // No /proc (not Linux): trust the pid file.
    return !existsSync('/proc');
  }
  const args = cmdline.split('\0');
  return args.includes('kafka.Kafka') && args.includes(paths(dataDir).props);
}

async function readPid(dataDir: string): Promise<number | null> {
  try {
    const text = (await readFile(paths(dataDir).pidFile, 'utf8')).trim();
    const pid = Number(text);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function terminate(pid: number, log: (msg: string) => void): Promise<void> {
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, STOP_GRACE_MS)) return;
  log(`kafka pid ${pid} still running ${STOP_GRACE_MS / 1000} s after SIGTERM: sending SIGKILL`);
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, 10_000))) {
    throw new Error(`kafka pid ${pid} did not exit after SIGKILL`);
  }
}

/**
 * Stops the broker recorded in dataDir's pid file, and those of its cluster nodes' directories
 * (SIGTERM, SIGKILL after 30 s), and removes the pid files. Returns true when a running broker
 * was stopped, false when none was running.
 */
export async function stopLocalKafka(dataDir: string, log: (msg: string) => void = () => {}): Promise<boolean> {
  const dirs = [resolve(dataDir), ...(await nodeDirs(dataDir))];
  const stopped = await Promise.all(dirs.map((dir) => stopNode(dir, log)));
  return stopped.some(Boolean);
}

/** The node-<id>/ directories of a cluster's data directory, by id. */
async function nodeDirs(dataDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^node-\d+$/.test(n))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .map((n) => join(resolve(dataDir), n));
}

async function stopNode(dir: string, log: (msg: string) => void): Promise<boolean> {
  const { pidFile } = paths(dir);
  const pid = await readPid(dir);
  if (pid === null) {
    await rm(pidFile, { force: true });
    return false;
  }
  if (!isOurBroker(pid, dir)) {
    // Stale pid file (broker died, or the pid now belongs to another process): never signal it.
    await rm(pidFile, { force: true });
    return false;
  }
  await terminate(pid, log);
  await rm(pidFile, { force: true });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Tools: java and mvn

function javaCommand(): string {
  const home = process.env['JAVA_HOME'];
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}

function checkJava(): string {
  const java = javaCommand();
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (res.error) {
    const code = (res.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new LocalKafkaError(
        'NO_JAVA',
        'local kafka: `java` not found on PATH (or JAVA_HOME). Install Java 17+, e.g. ' +
          '`apt-get install -y openjdk-17-jre-headless`.',
      );
    }
    throw new LocalKafkaError('NO_JAVA', `local kafka: cannot run \`${java} -version\`: ${res.error.message}`);
  }
  const text = `${res.stderr}${res.stdout}`;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!m || m[1] === undefined) {
    throw new LocalKafkaError('NO_JAVA', `local kafka: cannot read the Java version from \`${java} -version\`:\n${text}`);
  }
  let major = Number(m[1]);
  if (major === 1 && m[2] !== undefined) major = Number(m[2]); // "1.8.0_..."
  if (major < 17) {
    throw new LocalKafkaError('NO_JAVA', `local kafka: Kafka 4.x needs Java 17+, but \`${java}\` is Java ${major}.`);
  }
  return java;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function formatSecs(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Makes sure .kafka/lib holds the jars of scripts/kafka/pom.xml, running mvn only when the
 * marker shows that this pom was not copied yet. Returns true when it downloaded/copied.
 */
export async function ensureKafkaJars(log: (msg: string) => void = () => {}): Promise<boolean> {
  return ensureJars(log);
}

async function ensureJars(log: (msg: string) => void): Promise<boolean> {
  const pom = await readFile(pomFile, 'utf8');
  const want = sha256(pom);
  if (existsSync(libMarker) && (await readFile(libMarker, 'utf8')).trim() === want) return false;

  const probe = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (probe.error) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    throw new LocalKafkaError(
      'NO_MVN',
      code === 'ENOENT'
        ? 'local kafka: the broker jars are not in .kafka/lib yet and `mvn` is not on PATH to fetch them. ' +
            'Install Maven 3.8+, e.g. `apt-get install -y maven`.'
        : `local kafka: cannot run \`mvn -v\`: ${probe.error.message}`,
    );
  }

  log('local kafka: fetching broker jars from Maven Central (first run only)...');
  await mkdir(kafkaHome, { recursive: true });
  const tmp = join(kafkaHome, `lib.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await rm(tmp, { recursive: true, force: true });
  const started = Date.now();
  const result = await run(
    'mvn',
    ['-q', '-B', '-f', pomFile, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`],
    repoRoot,
  );
  if (result.code !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new LocalKafkaError(
      'DOWNLOAD_FAILED',
      `local kafka: \`mvn dependency:copy-dependencies\` failed (exit ${result.code}):\n${tail(result.output, LOG_TAIL_LINES)}`,
    );
  }
  const jars = (await readdir(tmp)).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => f.startsWith('kafka_2.13-'))) {
    await rm(tmp, { recursive: true, force: true });
    throw new LocalKafkaError('DOWNLOAD_FAILED', `local kafka: mvn finished but ${tmp} holds no kafka_2.13 jar`);
  }
  await writeFile(join(tmp, '.pom.sha256'), `${want}\n`);
  // Swap in atomically enough for a dev tool; if another process won the race, keep its copy.
  if (existsSync(libMarker) && (await readFile(libMarker, 'utf8')).trim() === want) {
    await rm(tmp, { recursive: true, force: true });
    return true;
  }
  await rm(libDir, { recursive: true, force: true });
  await rename(tmp, libDir);
  log(`local kafka: ${jars.length} jars in .kafka/lib (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return true;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, output }));
  });
}

// ---------------------------------------------------------------------------------------------
// Ports and readiness

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ port, host: HOST, exclusive: true }, () => {
      server.close(() => resolvePromise(true));
    });
  });
}

/** One metadata request; resolves the broker count, or null when nothing Kafka answers. */
async function probe(port: number, timeoutMs: number): Promise<number | null> {
  const admin = new Admin({
    clientId: 'eventstreams-local-kafka-probe',
    bootstrapBrokers: [`${HOST}:${port}`],
    connectTimeout: timeoutMs,
    timeout: timeoutMs,
    retries: 0,
  });
  try {
    const md = await admin.metadata({ topics: [], forceUpdate: true });
    return md.brokers.size;
  } catch {
    return null;
  } finally {
    await admin.close().catch(() => {});
  }
}

/** Sizes of the broker's log files, to show only what one start attempt wrote. */
type LogMarks = { serverLog: number; jvmOut: number };

function logMarks(dataDir: string): LogMarks {
  const size = (file: string): number => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  const p = paths(dataDir);
  return { serverLog: size(p.serverLog), jvmOut: size(p.jvmOut) };
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const buf = await readFile(file);
    // A rotated (smaller) file is shown whole.
    return buf.subarray(buf.length >= offset ? offset : 0).toString('utf8');
  } catch {
    return '';
  }
}

/** The first error lines and the last lines the broker logged since `marks`. */
async function logTail(dataDir: string, marks: LogMarks = { serverLog: 0, jvmOut: 0 }): Promise<string> {
  const p = paths(dataDir);
  const server = await readFrom(p.serverLog, marks.serverLog);
  const jvm = await readFrom(p.jvmOut, marks.jvmOut);
  const parts: string[] = [];
  const errors = [...new Set(`${server}\n${jvm}`.split('\n').filter((l) => /\b(ERROR|FATAL)\b|^\S*(Exception|Error)\b|^Caused by:/.test(l)))];
  if (errors.length > 0) parts.push(`--- first errors ---\n${errors.slice(0, 8).join('\n')}`);
  if (server.trim() !== '') parts.push(`--- last lines of ${p.serverLog} ---\n${tail(server, LOG_TAIL_LINES)}`);
  if (jvm.trim() !== '') parts.push(`--- last lines of ${p.jvmOut} ---\n${tail(jvm, 15)}`);
  return parts.length > 0 ? parts.join('\n') : `(the broker logged nothing; see ${p.logsDir})`;
}

async function waitUntilServing(
  port: number,
  pid: number,
  dataDir: string,
  timeoutMs: number,
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | null,
  marks?: LogMarks,
  minBrokers = 1,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gone = exited();
    if (gone !== null || !isAlive(pid)) {
      const how = gone === null ? '' : gone.signal ? ` (signal ${gone.signal})` : ` (exit code ${gone.code})`;
      const tail = await logTail(dataDir, marks);
      // The port was free when checked, but another process took it before the JVM bound it: callers retry on another port.
      const code = /BindException|Address already in use/.test(tail) ? 'PORT_IN_USE' : 'EXITED_EARLY';
      throw new LocalKafkaError(code, `local kafka: the broker JVM (pid ${pid}) exited during startup${how}.\n${tail}`);
    }
    // A cluster node answers metadata once it has joined; serving means every node registered.
    if (((await probe(port, 2_000)) ?? 0) >= minBrokers) return;
    if (Date.now() >= deadline) {
      throw new LocalKafkaError(
        'START_TIMEOUT',
        `local kafka: the broker (pid ${pid}) did not answer a metadata request on ${HOST}:${port} ` +
          `within ${formatSecs(timeoutMs)}.\n${await logTail(dataDir, marks)}`,
      );
    }
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration

/** One node of a local cluster (a single broker is a cluster of one, in dataDir itself). */
interface NodeSpec {
  id: number;
  port: number;
  controllerPort: number;
  dataDir: string;
}

function nodeSpecs(port: number, controllerPort: number, dataDir: string, count: number): NodeSpec[] {
  if (count === 1) return [{ id: NODE_ID, port, controllerPort, dataDir }];
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    port: port + 2 * i,
    controllerPort: port + 2 * i + 1,
    dataDir: join(dataDir, `node-${i + 1}`),
  }));
}

function serverProperties(node: NodeSpec, nodes: readonly NodeSpec[], overrides: Record<string, string | number | boolean>): string {
  const { logDirs } = paths(node.dataDir);
  const replicas = nodes.length;
  // A majority of the replicas must have a write: one node may be down without refusing producers.
  const minIsr = Math.floor(replicas / 2) + 1;
  const settings: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    'controller.quorum.voters': nodes.map((n) => `${n.id}@${HOST}:${n.controllerPort}`).join(','),
    listeners: `PLAINTEXT://${HOST}:${node.port},CONTROLLER://${HOST}:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${node.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDirs,
    // Topics are created explicitly (ensureTopics); a typo must not create a topic.
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    'default.replication.factor': replicas,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': replicas,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minIsr,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': replicas,
    'share.coordinator.state.topic.min.isr': minIsr,
    'share.coordinator.state.topic.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'log.retention.hours': 168,
    'log.segment.bytes': 16 * 1024 * 1024,
    'delete.topic.enable': true,
    ...overrides,
  };
  const lines = ['# Written by scripts/lib/local-kafka.ts on every start; edits are overwritten.'];
  for (const [key, value] of Object.entries(settings)) lines.push(`${key}=${String(value)}`);
  return `${lines.join('\n')}\n`;
}

/** Port recorded in an existing server.properties (to detect a running broker on another port). */
async function recordedPort(dataDir: string): Promise<number | null> {
  try {
    const text = await readFile(paths(dataDir).props, 'utf8');
    const m = /^listeners=.*PLAINTEXT:\/\/[^:,]+:(\d+)/m.exec(text);
    return m && m[1] !== undefined ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The cluster id some node was formatted with (a wiped node must rejoin the same cluster). */
async function formattedClusterId(nodes: readonly NodeSpec[]): Promise<string | undefined> {
  for (const node of nodes) {
    try {
      const m = /^cluster\.id=(.+)$/m.exec(await readFile(paths(node.dataDir).metaProps, 'utf8'));
      if (m?.[1] !== undefined) return m[1].trim();
    } catch {
      // not formatted
    }
  }
  return undefined;
}

function jvmArgs(java: string, dataDir: string, mainArgs: string[], heap: string[]): { cmd: string; args: string[] } {
  return {
    cmd: java,
    args: [
      ...heap,
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4jConfig}`,
      `-Dkafka.logs.dir=${paths(dataDir).logsDir}`,
      '-cp',
      `${libDir}/*`,
      ...mainArgs,
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Status / start

export async function getLocalKafkaStatus(opts: { port?: number; dataDir?: string } = {}): Promise<LocalKafkaStatus> {
  const wantedPort = opts.port ?? defaultKafkaPort();
  const dataDir = resolve(opts.dataDir ?? defaultDataDir(wantedPort));
  const clusterDirs = await nodeDirs(dataDir);
  const dirs = clusterDirs.length > 0 ? clusterDirs : [dataDir];
  const nodes = await Promise.all(
    dirs.map(async (dir) => {
      const pid = await readPid(dir);
      const port = (await recordedPort(dir)) ?? wantedPort;
      const alive = pid !== null && isOurBroker(pid, dir);
      return { pid: alive ? pid : null, port, serving: alive && (await probe(port, 2_000)) !== null };
    }),
  );
  const first = nodes[0]!;
  if (nodes.some((n) => n.pid === null)) {
    return { running: false, starting: false, pid: null, port: first.port, brokers: [], dataDir };
  }
  const serving = nodes.every((n) => n.serving);
  return { running: serving, starting: !serving, pid: first.pid, port: first.port, brokers: nodes.map((n) => `${HOST}:${n.port}`), dataDir };
}

function handle(nodes: readonly NodeSpec[], pids: readonly number[], dataDir: string, log: (msg: string) => void): LocalKafka {
  return {
    brokers: nodes.map((n) => `${HOST}:${n.port}`),
    pid: pids[0]!,
    dataDir,
    nodes: nodes.map((n, i) => ({ id: n.id, port: n.port, pid: pids[i]!, dataDir: n.dataDir })),
    stop: async () => {
      await stopLocalKafka(dataDir, log);
    },
  };
}

/**
 * Starts the broker, or every node of the cluster, of dataDir and waits until all serve. Nodes
 * already running from their data directory are kept, so calling it again after a node was
 * stopped or killed starts just that node again.
 */
export async function startLocalKafka(opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const log = opts.log ?? (() => {});
  const port = opts.port !== undefined ? parsePort(opts.port, 'port') : defaultKafkaPort();
  const controllerPort = opts.controllerPort !== undefined ? parsePort(opts.controllerPort, 'controllerPort') : port + 1;
  if (controllerPort === port) throw new Error('local kafka: controllerPort must differ from port');
  const count = opts.nodes ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error('local kafka: nodes must be an integer from 1 to 9');
  if (count > 1) parsePort(port + 2 * count - 1, 'the last node\'s controller port');
  const dataDir = resolve(opts.dataDir ?? defaultDataDir(port));
  const timeoutMs = opts.startTimeoutMs ?? 90_000;
  const nodes = nodeSpecs(port, controllerPort, dataDir, count);

  if (opts.fresh) {
    if (await stopLocalKafka(dataDir, log)) log(`local kafka: stopped the previous brokers of ${dataDir}`);
    await rm(dataDir, { recursive: true, force: true });
  }

  // Reuse the nodes already running from their data directories.
  const pids: (number | undefined)[] = [];
  for (const node of nodes) {
    const pid = await readPid(node.dataDir);
    if (pid !== null && isOurBroker(pid, node.dataDir)) {
      const runningPort = await recordedPort(node.dataDir);
      if (runningPort !== null && runningPort !== node.port) {
        throw new LocalKafkaError(
          'PORT_IN_USE',
          `local kafka: a broker from ${node.dataDir} is already running on port ${runningPort} (pid ${pid}), ` +
            `not ${node.port}; stop it first.`,
        );
      }
      pids.push(pid);
    } else {
      await rm(paths(node.dataDir).pidFile, { force: true });
      pids.push(undefined);
    }
  }
  const missing = nodes.filter((_, i) => pids[i] === undefined);
  if (missing.length === 0) {
    await Promise.all(nodes.map((n, i) => waitUntilServing(n.port, pids[i]!, n.dataDir, timeoutMs, () => null, logMarks(n.dataDir), count)));
    log(`local kafka: reusing the broker${count > 1 ? 's' : ''} at ${nodes.map((n) => `${HOST}:${n.port}`).join(',')}`);
    return handle(nodes, pids as number[], dataDir, log);
  }

  for (const node of missing) {
    for (const [what, n] of [
      ['port', node.port],
      ['controller port', node.controllerPort],
    ] as const) {
      if (!(await portIsFree(n))) {
        const kafka = what === 'port' && (await probe(n, 1_500)) !== null;
        throw new LocalKafkaError(
          'PORT_IN_USE',
          `local kafka: ${what} ${n} on ${HOST} is already in use by ${
            kafka ? 'another Kafka broker' : 'another process'
          } that was not started from ${node.dataDir}. Stop it, or choose another port (KAFKA_PORT / --port).`,
        );
      }
    }
  }

  const java = checkJava();
  await ensureJars(log);
  // Every node of a cluster is formatted with the same id, before any starts.
  const clusterId = (await formattedClusterId(nodes)) ?? newClusterId();
  await Promise.all(missing.map((node) => prepareNode(java, node, nodes, clusterId, opts.overrides ?? {}, log)));

  // A cluster node serves only once a quorum is up, so all are started before waiting for any.
  const started = await Promise.all(missing.map((node) => spawnNode(java, node, count > 1, log)));
  try {
    await Promise.all(started.map((s) => waitUntilServing(s.node.port, s.pid, s.node.dataDir, timeoutMs, s.exited, s.marks, count)));
  } catch (err) {
    await Promise.all(started.map(async (s) => (isAlive(s.pid) ? terminate(s.pid, log).catch(() => {}) : undefined)));
    await Promise.all(started.map((s) => rm(paths(s.node.dataDir).pidFile, { force: true })));
    throw err;
  }
  for (const s of started) pids[nodes.indexOf(s.node)] = s.pid;
  log(`local kafka: ready at ${nodes.map((n) => `${HOST}:${n.port}`).join(',')} (pid ${pids.join(', ')})`);
  return handle(nodes, pids as number[], dataDir, log);
}

/** Writes a node's server.properties and formats its storage the first time. */
async function prepareNode(java: string, node: NodeSpec, nodes: readonly NodeSpec[], clusterId: string, overrides: Record<string, string | number | boolean>, log: (msg: string) => void): Promise<void> {
  const p = paths(node.dataDir);
  await mkdir(p.logsDir, { recursive: true });
  await mkdir(p.logDirs, { recursive: true });
  await writeFile(p.props, serverProperties(node, nodes, overrides));
  if (existsSync(p.metaProps)) return;
  log(`local kafka: formatting KRaft storage in ${p.logDirs}`);
  const fmt = jvmArgs(
    java,
    node.dataDir,
    ['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', p.props, '--ignore-formatted'],
    ['-Xmx256m', '-XX:TieredStopAtLevel=1'],
  );
  const fmtMarks = logMarks(node.dataDir);
  const res = await run(fmt.cmd, fmt.args, node.dataDir);
  if (res.code !== 0 || !existsSync(p.metaProps)) {
    throw new LocalKafkaError(
      'FORMAT_FAILED',
      `local kafka: formatting the storage failed (exit ${res.code}):\n${tail(res.output, LOG_TAIL_LINES)}\n${await logTail(node.dataDir, fmtMarks)}`,
    );
  }
}

interface SpawnedNode {
  node: NodeSpec;
  pid: number;
  marks: LogMarks;
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | null;
}

async function spawnNode(java: string, node: NodeSpec, clustered: boolean, log: (msg: string) => void): Promise<SpawnedNode> {
  const p = paths(node.dataDir);
  log(`local kafka: starting the broker on ${HOST}:${node.port}`);
  // Several JVMs share the machine: a cluster's nodes get a smaller heap.
  const start = jvmArgs(java, node.dataDir, ['kafka.Kafka', p.props], clustered ? ['-Xms128m', '-Xmx384m'] : ['-Xms256m', '-Xmx512m']);
  const marks = logMarks(node.dataDir);
  const out = openSync(p.jvmOut, 'a');
  let child: ChildProcess;
  try {
    child = spawn(start.cmd, start.args, { cwd: node.dataDir, detached: true, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const spawnError = await new Promise<Error | null>((resolvePromise) => {
    child.once('error', (err) => resolvePromise(err));
    child.once('spawn', () => resolvePromise(null));
  });
  if (spawnError !== null || child.pid === undefined) {
    throw new LocalKafkaError('NO_JAVA', `local kafka: cannot start ${start.cmd}: ${spawnError?.message ?? 'no pid'}`);
  }
  child.on('exit', (code, sig) => {
    exitInfo = { code, signal: sig };
  });
  child.unref();
  await writeFile(p.pidFile, `${child.pid}\n`);
  return { node, pid: child.pid, marks, exited: () => exitInfo };
}
