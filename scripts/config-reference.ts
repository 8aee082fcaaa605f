/** Rewrites the configuration reference in docs/configuration.md from src/config/schema.ts and the environment variables. */
import { readFileSync, writeFileSync } from 'node:fs';
import { ENV_RULES } from '../src/config/env.ts';
import { configSchema } from '../src/config/schema.ts';
import { configReference, withReference } from './lib/config-reference.ts';

const page = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(page, withReference(readFileSync(page, 'utf8'), configReference(configSchema, ENV_RULES)));
console.log('docs/configuration.md: configuration reference updated');
