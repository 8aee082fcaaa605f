import type { EventSink } from '../../src/fanout/cursor.ts';
import type { PreparedEvent } from '../../src/event/prepared-event.ts';
import type { StartPosition } from '../../src/protocol/position.ts';

/** A client as the fan-out sees it: it records the offsets it is offered, lost positions and failures. */
export class RecordingSink implements EventSink {
  received: number[] = [];
  lost: StartPosition[] = [];
  failed: string[] = [];
  ended = false;
  readonly index = undefined;
  #room: Promise<void> | undefined;

  receive(_slot: number, e: PreparedEvent): void {
    this.received.push(e.offset);
  }
  skip(): void {}
  caughtUp(): void {}
  writable(): Promise<void> {
    return this.#room ?? Promise.resolve();
  }
  positionLost(start: StartPosition): void {
    this.lost.push(start);
  }
  fail(name: string): void {
    this.failed.push(name);
  }

  /** Makes readers wait for this client to have room, until the returned function is called. */
  hold(): () => void {
    let release = (): void => undefined;
    this.#room = new Promise((resolve) => {
      release = () => {
        this.#room = undefined;
        resolve();
      };
    });
    return release;
  }
}
