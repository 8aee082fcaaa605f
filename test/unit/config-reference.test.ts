import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference, REFERENCE_END, REFERENCE_START, withReference } from '../../scripts/lib/config-reference.ts';

const schema = JSON.parse(readFileSync(new URL('../../src/config/schema.json', import.meta.url), 'utf8'));
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README configuration reference', () => {
  it('is what the config schema generates (run `node scripts/config-reference.ts` after changing the schema)', () => {
    expect(withReference(readme, configReference(schema))).toBe(readme);
  });
  it('lists every top-level key and every stream setting', () => {
    const reference = configReference(schema);
    for (const key of Object.keys(schema.properties)) expect(reference).toContain(`| \`${key}\` |`);
    for (const key of Object.keys(schema.$defs.streamSettings.properties)) expect(reference).toContain(`| \`${key}\` |`);
  });
  it('refuses a README without markers', () => {
    expect(() => withReference('# nothing', 'x')).toThrow(/markers/);
    expect(readme.indexOf(REFERENCE_START)).toBeLessThan(readme.indexOf(REFERENCE_END));
  });
});
