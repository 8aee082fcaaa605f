/** Which fields of an event to send: a tree of requested names, `true` meaning the whole value. */
type FieldTree = { [name: string]: FieldTree | true };

/**
 * Trees and projected copies have no prototype: a client's `fields=__proto__.x` or
 * `constructor.prototype` names event keys like any other, never `Object.prototype`.
 */
const empty = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

export interface Projection {
  /** Canonical text: equal keys, equal projections. */
  readonly key: string;
  project(event: Record<string, unknown>): Record<string, unknown>;
}

/** The Kafka position in `meta` is always sent: clients resume from it. */
const POSITION: readonly (readonly string[])[] = [['meta', 'topic'], ['meta', 'partition'], ['meta', 'offset'], ['meta', 'key']];

/** Compiles `fields` paths once per connection. Paths through lists apply to each element. */
export function compileProjection(paths: readonly (readonly string[])[]): Projection {
  const tree: FieldTree = empty();
  for (const path of [...paths, ...POSITION]) add(tree, path);
  const key = JSON.stringify(canonical(tree));
  return { key, project: (event) => pick(event, tree) as Record<string, unknown> };
}

function add(tree: FieldTree, path: readonly string[]): void {
  let node = tree;
  for (let i = 0; i < path.length; i++) {
    const name = path[i] as string;
    const existing = node[name];
    if (existing === true) return; // an ancestor is already sent whole
    if (i === path.length - 1) {
      node[name] = true;
      return;
    }
    const child: FieldTree = existing ?? empty();
    node[name] = child;
    node = child;
  }
}

function pick(value: unknown, tree: FieldTree): unknown {
  if (Array.isArray(value)) return value.map((element) => pick(element, tree));
  if (typeof value !== 'object' || value === null) return undefined;
  const source = value as Record<string, unknown>;
  const out = empty<unknown>();
  for (const [name, sub] of Object.entries(tree)) {
    if (!Object.hasOwn(source, name)) continue;
    const picked = sub === true ? source[name] : pick(source[name], sub);
    if (picked !== undefined) out[name] = picked;
  }
  return out;
}

function canonical(tree: FieldTree): unknown {
  return Object.keys(tree)
    .sort()
    .map((name) => {
      const sub = tree[name] as FieldTree | true;
      return sub === true ? name : [name, canonical(sub)];
    });
}
