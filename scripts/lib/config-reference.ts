/** Renders the configuration reference (docs/configuration.md) from the config JSON schema, so the two never drift. */
import type { JsonSchema } from '../../src/config/from-schema.ts';
import { cell, docBlock, withBlock } from './doc-block.ts';

/** An environment variable and the key it replaces (env.ts). */
interface EnvVariable {
  variable: string;
  key: readonly string[];
}

const BLOCK = docBlock('config-reference');
export const REFERENCE_START = BLOCK.start;
export const REFERENCE_END = BLOCK.end;

export function configReference(schema: JsonSchema, env: readonly EnvVariable[]): string {
  const rows: string[] = ['| key | type | default | meaning |', '|---|---|---|---|'];
  const walk = (node: JsonSchema, prefix: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const resolved = resolveRef(child, schema.$defs ?? {});
      rows.push(`| \`${prefix}${name}\` | ${typeOf(resolved)} | ${defaultOf(resolved)} | ${cell(resolved.description ?? '')} |`);
      if (resolved.properties !== undefined && resolved.$ref === undefined) walk(resolved, `${prefix}${name}.`);
    }
  };
  walk(schema, '');
  const settings = schema.$defs?.streamSettings;
  if (settings !== undefined) {
    rows.push('', '## Stream settings', '', 'In `streams`, `stream_config_defaults`, `stream_config_overrides` and the fetched catalogue:', '');
    rows.push('| key | type | meaning |', '|---|---|---|');
    for (const [name, child] of Object.entries(settings.properties ?? {})) {
      rows.push(`| \`${name}\` | ${typeOf(child)} | ${cell(child.description ?? '')} |`);
    }
  }
  rows.push('', '## Environment variables', '', 'Each replaces one key:', '', '| variable | key |', '|---|---|');
  for (const { variable, key } of env) rows.push(`| \`${variable}\` | \`${key.join('.')}\` |`);
  return rows.join('\n');
}

/** Replaces the generated block of `page` with `reference`. */
export function withReference(page: string, reference: string): string {
  return withBlock(page, BLOCK, reference);
}

function resolveRef(node: JsonSchema, defs: { readonly [name: string]: JsonSchema }): JsonSchema {
  if (node.$ref === undefined) return node;
  const target = defs[node.$ref.replace('#/$defs/', '')];
  return { ...target, ...node, type: node.type ?? target?.type ?? 'object' };
}

function typeOf(node: JsonSchema): string {
  if (node.enum !== undefined) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const type = node.type ?? 'object';
  return typeof type === 'string' ? type : type.join(' or ');
}

function defaultOf(node: JsonSchema): string {
  if (node.default === undefined) return '';
  return `\`${JSON.stringify(node.default)}\``;
}
