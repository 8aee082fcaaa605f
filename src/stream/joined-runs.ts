/**
 * The concatenations of consecutive encoded chunks that a cohort's members are written, shared by
 * the members that need the same run: a member written mid-pass lacks the chunks cut since its
 * last write, and gets them in one socket write, not one per chunk. Members of one coding in step
 * get the very same encoded buffers; a run is reused only when every part is the same object.
 * Holds the runs ending at the cohort's last chunk (`clear` when another is cut).
 */
export class JoinedRuns {
  readonly #byStart = new Map<number, { parts: readonly Buffer[]; joined: Buffer }[]>();

  /** `parts` (the encoded chunks from chunk number `start` on) as one buffer. */
  join(start: number, parts: readonly Buffer[]): Buffer {
    const runs = this.#byStart.get(start);
    if (runs !== undefined) for (const run of runs) if (sameParts(run.parts, parts)) return run.joined;
    const joined = Buffer.concat(parts);
    if (runs === undefined) this.#byStart.set(start, [{ parts, joined }]);
    else runs.push({ parts, joined });
    return joined;
  }

  clear(): void {
    this.#byStart.clear();
  }
}

function sameParts(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
