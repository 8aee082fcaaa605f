/**
 * The part of JSON Schema the configuration schema uses: `configSchema` satisfies JsonSchema, so a
 * keyword outside it fails type checking.
 */

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
  readonly pattern?: string;
}
