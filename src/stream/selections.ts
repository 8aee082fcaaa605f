import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { SchemaStore } from '../catalogue/schemas.ts';
import type { StreamConfig } from '../catalogue/types.ts';
import { checkQuery, type CheckResult, type FieldScope, type FilterProblem } from '../filter/check.ts';
import { compileFilter } from '../filter/compile.ts';
import { parseFilterQuery } from '../filter/parse.ts';
import { compileProjection } from '../filter/project.ts';
import { schemaFields } from '../filter/schema-fields.ts';
import { EventSelection } from './event-selection.ts';

export type SelectionResult = { ok: true; selection: EventSelection } | { ok: false; problem: FilterProblem };

/**
 * Turns a request's streams and query string into its EventSelection: parsed, checked against the
 * streams' schemas and compiled once per connection, and shared with every open connection that
 * asked for the same thing.
 */
export class Selections {
  readonly #schemas: SchemaStore;
  readonly #log: FastifyBaseLogger;
  readonly #shared = new LRUCache<string, EventSelection>({ max: 20_000 });

  constructor(schemas: SchemaStore, log: FastifyBaseLogger) {
    this.#schemas = schemas;
    this.#log = log;
  }

  async forRequest(streams: readonly StreamConfig[], rawQuery: string): Promise<SelectionResult> {
    const parsed = parseFilterQuery(rawQuery);
    if (!parsed.ok) return { ok: false, problem: { message: parsed.error } };
    const { query } = parsed;
    const filtering = query.clauses.length > 0 || query.fields !== undefined;
    const checked: CheckResult = filtering ? checkQuery(query, await this.#scope(streams)) : { ok: true, clauses: [] };
    if (!checked.ok) return checked;
    const filter = compileFilter(checked.clauses);
    const projection = checked.fields === undefined ? undefined : compileProjection(checked.fields);
    const names = streams.map((s) => s.name).sort();
    const canaryTopics = [...new Set(streams.filter((s) => !s.dropCanaryEvents).flatMap((s) => s.topics))].sort();
    // Canary topics are in the key: a catalogue reload may change them for the same stream names.
    const key = `${names.join(',')}|${canaryTopics.join(',')}|${filter?.key ?? ''}|${projection?.key ?? ''}`;
    let selection = this.#shared.get(key);
    if (selection === undefined) {
      selection = new EventSelection(key, new Set(canaryTopics), filter, projection);
      this.#shared.set(key, selection);
    }
    return { ok: true, selection };
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
