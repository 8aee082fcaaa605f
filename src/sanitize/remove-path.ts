/**
 * Removes what a dotted path names. `*` stands for every key of an object; a list met on the way is
 * crossed element by element, so `revision.content_slots.*.content_body` or `performer.groups`
 * reach every value they name. Returns how many values were removed.
 */
export function removePath(root: unknown, segments: readonly string[]): number {
  return edit(root, segments, 0, (parent, key) => {
    delete parent[key];
  });
}

/** Replaces what the path names by an empty object (EventStreams' redaction of `performer`). */
export function emptyPath(root: unknown, segments: readonly string[]): number {
  return edit(root, segments, 0, (parent, key) => {
    parent[key] = {};
  });
}

function edit(node: unknown, segments: readonly string[], at: number, apply: (parent: Record<string, unknown>, key: string) => void): number {
  if (Array.isArray(node)) {
    let count = 0;
    for (const element of node) count += edit(element, segments, at, apply);
    return count;
  }
  if (typeof node !== 'object' || node === null || at >= segments.length) return 0;
  const object = node as Record<string, unknown>;
  const segment = segments[at] as string;
  const keys = segment === '*' ? Object.keys(object) : Object.hasOwn(object, segment) ? [segment] : [];
  let count = 0;
  for (const key of keys) {
    if (at === segments.length - 1) {
      apply(object, key);
      count++;
    } else {
      count += edit(object[key], segments, at + 1, apply);
    }
  }
  return count;
}
