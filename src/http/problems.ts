import { STATUS_CODES } from 'node:http';

/** Any 4xx / 5xx: the status the HTTP framework (fastify, a plugin) refused or failed a request with. */
type FrameworkStatus = '4xx' | '5xx';

interface OneStatus {
  readonly status: number;
  readonly when: string;
  /** Sent with `sendRetryLater`: `Retry-After`, or a 200 retry stream to event-stream clients. */
  readonly retryLater?: true;
}

/** A type whose status depends on the case: what each status means. */
interface SeveralStatuses {
  readonly statuses: { readonly [status: number]: string } & { readonly [status in FrameworkStatus]?: string };
}

/**
 * Every problem type the service answers with (RFC 9457 `type`), once: its status, when it is
 * sent, and whether it is a "retry later" refusal. Routes, the OpenAPI document and docs/api.md's
 * error table all read it, so a type cannot be misspelt, answered with another status or left
 * undocumented. A body's `title` is its status text (`problemTitle`), as in EventStreams' errors.
 */
export const PROBLEMS = {
  not_found: {
    statuses: {
      400: 'an unknown stream or alias in the stream list (`available_streams` lists the valid ones), or none: 400 rather than 404, as EventStreams answers it',
      404: 'no route for the path, or no such schema under `/v2/schema/`',
    },
  },
  invalid_timestamp: { status: 400, when: '`since` is not a time' },
  invalid_last_event_id: { status: 400, when: '`Last-Event-ID` is not a valid position array' },
  invalid_filter: {
    status: 400,
    when: "a filter or `fields` is malformed, over a limit (also its cost), or does not fit the stream's schema (`field`, `valid_fields`)",
  },
  too_many_streams: { status: 400, when: 'more than 64 stream names in the path' },
  bad_request: {
    statuses: {
      400: 'the URL is not valid (bad percent-encoding), the HTTP request is malformed, or a `/v2/schema/` path is not `<title>/<version>` or `<title>/latest`',
      '4xx': 'any other refusal by the HTTP framework or its static-file plugin, with the status it chose',
    },
  },
  topic_not_allowed: { status: 404, when: '`Last-Event-ID` names a topic outside the requested streams' },
  method_not_allowed: { status: 405, when: 'a write method (`Allow` lists what the route serves); the body is not read' },
  request_timeout: { status: 408, when: 'the request line and headers did not arrive in time' },
  uri_too_long: { status: 414, when: 'the stream list (one path segment) is longer than 4,096 characters' },
  too_many_connections: { status: 429, when: 'the client already holds `client_ip_connection_limit` streams', retryLater: true },
  request_too_large: { status: 431, when: "the request line (URL) and headers together exceed Node's 16 KiB" },
  overloaded: { status: 503, when: 'the process holds `connections.max_streams` streams, or is behind (event-loop lag, queued output)', retryLater: true },
  kafka_unavailable: { status: 503, when: 'Kafka is not reachable', retryLater: true },
  no_topics: { status: 503, when: 'none of the topics of the requested streams exist in Kafka', retryLater: true },
  sanitizer_not_ready: {
    status: 503,
    when: 'for `since` or `Last-Event-ID`: the suppression index is still being rebuilt from Kafka after a start',
    retryLater: true,
  },
  filter_budget_exhausted: {
    status: 503,
    when: 'a new filter does not fit in what is left of `filters.max_total_cost`, the filter work of the open streams',
    retryLater: true,
  },
  shutting_down: { status: 503, when: '`/_ready` while the service drains for shutdown (with `Retry-After`)' },
  internal_error: { statuses: { '5xx': 'an unexpected failure, logged with the request id; 500 unless the failing part names another 5xx' } },
} as const satisfies Record<string, OneStatus | SeveralStatuses>;

export type ProblemType = keyof typeof PROBLEMS;
type Definition<T extends ProblemType> = (typeof PROBLEMS)[T];

/** Types answered with one status: the catalogue's, never the caller's. */
type FixedProblemType = { [T in ProblemType]: Definition<T> extends OneStatus ? T : never }[ProblemType];
/** Types the route answers "retry later" (`sendRetryLater`). */
export type RetryLaterType = { [T in ProblemType]: Definition<T> extends { retryLater: true } ? T : never }[ProblemType];
type VariableProblemType = Exclude<ProblemType, FixedProblemType>;

type Digit = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
type AsNumber<S> = S extends `${infer N extends number}` ? N : never;
type StatusOf<K> = K extends '4xx' ? AsNumber<`4${Digit}${Digit}`> : K extends '5xx' ? AsNumber<`5${Digit}${Digit}`> : K;
type StatusesOf<T extends VariableProblemType> = StatusOf<keyof Definition<T>['statuses']>;

/**
 * What a route answers: a type of one status, or a type of several and which of its statuses
 * (only one the catalogue lists for it).
 */
export type ProblemAnswer = FixedProblemType | { [T in VariableProblemType]: { type: T; status: StatusesOf<T> } }[VariableProblemType];

/** One documented case: a type and one of its statuses (`4xx`/`5xx` for the framework's own). */
export interface ProblemCase {
  type: ProblemType;
  status: number | FrameworkStatus;
  when: string;
  retryLater: boolean;
}

/** The type and status of an answer. */
export function resolveAnswer(answer: ProblemAnswer): { type: ProblemType; status: number } {
  return typeof answer === 'string' ? { type: answer, status: PROBLEMS[answer].status } : answer;
}

/** Every documented case, in the catalogue's order: one per type and status. */
export function problemCases(): ProblemCase[] {
  return (Object.keys(PROBLEMS) as ProblemType[]).flatMap((type): ProblemCase[] => {
    const definition: OneStatus | SeveralStatuses = PROBLEMS[type];
    if ('status' in definition) return [{ type, status: definition.status, when: definition.when, retryLater: definition.retryLater === true }];
    return Object.entries(definition.statuses).map(([status, when]) => ({
      type,
      status: status === '4xx' || status === '5xx' ? status : Number(status),
      when,
      retryLater: false,
    }));
  });
}

/** The documented case an answer falls under. */
export function caseOf(answer: ProblemAnswer): ProblemCase {
  const { type, status } = resolveAnswer(answer);
  const cases = problemCases().filter((c) => c.type === type);
  // A status the catalogue does not list itself is one of the framework's (`4xx`, `5xx`).
  const found = cases.find((c) => c.status === status) ?? cases.find((c) => c.status === `${String(status).charAt(0)}xx`);
  if (found === undefined) throw new Error(`${type} is not documented with status ${status}`);
  return found;
}

/** A problem body's `title`: the status text, as EventStreams has it. */
export function problemTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

export function isClientError(status: number): status is StatusOf<'4xx'> {
  return Number.isInteger(status) && status >= 400 && status < 500;
}

export function isServerError(status: number): status is StatusOf<'5xx'> {
  return Number.isInteger(status) && status >= 500 && status < 600;
}
