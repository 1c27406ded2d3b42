// A small JSON Schema (draft 2020-12) checker for the keywords zod's z.toJSONSchema emits for the
// answer schemas: what the client checks answers with. The client does not load zod (the CLI's
// startup and `rpm sign` path stay light: test/e2e/cli-startup.test.ts); it checks against the
// JSON Schemas generated from the same zod schemas (answers.generated.ts, kept equal to them by
// src/api/answers.test.ts).

export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

export interface Issue {
  /** Where in the answer: property names and array indices. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const patterns = new Map<string, RegExp>();
function pattern(source: string): RegExp {
  let re = patterns.get(source);
  if (re === undefined) patterns.set(source, (re = new RegExp(source, 'u')));
  return re;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  if (type === 'integer') return typeof value === 'number' && Number.isInteger(value);
  return typeOf(value) === type;
}

/** The first place `value` breaks `schema`, or undefined when it fits. */
export function firstIssue(schema: JsonSchema, value: unknown, path: (string | number)[] = []): Issue | undefined {
  if (schema === true) return undefined;
  if (schema === false) return { path, message: 'not allowed' };
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub: JsonSchema) => firstIssue(sub, value, path) === undefined)) {
    return { path, message: 'matches none of the allowed forms' };
  }
  if (Array.isArray(s.oneOf) && s.oneOf.filter((sub: JsonSchema) => firstIssue(sub, value, path) === undefined).length !== 1) {
    return { path, message: 'does not match exactly one allowed form' };
  }
  if (Array.isArray(s.allOf)) {
    for (const sub of s.allOf as JsonSchema[]) {
      const issue = firstIssue(sub, value, path);
      if (issue) return issue;
    }
  }
  if ('const' in s && value !== s.const) return { path, message: 'not the expected value' };
  if (Array.isArray(s.enum) && !s.enum.includes(value)) return { path, message: 'not one of the allowed values' };
  if (s.type !== undefined) {
    const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
    if (!types.some((t) => hasType(value, t))) return { path, message: `expected ${types.join(' or ')}, got ${typeOf(value)}` };
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) return { path, message: 'too short' };
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) return { path, message: 'too long' };
    if (typeof s.pattern === 'string' && !pattern(s.pattern).test(value)) return { path, message: 'not of the expected form' };
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) return { path, message: `below ${s.minimum}` };
    if (typeof s.maximum === 'number' && value > s.maximum) return { path, message: `above ${s.maximum}` };
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) return { path, message: 'too few items' };
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) return { path, message: 'too many items' };
    if (s.items !== undefined) {
      for (let i = 0; i < value.length; i++) {
        const issue = firstIssue(s.items as JsonSchema, value[i], [...path, i]);
        if (issue) return issue;
      }
    }
  }
  if (typeOf(value) === 'object') {
    const record = value as Record<string, unknown>;
    for (const name of (s.required as string[] | undefined) ?? []) {
      if (!Object.hasOwn(record, name)) return { path: [...path, name], message: 'missing' };
    }
    const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
    for (const [k, v] of Object.entries(record)) {
      if (s.propertyNames !== undefined) {
        const issue = firstIssue(s.propertyNames as JsonSchema, k, [...path, k]);
        if (issue) return { path: issue.path, message: `name ${issue.message}` };
      }
      const sub = Object.hasOwn(properties, k) ? properties[k] : (s.additionalProperties as JsonSchema | undefined);
      if (sub === undefined) continue;
      const issue = firstIssue(sub, v, [...path, k]);
      if (issue) return issue;
    }
  }
  return undefined;
}
