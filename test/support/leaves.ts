/** Every leaf path of a JSON value (`a.b.c`; lists are leaves), with its value. */
export function leaves(value: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) for (const [p, leaf] of leaves(v, prefix === '' ? k : `${prefix}.${k}`)) out.set(p, leaf);
  } else {
    out.set(prefix, value);
  }
  return out;
}
