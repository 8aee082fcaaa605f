/** The fenced code blocks of a markdown page, with the name of the `<!-- snippet: NAME -->` marker on the line before each. */
export interface CodeBlock {
  /** The marker's name; undefined for a block without one. */
  name: string | undefined;
  /** The fence's info string, e.g. `sh`, `python`, `text`. */
  lang: string;
  code: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

const MARKER = /^<!-- snippet: ([\w-]+) -->$/;

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const end = lines.findIndex((l, j) => j > i && l === '```');
    if (end < 0) throw new Error(`unclosed code block at line ${i + 1}`);
    const marker = MARKER.exec(lines[i - 1] ?? '');
    blocks.push({ name: marker?.[1], lang: open[1] ?? '', code: lines.slice(i + 1, end).join('\n') + '\n', line: i + 1 });
    i = end;
  }
  return blocks;
}
