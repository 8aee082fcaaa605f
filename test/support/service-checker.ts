/**
 * The checks service-runner's spec-driven monitor (service-checker) and EventStreams' own
 * `test/features/app/spec.js` make from a served OpenAPI document: every operation without
 * `x-monitor: false` is requested as each of its `x-amples` says (path `params`, `query`,
 * `headers`; redirects not followed) and its answer compared with the example's `response`:
 * the status, each header, each body field. An expected string `/…/` is a regular expression,
 * any other string matches a value that starts with it; an expected array of one item applies it
 * to every item. Written from those semantics, for this project's tests.
 */

export interface Example {
  title: string;
  request?: { params?: Record<string, string>; query?: Record<string, string>; headers?: Record<string, string> };
  response?: { status?: number; headers?: Record<string, string>; body?: unknown };
}

export interface Operation {
  'x-monitor'?: boolean;
  'x-amples'?: Example[];
}

export interface CheckCase {
  path: string;
  method: string;
  title: string;
  url: string;
  example: Example;
}

/** Every request a monitor makes from the document; `unmonitored` are the operations it leaves alone. */
export function monitorCases(baseUrl: string, doc: { paths: Record<string, Record<string, Operation>> }): { cases: CheckCase[]; unmonitored: string[]; withoutAmples: string[] } {
  const cases: CheckCase[] = [];
  const unmonitored: string[] = [];
  const withoutAmples: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (operation['x-monitor'] === false) {
        unmonitored.push(`${method.toUpperCase()} ${path}`);
        continue;
      }
      // A monitor requests an operation without examples as it is, and expects a 200.
      const examples = operation['x-amples'] ?? [];
      if (examples.length === 0) withoutAmples.push(`${method.toUpperCase()} ${path}`);
      for (const example of examples.length > 0 ? examples : [{ title: path }]) {
        cases.push({ path, method, title: example.title, url: exampleUrl(baseUrl, path, example), example });
      }
    }
  }
  return { cases, unmonitored, withoutAmples };
}

function exampleUrl(baseUrl: string, path: string, example: Example): string {
  const params = example.request?.params ?? {};
  const expanded = path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${path} (${example.title}): no value for parameter ${name}`);
    return value.split('/').map(encodeURIComponent).join('/');
  });
  const query = new URLSearchParams(example.request?.query ?? {}).toString();
  return `${baseUrl}${expanded}${query === '' ? '' : `?${query}`}`;
}

/** What differs between an answer and the example's expected response (empty when it matches). */
export function mismatches(example: Example, status: number, headers: Headers, body: string): string[] {
  const expected = example.response ?? {};
  const problems: string[] = [];
  if (status !== (expected.status ?? 200)) problems.push(`status ${status}, expected ${expected.status ?? 200}`);
  for (const [name, value] of Object.entries(expected.headers ?? {})) {
    const actual = headers.get(name);
    if (actual === null) problems.push(`no ${name} header`);
    else if (!matches(actual, value)) problems.push(`${name}: ${actual}, expected ${value}`);
  }
  if (expected.body !== undefined) {
    let parsed: unknown = body;
    if (typeof expected.body !== 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        problems.push('the body is not JSON');
        return problems;
      }
    }
    compare(parsed, expected.body, 'body', problems);
  }
  return problems;
}

function compare(actual: unknown, expected: unknown, where: string, problems: string[]): void {
  if (expected === null || expected === undefined) return;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return void problems.push(`${where} is not an array`);
    if (expected.length === 1) {
      if (actual.length === 0) problems.push(`${where} is empty`);
      actual.forEach((item, i) => compare(item, expected[0], `${where}[${i}]`, problems));
    } else if (expected.length !== actual.length) problems.push(`${where} has ${actual.length} items, expected ${expected.length}`);
    else expected.forEach((item, i) => compare(actual[i], item, `${where}[${i}]`, problems));
    return;
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null) return void problems.push(`${where} is not an object`);
    for (const [key, value] of Object.entries(expected)) {
      if (!(key in actual)) problems.push(`${where}.${key} is missing`);
      else compare((actual as Record<string, unknown>)[key], value, `${where}.${key}`, problems);
    }
    return;
  }
  const text = typeof actual === 'string' ? actual : JSON.stringify(actual);
  if (!matches(text, String(expected))) problems.push(`${where}: ${text}, expected ${String(expected)}`);
}

function matches(actual: string, expected: string): boolean {
  if (expected.length > 1 && expected.startsWith('/') && expected.endsWith('/')) return new RegExp(expected.slice(1, -1)).test(actual);
  return actual.startsWith(expected);
}
