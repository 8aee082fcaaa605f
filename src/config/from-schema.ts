/**
 * The part of JSON Schema the configuration schema uses, and the TypeScript type of a document that
 * is valid against such a schema. `configSchema` satisfies JsonSchema, so a keyword FromSchema does
 * not map (oneOf, null, ...) fails type checking instead of turning silently into `unknown`.
 */
import { isObject } from './raw.ts';

type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface JsonSchema {
  readonly $schema?: string;
  readonly $id?: string;
  readonly title?: string;
  readonly description?: string;
  readonly type?: JsonType | readonly JsonType[];
  readonly enum?: readonly string[];
  readonly default?: unknown;
  readonly properties?: { readonly [key: string]: JsonSchema };
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly $ref?: `#/$defs/${string}`;
  readonly $defs?: { readonly [name: string]: JsonSchema };
  // Checked by Ajv; they do not change the type.
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
}

/** Keys as written in the file, or camelCased as `camelize` does it. */
type KeyCase = 'as-written' | 'camel';

/** What a document valid against `S` holds once Ajv filled in the defaults; `Defs` resolves `$ref`. */
export type FromSchema<S, Defs, Case extends KeyCase = 'as-written'> = S extends { readonly $ref: `#/$defs/${infer Name}` }
  ? FromSchema<Defs[Name & keyof Defs], Defs>
  : S extends { readonly enum: readonly (infer Value)[] }
    ? Value
    : S extends { readonly type: infer T }
      ? FromType<T extends readonly (infer One)[] ? One : T, S, Defs, Case>
      : unknown;

// Distributes over a `type` list: ['array', 'string'] is an array or a string.
type FromType<T, S, Defs, Case extends KeyCase> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'array'
        ? FromSchema<S extends { readonly items: infer Items } ? Items : unknown, Defs>[]
        : T extends 'object'
          ? ObjectOf<S, Defs, Case>
          : never;

type ObjectOf<S, Defs, Case extends KeyCase> = Simplify<
  Declared<S extends { readonly properties: infer P } ? P : unknown, Defs, Case> & Additional<S, Defs, Case>
>;

// Ajv's useDefaults fills in every key that has a default, so only those are sure to be there.
type Declared<P, Defs, Case extends KeyCase> = {
  -readonly [K in keyof P as P[K] extends { readonly default: unknown } ? Key<K, Case> : never]: Value<P[K], Defs, Case>;
} & {
  -readonly [K in keyof P as P[K] extends { readonly default: unknown } ? never : Key<K, Case>]?: Value<P[K], Defs, Case>;
};

// Sections (objects declaring properties) keep the key case; maps and $ref'd values are data, kept as written.
type Value<S, Defs, Case extends KeyCase> = FromSchema<S, Defs, S extends { readonly properties: object } ? Case : 'as-written'>;

type Key<K, Case extends KeyCase> = K extends string ? (Case extends 'camel' ? Camel<K> : K) : never;

// camelize keeps only declared keys, so a camelCased section has no room for others.
type Additional<S, Defs, Case extends KeyCase> = S extends { readonly additionalProperties: true }
  ? Case extends 'camel'
    ? unknown
    : { [key: string]: unknown }
  : S extends { readonly additionalProperties: infer A extends object }
    ? { [key: string]: FromSchema<A, Defs> }
    : unknown;

type Simplify<T> = { [K in keyof T]: T[K] };

type Camel<K extends string> = K extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : K;

/** A key path the schema declares, e.g. `['kafka', 'brokers']`. */
export type KeyPath<S> = S extends { readonly properties: infer P }
  ? { [K in keyof P & string]: [K] | [K, ...KeyPath<P[K]>] }[keyof P & string]
  : never;

/**
 * `value` with the keys the schema declares camelCased, in nested sections too (what
 * FromSchema<S, Defs, 'camel'> describes); undeclared keys are left out, maps kept as written.
 */
export function camelize(schema: JsonSchema, value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const item = value[key];
    if (item === undefined) continue;
    result[camelCase(key)] = child.properties !== undefined && isObject(item) ? camelize(child, item) : item;
  }
  return result;
}

function camelCase(key: string): string {
  return key.replace(/_(.)/g, (_underscore, letter: string) => letter.toUpperCase());
}
