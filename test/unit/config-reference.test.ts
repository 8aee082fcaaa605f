import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_RULES } from '../../src/config/env.ts';
import { configSchema } from '../../src/config/schema.ts';
import { configReference, REFERENCE_END, REFERENCE_START, withReference } from '../../scripts/lib/config-reference.ts';

const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

describe('configuration reference (docs/configuration.md)', () => {
  it('is what the config schema generates (run `node scripts/config-reference.ts` after changing the schema)', () => {
    expect(withReference(page, configReference(configSchema, ENV_RULES))).toBe(page);
  });
  it('lists every top-level key, every stream setting and every environment variable', () => {
    const reference = configReference(configSchema, ENV_RULES);
    for (const key of Object.keys(configSchema.properties)) expect(reference).toContain(`| \`${key}\` |`);
    for (const key of Object.keys(configSchema.$defs.streamSettings.properties)) expect(reference).toContain(`| \`${key}\` |`);
    for (const { variable, key } of ENV_RULES) expect(reference).toContain(`| \`${variable}\` | \`${key.join('.')}\` |`);
  });
  it('refuses a page without markers', () => {
    expect(() => withReference('# nothing', 'x')).toThrow(/markers/);
    expect(page.indexOf(REFERENCE_START)).toBeLessThan(page.indexOf(REFERENCE_END));
  });
});
