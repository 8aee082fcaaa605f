import { describe, expect, it } from 'vitest';
import { SessionRegistry } from '../../src/stream/registry.ts';

/** A stream as the registry sees it: when it was ended, with what retry advice. */
function stream(log: string[], name: string) {
  return {
    tick: () => undefined,
    close: (retryMs: number, reason?: string) => void log.push(`${name} ${retryMs} ${reason}`),
  };
}

describe('SessionRegistry.drain', () => {
  it('ends every stream with retry advice, also those opened while it drains', async () => {
    const registry = new SessionRegistry(1000);
    const ended: string[] = [];
    registry.add(stream(ended, 'a'));
    registry.add(stream(ended, 'b'));
    const draining = registry.drain(300, 2000);
    // A balancer that has not yet seen the instance unready sends one more.
    registry.add(stream(ended, 'late'));
    await draining;
    registry.stop();
    expect(ended.sort()).toEqual(['a 2000 shutdown', 'b 2000 shutdown', 'late 2000 shutdown']);
    expect(registry.size).toBe(0);
  });
});
