import fc from 'fast-check';

/** The part of JSON Schema the API's OpenAPI document uses. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
}

/** Values a field of this name should sometimes take so that a request gets past lookups (ids of fixtures). */
export type Hints = (name: string) => fc.Arbitrary<string> | undefined;

/** What breaks parsers and validators: wrong types, extremes, injection strings, odd Unicode, prototype keys. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    2 ** 53 + 1,
    -(2 ** 63),
    1e308,
    '',
    ' ',
    '\u0000',
    '\uD800',
    '\u202E\u0301',
    '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    'NaN',
    '-0',
    '1e999',
    '99999999999999999999999999',
    '__proto__',
    'constructor',
    '../../../../etc/passwd',
    "' or 1=1 --",
    '"; drop table matters; --',
    '<script>alert(1)</script>',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, literally
    '${7*7}{{7*7}}<%= 7*7 %>',
    '%00%2e%2e%2f',
    'P',
    'PT',
    'P1Y2M',
    'P99999999999D',
    '2024-02-30T25:61:00Z',
    '0000-00-00T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '24:00',
    'http://169.254.169.254/latest/meta-data/',
    'javascript:alert(1)',
    'x'.repeat(5000),
    '字'.repeat(3000),
    {},
    [],
    [null],
    JSON.parse('{"__proto__":{"polluted":true}}'),
    { constructor: { prototype: { polluted: true } } },
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
  // Nesting deep enough to trouble a recursive validator, shallow enough to stay under the body limit.
  fc.integer({ min: 50, max: 3000 }).map((n) => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`) as unknown),
);

const DURATIONS = ['PT30M', 'P1D', 'PT1H', 'P1W', 'PT0.5S', 'PT1S', 'P1DT2H', 'PT15M'];

function patternString(pattern: string, min: number, max: number): fc.Arbitrary<string> {
  if (pattern.includes('(?!') || pattern.includes('(?=')) {
    // fast-check cannot invert lookarounds; the durations they guard are few.
    if (pattern.startsWith('^P')) return fc.constantFrom(...DURATIONS);
    return fc.string({ minLength: min, maxLength: max });
  }
  const re = new RegExp(pattern);
  return fc.stringMatching(re).filter((s) => s.length >= min && s.length <= max);
}

function stringOf(schema: JsonSchema, name: string, hints: Hints): fc.Arbitrary<unknown> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 60, 60);
  let base: fc.Arbitrary<string>;
  if (schema.format === 'date-time')
    base = fc
      .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString());
  else if (schema.format === 'date')
    base = fc
      .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
  else if (schema.format === 'uri') base = fc.webUrl();
  else if (schema.format === 'email') base = fc.emailAddress();
  else if (schema.format === 'uuid') base = fc.uuid();
  else if (schema.pattern) base = patternString(schema.pattern, min, max);
  else base = fc.string({ minLength: min, maxLength: max });
  const hinted = hints(name);
  return hinted ? fc.oneof({ arbitrary: hinted, weight: 3 }, { arbitrary: base, weight: 1 }) : base;
}

/** Mostly values the schema accepts, with fixture ids where the field names one. */
export function valid(schema: JsonSchema, hints: Hints, name = '', depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => valid(s, hints, name, depth)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const value = ((): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'string':
        return stringOf(schema, name, hints);
      case 'integer':
        return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 100_000 });
      case 'number':
        return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array': {
        const items = schema.items ?? {};
        const minLength = schema.minItems ?? 0;
        const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? 4, 4));
        return depth > 4
          ? fc.constant([])
          : fc.array(valid(items, hints, name, depth + 1), { minLength, maxLength });
      }
      case 'object': {
        if (depth > 4) return fc.constant({});
        const props = schema.properties ?? {};
        const required = new Set(schema.required ?? []);
        const record = fc.record(
          Object.fromEntries(Object.entries(props).map(([k, s]) => [k, valid(s, hints, k, depth + 1)])),
          { requiredKeys: Object.keys(props).filter((k) => required.has(k)) },
        );
        if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          return fc
            .tuple(
              record,
              fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
            )
            .map(([r, extra]) => ({ ...extra, ...r }));
        }
        return record;
      }
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  })();
  return schema.nullable ? fc.option(value, { nil: null, freq: 8 }) : value;
}

type Path = (string | number)[];

function pathsOf(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (out.length > 200) return out;
  if (Array.isArray(value))
    value.forEach((v, i) => {
      out.push([...at, i]);
      pathsOf(v, [...at, i], out);
    });
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      out.push([...at, k]);
      pathsOf(v, [...at, k], out);
    }
  return out;
}

function edit(
  root: unknown,
  path: Path,
  change: (parent: Record<string | number, unknown>, key: string | number) => void,
) {
  let parent = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  change(parent, path.at(-1)!);
}

/** A value the schema accepts with one thing made wrong: a field replaced, dropped, or an unknown one added. */
export function mutated(schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      valid(schema, hints),
      fc.nat(),
      hostile,
      fc.constantFrom('set', 'drop', 'add'),
      fc.string({ maxLength: 12 }),
    )
    .map(([value, pick, bad, how, extraKey]) => {
      const copy = structuredClone(value);
      const paths = pathsOf(copy);
      if (paths.length === 0 || copy === null || typeof copy !== 'object') return bad;
      const path = paths[pick % paths.length]!;
      edit(copy, path, (parent, key) => {
        if (how === 'set') parent[key] = bad;
        else if (how === 'drop') {
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else delete parent[key];
        } else if (!Array.isArray(parent)) parent[extraKey || '_'] = bad;
        else parent.push(bad);
      });
      return copy;
    });
}

/** Bodies a JSON route gets: valid, nearly valid, anything at all, and bytes that are not JSON. */
export type Body =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; contentType: string }
  | { kind: 'raw'; text: string; contentType: string | null };

const MALFORMED_JSON = [
  '{',
  '{"a":',
  '[1,2',
  'nul',
  '\uFEFF{}',
  '{"a":1,"a":2}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":"\\ud800"}',
  '{"a":1}garbage',
  '',
  ' ',
  '"just a string"',
  '123',
  'true',
  'null',
];

export function jsonBody(schema: JsonSchema | undefined, hints: Hints): fc.Arbitrary<Body> {
  const value = schema
    ? fc.oneof(
        { arbitrary: valid(schema, hints), weight: 3 },
        { arbitrary: mutated(schema, hints), weight: 5 },
        { arbitrary: hostile, weight: 2 },
      )
    : fc.oneof(hostile, fc.jsonValue({ maxDepth: 3 }));
  return fc.oneof(
    {
      arbitrary: fc.record({
        kind: fc.constant('json' as const),
        value,
        contentType: fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'APPLICATION/JSON',
        ),
      }),
      weight: 8,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('raw' as const),
        text: fc.oneof(fc.constantFrom(...MALFORMED_JSON), fc.string({ unit: 'binary', maxLength: 200 })),
        contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', null),
      }),
      weight: 2,
    },
    { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
  );
}

/** Form posts as a browser sends them, field names known to the pages and unknown, values good and bad. */
export function formBody(fields: readonly string[], hints: Hints): fc.Arbitrary<string> {
  const textValue = (name: string) =>
    fc.oneof(
      hints(name) ?? fc.string({ maxLength: 20 }),
      fc.string({ maxLength: 60 }),
      hostile.map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))),
    );
  const entries = fc.array(
    fc.oneof(
      {
        arbitrary: fc.constantFrom(...fields).chain((f) => fc.tuple(fc.constant(f), textValue(f))),
        weight: 5,
      },
      { arbitrary: fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 })), weight: 1 },
    ),
    { maxLength: 12 },
  );
  return fc
    .record({
      entries,
      raw: fc.option(fc.constantFrom('%', '%zz', '&&=&', 'a[b][c]=1', '__proto__[x]=1'), { freq: 8 }),
    })
    .map(({ entries: list, raw }) => {
      const form = new URLSearchParams();
      for (const [k, v] of list) form.append(k, v);
      return raw ? `${form.toString()}&${raw}` : form.toString();
    });
}

/** A query string for the route's parameters: each left out, valid, hostile, or repeated, plus junk. */
export function queryString(
  params: { name: string; schema: JsonSchema; required?: boolean }[],
  hints: Hints,
): fc.Arbitrary<string> {
  const asText = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  const one = (p: { name: string; schema: JsonSchema }) =>
    fc.oneof(
      { arbitrary: fc.constant([] as string[]), weight: 2 },
      { arbitrary: valid(p.schema, hints, p.name).map((v) => [asText(v)]), weight: 4 },
      { arbitrary: hostile.map((v) => [asText(v)]), weight: 2 },
      { arbitrary: fc.array(fc.string({ maxLength: 10 }), { minLength: 2, maxLength: 3 }), weight: 1 },
    );
  return fc
    .record({
      values: fc.tuple(...params.map(one)),
      extra: fc.array(fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })), { maxLength: 2 }),
      raw: fc.option(fc.constantFrom('%', '%zz', '&&&', '=', '__proto__=1', 'a[b]=1', 'x'.repeat(3000)), {
        freq: 6,
      }),
    })
    .map(({ values, extra, raw }) => {
      const q = new URLSearchParams();
      params.forEach((p, i) => {
        for (const v of values[i] ?? []) q.append(p.name, v);
      });
      for (const [k, v] of extra) q.append(k, v);
      const text = [q.toString(), raw ?? ''].filter(Boolean).join('&');
      return text ? `?${text}` : '';
    });
}

/** Percent-encodes text, lone surrogates as U+FFFD (the raw bad bytes come from the constant list). */
const encode = (s: string) =>
  encodeURIComponent(
    s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'),
  );

/** A path parameter: a fixture's id, a valid-looking one, or something that should not be there. */
export function pathParam(schema: JsonSchema | undefined, pool: fc.Arbitrary<string> | undefined) {
  const asText = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  return fc
    .oneof(
      { arbitrary: pool ?? fc.string({ minLength: 1, maxLength: 20 }), weight: 5 },
      { arbitrary: valid(schema ?? { type: 'string' }, () => undefined).map(asText), weight: 2 },
      {
        arbitrary: hostile.map(asText).map((s) => encode(s || 'x')),
        weight: 2,
      },
      {
        arbitrary: fc.constantFrom(
          '..',
          '%2e%2e',
          '%2F',
          '%',
          '%zz',
          ' ',
          'a%00b',
          '%ED%A0%80',
          '%C0%AF',
          'x'.repeat(1200),
        ),
        weight: 1,
      },
    )
    .map((s) => (s.includes('%') ? s : encode(s)));
}
