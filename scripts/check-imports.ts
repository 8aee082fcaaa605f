/**
 * `node scripts/check-imports.ts` (part of `npm test`): reads the import statements of src/ (static
 * ones, `export ... from` and dynamic `import('...')`) and fails, naming the files, when
 *   - the folders of src/ import each other in a cycle (a top-level file such as service.ts counts
 *     as a folder of its own), or
 *   - a module of src/ imports something outside src/ other than a package (test/, bench/ and
 *     scripts/ are not in the production image), except the ALLOWED_OUTSIDE ones below.
 * Prints the folder graph it found.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './lib/repo-root.ts';

export interface Import {
  specifier: string;
  dynamic: boolean;
}

/** Imports from src/ to outside it that are allowed (paths relative to the repository), and why. */
const ALLOWED_OUTSIDE: { from: string; to: string; dynamic: boolean; why: string }[] = [
  {
    from: 'src/demo/backend.ts',
    to: 'scripts/lib/local-kafka.ts',
    dynamic: true,
    why: 'the local Kafka launcher is a development tool, loaded only in demo mode; the production image has neither',
  },
  {
    from: 'src/config/convert.ts',
    to: 'package.json',
    dynamic: false,
    why: "the service's version and description; the production image ships package.json",
  },
];

// Static imports are statements, so they start a line; a specifier is a plain string literal.
const STATIC = /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/gm;
const SIDE_EFFECT = /^[ \t]*import\s*(['"])([^'"\n]+)\1/gm;
const DYNAMIC = /\bimport\s*\(\s*(?:(['"])([^'"\n]+)\1\s*\))?/g;
/** Lines of comments, where `import(` is prose. */
const COMMENT_LINE = /^\s*(?:\/\/|\/\*|\*)/;

/** The import statements of a module's text; a dynamic import of anything but a literal has specifier ''. */
export function importsOf(text: string): Import[] {
  const found: Import[] = [];
  for (const m of text.matchAll(STATIC)) found.push({ specifier: m[2]!, dynamic: false });
  for (const m of text.matchAll(SIDE_EFFECT)) found.push({ specifier: m[2]!, dynamic: false });
  for (const line of text.split('\n')) {
    if (COMMENT_LINE.test(line)) continue;
    for (const m of line.matchAll(DYNAMIC)) found.push({ specifier: m[2] ?? '', dynamic: true });
  }
  return found;
}

/** A directed graph of folders; every edge keeps the imports (`from -> to` files) that make it. */
export type FolderGraph = Map<string, Map<string, string[]>>;

/**
 * The cycles of a folder graph: one per strongly connected component of more than one folder
 * (Tarjan), as the path around it (first folder repeated at the end), sorted.
 */
export function findCycles(graph: FolderGraph): string[][] {
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((to) => [...to.keys()])])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const next = (n: string) => [...(graph.get(n)?.keys() ?? [])].sort();
  const visit = (n: string): void => {
    index.set(n, index.size);
    low.set(n, index.get(n)!);
    stack.push(n);
    onStack.add(n);
    for (const m of next(n)) {
      if (!index.has(m)) {
        visit(m);
        low.set(n, Math.min(low.get(n)!, low.get(m)!));
      } else if (onStack.has(m)) low.set(n, Math.min(low.get(n)!, index.get(m)!));
    }
    if (low.get(n) !== index.get(n)) return;
    const component: string[] = [];
    let m: string;
    do {
      m = stack.pop()!;
      onStack.delete(m);
      component.push(m);
    } while (m !== n);
    if (component.length > 1) components.push(component);
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return components.map((c) => cycleWithin(graph, new Set(c))).sort((a, b) => a.join().localeCompare(b.join()));
}

/** A path around a strongly connected set: from its first folder (by name) back to it, shortest first. */
function cycleWithin(graph: FolderGraph, members: Set<string>): string[] {
  const start = [...members].sort()[0]!;
  // Breadth-first from start's successors back to start: every member is reachable inside the set.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const n = queue.shift()!;
    for (const m of [...(graph.get(n)?.keys() ?? [])].sort()) {
      if (!members.has(m) || previous.has(m)) continue;
      previous.set(m, n);
      if (m === start) queue.length = 0;
      else queue.push(m);
    }
  }
  const cycle = [start];
  for (let n = previous.get(start)!; n !== start; n = previous.get(n)!) cycle.unshift(n);
  cycle.unshift(start);
  return cycle;
}

/**
 * The folders of src/ in data-path order (the layout table of docs/development.md): each may import only folders
 * before it. Top-level files (`main.ts`, `service.ts`, `log.ts`) wire the rest and are not layered.
 */
export const LAYERS: readonly string[] = ['config', 'protocol', 'kafka', 'metrics', 'catalogue', 'event', 'filter', 'sanitize', 'selection', 'fanout', 'admission', 'compress', 'stream', 'http', 'demo'];

/** Imports against `layers`: a folder importing one at or after it, or a folder missing from the list. */
export function layerProblems(graph: FolderGraph, layers: readonly string[]): string[] {
  const problems: string[] = [];
  const rank = (folder: string) => layers.indexOf(folder);
  for (const [from, edges] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    if (from.endsWith('.ts')) continue;
    if (rank(from) < 0) {
      problems.push(`src/${from}/ is not in LAYERS (scripts/check-imports.ts): place it in the data path`);
      continue;
    }
    for (const [to, evidence] of edges) {
      if (to.endsWith('.ts') || rank(to) < 0 || rank(to) < rank(from)) continue;
      problems.push(`${from} imports ${to}, which comes after it in the data path: ${evidence.join(', ')}`);
    }
  }
  return problems;
}

/** The folder of a path relative to src/: its first segment (a top-level file is a folder of its own). */
function folderOf(relative: string): string {
  return relative.split(path.sep)[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [full] : [];
  });
}

function main(): void {
  const src = path.join(repoRoot, 'src');
  const graph: FolderGraph = new Map();
  const problems: string[] = [];
  const rel = (p: string) => path.relative(repoRoot, p);
  for (const file of sourceFiles(src).sort()) {
    const from = folderOf(path.relative(src, file));
    for (const { specifier, dynamic } of importsOf(readFileSync(file, 'utf8'))) {
      if (specifier === '') {
        problems.push(`${rel(file)}: a dynamic import() of a computed specifier cannot be checked`);
        continue;
      }
      if (!specifier.startsWith('.')) continue; // a package or node: built-in
      const target = path.resolve(path.dirname(file), specifier);
      const inSrc = path.relative(src, target);
      if (inSrc.startsWith('..') || path.isAbsolute(inSrc)) {
        const allowed = ALLOWED_OUTSIDE.some((a) => a.from === rel(file) && a.to === rel(target) && a.dynamic === dynamic);
        if (!allowed) problems.push(`${rel(file)} imports ${rel(target)}, outside src/ (not in the production image)`);
        continue;
      }
      const to = folderOf(inSrc);
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      edges.set(to, [...(edges.get(to) ?? []), `${rel(file)} -> ${rel(target)}`]);
    }
  }
  problems.push(...layerProblems(graph, LAYERS));
  for (const cycle of findCycles(graph)) {
    const evidence = cycle.slice(1).map((to, i) => `    ${cycle[i]} -> ${to}: ${graph.get(cycle[i]!)!.get(to)!.join(', ')}`);
    problems.push(`folder cycle ${cycle.join(' -> ')}\n${evidence.join('\n')}`);
  }
  const lines = [...graph.keys()].sort().map((from) => `  ${from} -> ${[...graph.get(from)!.keys()].sort().join(', ')}`);
  process.stdout.write(`src/ folder imports:\n${lines.join('\n')}\n`);
  if (problems.length > 0) {
    process.stderr.write(`check-imports: ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
