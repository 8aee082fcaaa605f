/** Rewrites the configuration reference in README.md from src/config/schema.ts and the environment variables. */
import { readFileSync, writeFileSync } from 'node:fs';
import { ENV_RULES } from '../src/config/env.ts';
import { configSchema } from '../src/config/schema.ts';
import { configReference, withReference } from './lib/config-reference.ts';

const readmeFile = new URL('../README.md', import.meta.url);
writeFileSync(readmeFile, withReference(readFileSync(readmeFile, 'utf8'), configReference(configSchema, ENV_RULES)));
console.log('README.md: configuration reference updated');
