import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Tests that measure the heap need a full collection first, without running vitest under --expose-gc.
setFlagsFromString('--expose-gc');

/** A full garbage collection. */
export const gc = runInNewContext('gc') as () => void;
