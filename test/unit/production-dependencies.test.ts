import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

// Static and dynamic imports, import.meta.resolve, and pino transport targets (loaded by name).
const SPECIFIER = /(?:from\s+|import\(\s*|import\.meta\.resolve\(\s*|target:\s*)'([^'./][^']*)'/g;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : [path.join(dir, e.name)])));
  return nested.flat().filter((f) => f.endsWith('.ts'));
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

describe('the production image', () => {
  // The Dockerfile installs with `npm ci --omit=dev`: a package the service loads must not be a dev dependency.
  it('gets every package the service loads from its production dependencies', async () => {
    const used = new Set<string>();
    for (const file of await sourceFiles(SRC)) {
      for (const match of (await readFile(file, 'utf8')).matchAll(SPECIFIER)) {
        const specifier = match[1] ?? '';
        if (!specifier.startsWith('node:')) used.add(packageOf(specifier));
      }
    }
    expect([...used]).toEqual(expect.arrayContaining(['fastify', '@platformatic/kafka', 'swagger-ui-dist', 'pino-pretty']));
    expect([...used].filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });
});
