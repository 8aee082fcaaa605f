import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory, for tools, tests and benchmarks that read or write under it. */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
