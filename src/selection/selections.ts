import type { FastifyBaseLogger } from 'fastify';
import type { SchemaStore } from '../catalogue/schemas.ts';
import type { StreamConfig } from '../catalogue/types.ts';
import { checkQuery, type CheckResult, type FieldScope, type FilterProblem } from '../filter/check.ts';
import { compileFilter } from '../filter/compile.ts';
import { costProblem, filterCost } from '../filter/cost.ts';
import { parseFilterQuery } from '../filter/parse.ts';
import { compileProjection } from '../filter/project.ts';
import { schemaFields } from '../filter/schema-fields.ts';
import type { Sanitizer } from '../sanitize/sanitizer.ts';
import { EventSelection } from './event-selection.ts';

/**
 * What a request would be sent, checked and compiled but held by nothing in the process: a request
 * refused later leaves nothing behind. `LiveSelections.acquire` turns it into a shared selection
 * when the stream opens.
 */
export interface SelectionCandidate {
  /** Streams, canary topics, filter and projection: equal keys, one shared selection. */
  readonly key: string;
  /** Its filter's and projection's cost (filter/cost.ts); 0 without either. */
  readonly cost: number;
  /** Builds the selection; called only when no open stream shares one with this key. */
  create(): EventSelection;
}

export type CheckedSelection = { ok: true; candidate: SelectionCandidate } | { ok: false; problem: FilterProblem };

/**
 * Turns a request's streams and query string into a selection candidate: parsed, checked against
 * the streams' schemas, costed against the per-filter limit and compiled. Keeps no state per request.
 */
export class Selections {
  readonly #schemas: SchemaStore;
  readonly #sanitizer: Sanitizer;
  readonly #maxCost: number;
  readonly #log: FastifyBaseLogger;

  constructor(schemas: SchemaStore, sanitizer: Sanitizer, maxCost: number, log: FastifyBaseLogger) {
    this.#schemas = schemas;
    this.#sanitizer = sanitizer;
    this.#maxCost = maxCost;
    this.#log = log;
  }

  async check(streams: readonly StreamConfig[], rawQuery: string): Promise<CheckedSelection> {
    const parsed = parseFilterQuery(rawQuery);
    if (!parsed.ok) return { ok: false, problem: { message: parsed.error } };
    const { query } = parsed;
    const filtering = query.clauses.length > 0 || query.fields !== undefined;
    const checked: CheckResult = filtering ? checkQuery(query, await this.#scope(streams)) : { ok: true, clauses: [] };
    if (!checked.ok) return checked;
    const cost = filterCost(checked.clauses, checked.fields);
    const tooCostly = costProblem(cost, this.#maxCost);
    if (tooCostly !== undefined) return { ok: false, problem: { message: tooCostly } };
    const filter = compileFilter(checked.clauses);
    const projection = checked.fields === undefined ? undefined : compileProjection(checked.fields);
    const names = streams.map((s) => s.name).sort();
    const canaryTopics = [...new Set(streams.filter((s) => !s.dropCanaryEvents).flatMap((s) => s.topics))].sort();
    // Canary topics are in the key: a catalogue reload may change them for the same stream names.
    const key = `${names.join(',')}|${canaryTopics.join(',')}|${filter?.key ?? ''}|${projection?.key ?? ''}`;
    const sanitizer = this.#sanitizer;
    return { ok: true, candidate: { key, cost: cost.total, create: () => new EventSelection(key, sanitizer, new Set(canaryTopics), filter, projection) } };
  }

  async #scope(streams: readonly StreamConfig[]): Promise<FieldScope> {
    const scope = { schemas: [] as FieldScope['schemas'][number][], schemaless: false };
    for (const stream of streams) {
      const found = await this.#schemas.get(stream).catch((error: unknown) => {
        // Filters still work without the schema, typed by the events' values instead.
        this.#log.warn({ err: error, stream: stream.name }, 'cannot read the stream schema: its filters go unchecked');
        return undefined;
      });
      if (found === undefined) scope.schemaless = true;
      else scope.schemas.push(schemaFields(found.schema));
    }
    return scope;
  }
}
