/**
 * What a V8 heap snapshot (`.heapsnapshot`, from the inspector's `HeapProfiler.takeHeapSnapshot`
 * or `node --heapsnapshot-signal`) holds: per class (constructor name, or `(string)`, `(code)`...)
 * the instances, their own bytes and what they retain (dominator tree, weak edges ignored, as
 * DevTools does), the largest retainers with a shortest path from the roots, and the difference
 * between two snapshots per class (what N clients added, per client).
 *
 *   node bench/lib/heap-snapshot.ts <file> [--top 30]
 *   node bench/lib/heap-snapshot.ts <file> --base <file> [--per 1000] [--top 30]
 *   node bench/lib/heap-snapshot.ts <file> --owner StreamSession [--owner ServerResponse ...]
 *
 * `summarizeHeap` and `diffHeaps` are used by bench/memory.ts.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface RawSnapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] };
    node_count: number;
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface ClassRow {
  name: string;
  count: number;
  selfBytes: number;
  /** Bytes freed if every instance went (instances retained by another instance of the class counted once). */
  retainedBytes: number;
}

export interface Retainer {
  name: string;
  type: string;
  selfBytes: number;
  retainedBytes: number;
  /** A shortest path of edge names from the GC roots. */
  path: string;
}

export interface HeapSummary {
  nodes: number;
  totalBytes: number;
  /** Self bytes per node type (object, string, code, closure, array, hidden, native...). */
  byType: Record<string, number>;
  classes: ClassRow[];
  retainers: Retainer[];
}

/** The parsed snapshot as flat arrays. */
class Graph {
  readonly n: number;
  readonly type: Uint8Array;
  readonly name: Uint32Array;
  readonly self: Float64Array;
  readonly firstEdge: Uint32Array;
  readonly edgeType: Uint8Array;
  readonly edgeName: Uint32Array;
  readonly edgeTo: Uint32Array;
  readonly nodeTypes: string[];
  readonly edgeTypes: string[];
  readonly strings: string[];
  readonly weak: number;

  constructor(raw: RawSnapshot) {
    const meta = raw.snapshot.meta;
    const nf = meta.node_fields.length;
    const ef = meta.edge_fields.length;
    const [fType, fName, fSelf, fEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number];
    const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number, number];
    this.nodeTypes = meta.node_types[0];
    this.edgeTypes = meta.edge_types[0];
    this.strings = raw.strings;
    this.weak = this.edgeTypes.indexOf('weak');
    const n = raw.nodes.length / nf;
    this.n = n;
    this.type = new Uint8Array(n);
    this.name = new Uint32Array(n);
    this.self = new Float64Array(n);
    this.firstEdge = new Uint32Array(n + 1);
    let e = 0;
    for (let i = 0; i < n; i++) {
      const o = i * nf;
      this.type[i] = raw.nodes[o + fType]!;
      this.name[i] = raw.nodes[o + fName]!;
      this.self[i] = raw.nodes[o + fSelf]!;
      this.firstEdge[i] = e;
      e += raw.nodes[o + fEdges]!;
    }
    this.firstEdge[n] = e;
    this.edgeType = new Uint8Array(e);
    this.edgeName = new Uint32Array(e);
    this.edgeTo = new Uint32Array(e);
    for (let k = 0; k < e; k++) {
      const o = k * ef;
      this.edgeType[k] = raw.edges[o + eType]!;
      this.edgeName[k] = raw.edges[o + eName]!;
      this.edgeTo[k] = raw.edges[o + eTo]! / nf;
    }
  }

  /** DevTools' class name: the constructor for objects and natives, `(type)` otherwise. */
  className(i: number): string {
    const t = this.nodeTypes[this.type[i]!]!;
    const name = this.strings[this.name[i]!] ?? '';
    if (t === 'object' || t === 'native') return name;
    if (t === 'closure') return `${name || '(anonymous)'}()`;
    if (t === 'hidden' && name.startsWith('system / ')) return `(${name.slice(9)})`;
    if (t === 'concatenated string' || t === 'sliced string') return '(string)';
    return `(${t})`;
  }

  edgeLabel(k: number): string {
    const t = this.edgeTypes[this.edgeType[k]!]!;
    const v = this.edgeName[k]!;
    if (t === 'element' || t === 'hidden') return `[${v}]`;
    return t === 'property' ? `.${this.strings[v] ?? '?'}` : `<${t}:${this.strings[v] ?? v}>`;
  }
}

/** Immediate dominators (Cooper, Harvey, Kennedy) and retained sizes; node 0 is the root. */
function dominators(g: Graph): { idom: Int32Array; retained: Float64Array; order: Uint32Array } {
  const n = g.n;
  // Post-order of the nodes reachable from the root over non-weak edges.
  const po = new Int32Array(n).fill(-1);
  const order = new Uint32Array(n);
  let count = 0;
  const stack = new Uint32Array(n);
  const cursor = new Uint32Array(n);
  const seen = new Uint8Array(n);
  let sp = 0;
  stack[sp++] = 0;
  seen[0] = 1;
  cursor[0] = g.firstEdge[0]!;
  while (sp > 0) {
    const v = stack[sp - 1]!;
    const end = g.firstEdge[v + 1]!;
    let pushed = false;
    while (cursor[v]! < end) {
      const k = cursor[v]!++;
      if (g.edgeType[k] === g.weak) continue;
      const w = g.edgeTo[k]!;
      if (seen[w] === 1) continue;
      seen[w] = 1;
      cursor[w] = g.firstEdge[w]!;
      stack[sp++] = w;
      pushed = true;
      break;
    }
    if (!pushed) {
      sp--;
      po[v] = count;
      order[count++] = v;
    }
  }
  // Predecessors (reachable ones only), as CSR.
  const predCount = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) {
    if (po[v]! < 0) continue;
    for (let k = g.firstEdge[v]!; k < g.firstEdge[v + 1]!; k++) if (g.edgeType[k] !== g.weak) predCount[g.edgeTo[k]! + 1]!++;
  }
  for (let i = 0; i < n; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Uint32Array(predCount[n]!);
  const fill = predCount.slice(0, n);
  for (let v = 0; v < n; v++) {
    if (po[v]! < 0) continue;
    for (let k = g.firstEdge[v]!; k < g.firstEdge[v + 1]!; k++) if (g.edgeType[k] !== g.weak) preds[fill[g.edgeTo[k]!]!++] = v;
  }
  // idom by post-order number.
  const doms = new Int32Array(count).fill(-1);
  const root = count - 1;
  doms[root] = root;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (a < b) a = doms[a]!;
      while (b < a) b = doms[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let b = root - 1; b >= 0; b--) {
      const v = order[b]!;
      let d = -1;
      for (let p = predCount[v]!; p < predCount[v + 1]!; p++) {
        const q = po[preds[p]!]!;
        if (doms[q] === -1) continue;
        d = d === -1 ? q : intersect(q, d);
      }
      if (d !== -1 && doms[b] !== d) {
        doms[b] = d;
        changed = true;
      }
    }
  }
  const idom = new Int32Array(n).fill(-1);
  const retained = new Float64Array(n);
  for (let b = 0; b < count; b++) {
    const v = order[b]!;
    retained[v]! += g.self[v]!;
    if (b === root) continue;
    const d = order[doms[b]!]!;
    idom[v] = d;
    retained[d]! += retained[v]!;
  }
  return { idom, retained, order: order.subarray(0, count) };
}

/** Shortest path of edge labels from the root to every node (BFS parents). */
function shortestPaths(g: Graph): (i: number) => string {
  const parentEdge = new Int32Array(g.n).fill(-1);
  const parent = new Int32Array(g.n).fill(-1);
  const queue = new Uint32Array(g.n);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  parent[0] = 0;
  while (head < tail) {
    const v = queue[head++]!;
    for (let k = g.firstEdge[v]!; k < g.firstEdge[v + 1]!; k++) {
      if (g.edgeType[k] === g.weak) continue;
      const w = g.edgeTo[k]!;
      if (parent[w] !== -1) continue;
      parent[w] = v;
      parentEdge[w] = k;
      queue[tail++] = w;
    }
  }
  return (i: number): string => {
    const parts: string[] = [];
    for (let v = i; v !== 0 && parent[v]! >= 0 && parts.length < 14; v = parent[v]!) {
      const p = parent[v]!;
      parts.push(`${p === 0 ? '' : g.className(p)}${g.edgeLabel(parentEdge[v]!)}`);
    }
    return parts.reverse().join(' → ');
  };
}

export function readSnapshot(file: string): Graph {
  return new Graph(JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot);
}

/**
 * What each instance of `owner` holds: per outgoing edge, the bytes it retains when the instance
 * dominates the target (shared targets count 0), averaged over the instances. `owner` is a class
 * name, optionally followed by edge names: `ServerResponse._events` looks at what each response's
 * `_events` object holds.
 */
export function ownership(file: string, owner: string): { instances: number; retainedBytes: number; edges: { edge: string; target: string; bytes: number }[] } {
  const g = readSnapshot(file);
  const { idom, retained } = dominators(g);
  const [className, ...path] = owner.split('.');
  const follow = (v: number): number | undefined => {
    let at = v;
    for (const name of path) {
      let next: number | undefined;
      for (let k = g.firstEdge[at]!; k < g.firstEdge[at + 1]! && next === undefined; k++) {
        const label = g.edgeLabel(k);
        if (label === `.${name}` || label === `[${name}]`) next = g.edgeTo[k]!;
      }
      if (next === undefined) return undefined;
      at = next;
    }
    return at;
  };
  const totals = new Map<string, { target: string; bytes: number }>();
  let instances = 0;
  let retainedBytes = 0;
  for (let u = 0; u < g.n; u++) {
    if (g.className(u) !== className || idom[u]! < 0) continue;
    const v = follow(u);
    if (v === undefined) continue;
    instances++;
    retainedBytes += retained[v]!;
    for (let k = g.firstEdge[v]!; k < g.firstEdge[v + 1]!; k++) {
      const w = g.edgeTo[k]!;
      const label = g.edgeLabel(k);
      const row = totals.get(label) ?? { target: g.className(w), bytes: 0 };
      if (idom[w] === v) row.bytes += retained[w]!;
      totals.set(label, row);
    }
  }
  const edges = [...totals].map(([edge, r]) => ({ edge, target: r.target, bytes: instances === 0 ? 0 : Math.round(r.bytes / instances) })).sort((a, b) => b.bytes - a.bytes);
  return { instances, retainedBytes: instances === 0 ? 0 : Math.round(retainedBytes / instances), edges };
}

export function summarizeHeap(file: string, top = 30): HeapSummary {
  const g = readSnapshot(file);
  const { idom, retained, order } = dominators(g);
  const ids = new Map<string, number>();
  const cls = new Int32Array(g.n);
  const rows: ClassRow[] = [];
  const byType: Record<string, number> = {};
  let totalBytes = 0;
  for (const v of order) {
    const name = g.className(v);
    let id = ids.get(name);
    if (id === undefined) {
      id = rows.length;
      ids.set(name, id);
      rows.push({ name, count: 0, selfBytes: 0, retainedBytes: 0 });
    }
    cls[v] = id;
    const row = rows[id]!;
    row.count++;
    row.selfBytes += g.self[v]!;
    totalBytes += g.self[v]!;
    const t = g.nodeTypes[g.type[v]!]!;
    byType[t] = (byType[t] ?? 0) + g.self[v]!;
  }
  // A class's retained size: its instances with no instance of the same class among their dominators.
  // `order` is a post-order, so reversed every dominator comes before what it dominates.
  const depth = new Int32Array(rows.length);
  const children = new Map<number, number[]>();
  for (const v of order) {
    const d = idom[v]!;
    if (d < 0) continue;
    let list = children.get(d);
    if (list === undefined) children.set(d, (list = []));
    list.push(v);
  }
  const stack: number[] = [0];
  const leaving: boolean[] = [false];
  while (stack.length > 0) {
    const v = stack.pop()!;
    const leave = leaving.pop()!;
    const c = cls[v]!;
    if (leave) {
      depth[c]!--;
      continue;
    }
    if (depth[c] === 0) rows[c]!.retainedBytes += retained[v]!;
    depth[c]!++;
    stack.push(v);
    leaving.push(true);
    for (const w of children.get(v) ?? []) {
      stack.push(w);
      leaving.push(false);
    }
  }
  const pathOf = shortestPaths(g);
  const candidates = Array.from(order).filter((v) => v !== 0 && g.nodeTypes[g.type[v]!] !== 'synthetic');
  candidates.sort((a, b) => retained[b]! - retained[a]!);
  const retainers: Retainer[] = [];
  const covered = new Set<number>();
  for (const v of candidates) {
    if (retainers.length >= top) break;
    // Skip a node whose dominator is already listed with nearly the same size (the chain to it).
    const d = idom[v]!;
    if (covered.has(d) && retained[d]! - retained[v]! < 0.1 * retained[d]!) {
      covered.add(v);
      continue;
    }
    covered.add(v);
    retainers.push({ name: g.className(v), type: g.nodeTypes[g.type[v]!]!, selfBytes: g.self[v]!, retainedBytes: retained[v]!, path: pathOf(v) });
  }
  rows.sort((a, b) => b.retainedBytes - a.retainedBytes);
  return { nodes: order.length, totalBytes, byType, classes: rows, retainers };
}

export interface ClassDiff {
  name: string;
  count: number;
  selfBytes: number;
}

/** Per class, what `after` has more than `base` (count and self bytes), largest first. */
export function diffHeaps(base: HeapSummary, after: HeapSummary): ClassDiff[] {
  const b = new Map(base.classes.map((r) => [r.name, r]));
  const out: ClassDiff[] = [];
  const names = new Set([...b.keys(), ...after.classes.map((r) => r.name)]);
  const a = new Map(after.classes.map((r) => [r.name, r]));
  for (const name of names) {
    const x = b.get(name);
    const y = a.get(name);
    out.push({ name, count: (y?.count ?? 0) - (x?.count ?? 0), selfBytes: (y?.selfBytes ?? 0) - (x?.selfBytes ?? 0) });
  }
  return out.filter((d) => d.count !== 0 || d.selfBytes !== 0).sort((p, q) => q.selfBytes - p.selfBytes);
}

const kib = (b: number): string => (b / 1024).toFixed(1);

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { base: { type: 'string' }, per: { type: 'string' }, top: { type: 'string' }, owner: { type: 'string', multiple: true } } });
  const file = positionals[0];
  if (file === undefined) {
    process.stdout.write('usage: node bench/lib/heap-snapshot.ts <file> [--base <file> --per N] [--top 30]\n');
    process.exit(2);
  }
  const top = Number(values.top ?? 30);
  if (values.owner !== undefined) {
    for (const name of values.owner) {
      const o = ownership(file, name);
      process.stdout.write(`${name}: ${o.instances} instances, ${o.retainedBytes} bytes retained each; by edge (bytes it alone retains, per instance):\n`);
      for (const e of o.edges.slice(0, top)) process.stdout.write(`  ${e.edge.padEnd(40)} ${e.target.slice(0, 40).padEnd(40)} ${String(e.bytes).padStart(8)}\n`);
    }
    process.exit(0);
  }
  const s = summarizeHeap(file, top);
  process.stdout.write(`${file}: ${s.nodes} nodes, ${kib(s.totalBytes)} KiB\n\nself KiB by node type:\n`);
  for (const [t, bytes] of Object.entries(s.byType).sort((p, q) => q[1] - p[1])) process.stdout.write(`  ${t.padEnd(22)} ${kib(bytes).padStart(10)}\n`);
  process.stdout.write('\nclasses by retained KiB (count, self KiB, retained KiB):\n');
  for (const r of s.classes.slice(0, top)) process.stdout.write(`  ${r.name.slice(0, 60).padEnd(60)} ${String(r.count).padStart(8)} ${kib(r.selfBytes).padStart(10)} ${kib(r.retainedBytes).padStart(10)}\n`);
  process.stdout.write('\nlargest retainers (retained KiB, class, path):\n');
  for (const r of s.retainers) process.stdout.write(`  ${kib(r.retainedBytes).padStart(9)}  ${r.name.slice(0, 40).padEnd(40)} ${r.path.slice(0, 400)}\n`);
  if (values.base !== undefined) {
    const per = Number(values.per ?? 1);
    const base = summarizeHeap(values.base, top);
    process.stdout.write(`\nagainst ${values.base}: +${kib(s.totalBytes - base.totalBytes)} KiB; per ${per === 1 ? 'snapshot' : `1/${per}`} (count, self bytes):\n`);
    for (const d of diffHeaps(base, s).slice(0, top)) process.stdout.write(`  ${d.name.slice(0, 60).padEnd(60)} ${(d.count / per).toFixed(2).padStart(10)} ${(d.selfBytes / per).toFixed(0).padStart(10)}\n`);
  }
}
