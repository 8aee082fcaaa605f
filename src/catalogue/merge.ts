import type { StreamSettings } from '../config/types.ts';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges stream settings layers, later layers winning. Nested objects merge key by key; lists and
 * scalars replace (unlike lodash's merge, an override `topics: [x]` must not keep a second old topic).
 * Inputs are not modified.
 */
export function mergeSettings(...layers: (StreamSettings | undefined)[]): StreamSettings {
  let result: Record<string, unknown> = {};
  for (const layer of layers) if (layer !== undefined) result = mergeObjects(result, layer);
  return result;
}

function mergeObjects(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (key === '__proto__') continue; // JSON.parse makes it an own key; assigning it would swap the prototype
    const previous = result[key];
    result[key] = isPlainObject(previous) && isPlainObject(value) ? mergeObjects(previous, value) : clone(value);
  }
  return result;
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isPlainObject(value)) return mergeObjects({}, value);
  return value;
}
