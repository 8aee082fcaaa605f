import { describe, expect, it } from 'vitest';
import { findCycles, importsOf, LAYERS, layerProblems, type FolderGraph } from '../../scripts/check-imports.ts';

/** A folder graph from `a>b` edges (each made by one made-up import). */
function graph(...edges: string[]): FolderGraph {
  const g: FolderGraph = new Map();
  for (const edge of edges) {
    const [from, to] = edge.split('>') as [string, string];
    const out = g.get(from) ?? new Map<string, string[]>();
    g.set(from, out);
    out.set(to, [`src/${from}/x.ts -> src/${to}/y.ts`]);
  }
  return g;
}

describe('the import check (scripts/check-imports.ts)', () => {
  it('finds no cycle in a layered graph', () => {
    expect(findCycles(graph('http>stream', 'stream>fanout', 'fanout>kafka', 'http>kafka', 'kafka>config'))).toEqual([]);
  });

  it('refuses a folder importing one after it in the data path, and a folder not placed in it', () => {
    const layers = ['config', 'kafka', 'stream', 'http'];
    expect(layerProblems(graph('http>stream', 'stream>kafka', 'kafka>config', 'main.ts>http'), layers)).toEqual([]);
    expect(layerProblems(graph('kafka>stream'), layers)).toEqual(['kafka imports stream, which comes after it in the data path: src/kafka/x.ts -> src/stream/y.ts']);
    expect(layerProblems(graph('extra>config'), layers)).toEqual(['src/extra/ is not in LAYERS (scripts/check-imports.ts): place it in the data path']);
    expect(new Set(LAYERS).size).toBe(LAYERS.length);
  });

  it('finds each cycle once, as a path around it', () => {
    expect(findCycles(graph('config>kafka', 'kafka>config', 'http>stream'))).toEqual([['config', 'kafka', 'config']]);
    expect(findCycles(graph('a>b', 'b>c', 'c>a', 'c>d', 'd>e', 'e>d', 'x>a'))).toEqual([
      ['a', 'b', 'c', 'a'],
      ['d', 'e', 'd'],
    ]);
    // One strongly connected set of folders is one finding, by its shortest way back.
    expect(findCycles(graph('a>b', 'b>a', 'b>c', 'c>a'))).toEqual([['a', 'b', 'a']]);
  });

  it('reads static, re-exporting and dynamic imports, not prose', () => {
    const text = [
      "import { a,",
      "  b } from './a.ts';",
      "import type { T } from '../t/t.ts';",
      "export { c } from \"./c.ts\";",
      "import './side.ts';",
      "// a comment about import('./not-an-import.ts')",
      "const m = await import('../../scripts/lib/x.ts');",
      "const n = await import(name);",
      "const s = 'from here';",
    ].join('\n');
    expect(importsOf(text)).toEqual([
      { specifier: './a.ts', dynamic: false },
      { specifier: '../t/t.ts', dynamic: false },
      { specifier: './c.ts', dynamic: false },
      { specifier: './side.ts', dynamic: false },
      { specifier: '../../scripts/lib/x.ts', dynamic: true },
      { specifier: '', dynamic: true },
    ]);
  });
});
