/**
 * Reads a dotted path out of a parsed event. An array met on the way stands for each of its
 * elements, so `performer.user_groups` or `revision.slots.main.content_model` reach what they name
 * whether a step is an object or a list of them.
 */
export function someValue(root: unknown, segments: readonly string[], test: (value: unknown) => boolean): boolean {
  return visit(root, segments, 0, test);
}

/** Every value at the path (array elements one by one). */
export function valuesAt(root: unknown, segments: readonly string[]): unknown[] {
  const found: unknown[] = [];
  visit(root, segments, 0, (value) => {
    found.push(value);
    return false;
  });
  return found;
}

function visit(node: unknown, segments: readonly string[], at: number, test: (value: unknown) => boolean): boolean {
  let current = node;
  for (let i = at; i < segments.length; i++) {
    if (Array.isArray(current)) {
      for (const element of current) if (visit(element, segments, i, test)) return true;
      return false;
    }
    if (typeof current !== 'object' || current === null) return false;
    // Own keys only: `constructor` or `__proto__` are absent from an event that does not hold them.
    const segment = segments[i] as string;
    current = Object.hasOwn(current, segment) ? (current as Record<string, unknown>)[segment] : undefined;
  }
  if (current === undefined) return false;
  if (Array.isArray(current)) {
    for (const element of current) if (test(element)) return true;
    return false;
  }
  return test(current);
}
