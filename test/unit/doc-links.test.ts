/**
 * The README and every page of docs/ (and bench/README.md) link only to files that exist, and to
 * headings that exist in them, so moving or renaming a section cannot leave a dead link behind.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = ['README.md', 'bench/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Markdown without its fenced code blocks, where a `#` line is no heading and a `[x](y)` no link. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const text = (heading ?? '').replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

function links(markdown: string): string[] {
  // A link's text may hold code spans; outside a link, a code span's brackets are no link. A
  // backtick is only the start of a code span in the link text, so an unclosed `[` is refused in
  // linear time (with either alternative taking it, a long page took exponential time).
  return [...withoutFences(markdown).replace(/(?<!\[)`[^`\n]*`(?!\])/g, '``').matchAll(/!?\[(?:[^\]`]|`[^`]*`)*\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
}

describe('links in the README and docs/', () => {
  it('finds the pages and knows GitHub anchors', () => {
    expect(PAGES).toContain('docs/clients.md');
    expect(anchors('# A `b`: c, d\n## 429 and 503\n## x\n## x')).toEqual(new Set(['a-b-c-d', '429-and-503', 'x', 'x-1']));
  });

  for (const page of PAGES) {
    it(`${page}: every relative link and anchor exists`, () => {
      const text = readFileSync(join(ROOT, page), 'utf8');
      const dead: string[] = [];
      for (const link of links(text)) {
        if (/^[a-z]+:/i.test(link)) continue; // http(s), mailto: not checked offline
        const [path = '', anchor] = link.split('#');
        const target = path === '' ? join(ROOT, page) : join(dirname(join(ROOT, page)), decodeURIComponent(path));
        if (!existsSync(target) || relative(ROOT, target).startsWith('..')) {
          dead.push(`${link} (no such file)`);
          continue;
        }
        if (anchor !== undefined && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(anchor)) dead.push(`${link} (no such heading)`);
      }
      expect(dead).toEqual([]);
    });
  }
});
