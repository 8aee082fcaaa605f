import { readdirSync, readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { problemBody } from '../../src/http/problem.ts';
import { PROBLEMS, problemCases, type ProblemAnswer, type RetryLaterType } from '../../src/http/problems.ts';

const SRC = new URL('../../src/', import.meta.url).pathname;
/** The catalogue and what documents it: not where a type is answered. */
const DOCUMENTING = new Set(['http/problems.ts', 'http/openapi.ts', 'http/problem-table.ts']);

function sources(dir: string, prefix = ''): { path: string; text: string }[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) return sources(dir, path);
    return entry.name.endsWith('.ts') ? [{ path, text: readFileSync(join(dir, path), 'utf8') }] : [];
  });
}

describe('problem catalogue', () => {
  it('answers each case with an error status whose text is the title, as EventStreams has it', () => {
    for (const { type, status, when } of problemCases()) {
      expect(when, type).not.toBe('');
      if (typeof status !== 'number') continue;
      expect(status >= 400 && status < 600, `${type} ${status}`).toBe(true);
      const answer = ('status' in PROBLEMS[type] ? type : { type, status }) as ProblemAnswer;
      expect(problemBody(answer, 'd'), type).toEqual({ type, title: STATUS_CODES[status], status, detail: 'd' });
    }
  });

  it('has retry-later types of one status each, 429 or 503', () => {
    const retryLater = problemCases().filter((c) => c.retryLater);
    expect(retryLater.map((c) => c.type).sort()).toEqual(
      ['filter_budget_exhausted', 'kafka_unavailable', 'no_topics', 'overloaded', 'sanitizer_not_ready', 'too_many_connections'].sort(),
    );
    for (const { type, status } of retryLater) expect([429, 503], type).toContain(status);
  });

  it('has no type that nothing answers with', () => {
    const code = sources(SRC).filter((s) => !DOCUMENTING.has(s.path));
    for (const type of Object.keys(PROBLEMS)) {
      expect(code.filter((s) => s.text.includes(`'${type}'`)).map((s) => s.path), type).not.toEqual([]);
    }
  });

  it('refuses at compile time a type it does not have, or a status the type is not answered with', () => {
    // @ts-expect-error: not a problem type
    const misspelt: ProblemAnswer = 'not_fund';
    // @ts-expect-error: not_found has two statuses: the answer names one
    const unnamed: ProblemAnswer = 'not_found';
    // @ts-expect-error: not one of not_found's statuses
    const wrongStatus: ProblemAnswer = { type: 'not_found', status: 405 };
    // @ts-expect-error: a type of one status takes no status from the caller
    const fixed: ProblemAnswer = { type: 'invalid_filter', status: 400 };
    // @ts-expect-error: `/_ready`'s shutting_down is not answered as a retry stream
    const notRetryLater: RetryLaterType = 'shutting_down';
    const framework: ProblemAnswer = { type: 'bad_request', status: 415 };
    const types: unknown[] = [misspelt, unnamed, wrongStatus, fixed, notRetryLater, framework];
    expect(types).toHaveLength(6);
  });
});
