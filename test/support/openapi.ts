/** Checks a generated OpenAPI document the way a user of it would rely on it. */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

export interface OpenApiParameter {
  name: string;
  in: string;
  style?: string;
  explode?: boolean;
  schema: { type?: string; items?: { enum?: string[] }; additionalProperties?: unknown };
}

export interface OpenApiOperation {
  description?: string;
  parameters?: OpenApiParameter[];
  responses: Record<string, { description?: string; content?: Record<string, { schema?: Record<string, unknown>; example?: unknown }> }>;
}

export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, { get: OpenApiOperation }>;
  components: { schemas: Record<string, Record<string, unknown>> };
}

/** Errors of the document against the official OpenAPI schema of its version; empty when valid. */
export async function openApiErrors(doc: unknown): Promise<unknown[]> {
  const result = await new Validator().validate(doc as Record<string, unknown>);
  if (result.valid) return [];
  return Array.isArray(result.errors) ? result.errors : [result.errors];
}

/**
 * Errors of a value against a documented schema (validated as draft-07, the streams' schemas'
 * dialect, which the document's own schemas also keep to); empty when the value is valid.
 */
export function schemaErrors(schema: Record<string, unknown>, value: unknown): string[] {
  return schemaCheck(schema)(value);
}

/** `schemaErrors` for many values: the schema compiled once. */
export function schemaCheck(schema: Record<string, unknown>): (value: unknown) => string[] {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  return (value) => (validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`));
}
