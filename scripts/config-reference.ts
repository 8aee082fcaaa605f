/** Rewrites the configuration reference in README.md from src/config/schema.json. */
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference, withReference } from './lib/config-reference.ts';

const readmeFile = new URL('../README.md', import.meta.url);
const schema = JSON.parse(readFileSync(new URL('../src/config/schema.json', import.meta.url), 'utf8'));
writeFileSync(readmeFile, withReference(readFileSync(readmeFile, 'utf8'), configReference(schema)));
console.log('README.md: configuration reference updated');
