/** Rewrites the configuration reference in README.md from src/config/schema.ts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference, withReference } from '../src/config/reference.ts';
import { configSchema } from '../src/config/schema.ts';

const readmeFile = new URL('../README.md', import.meta.url);
writeFileSync(readmeFile, withReference(readFileSync(readmeFile, 'utf8'), configReference(configSchema)));
console.log('README.md: configuration reference updated');
