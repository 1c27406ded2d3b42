// The answer of each route as a JSON Schema, generated from the zod schemas of the contract
// (src/api/schemas.ts, src/api/routes.ts) without loading zod at run time: what the client checks
// answers against. `answersModule()` writes answers.generated.ts; src/api/answers.test.ts fails
// when the file is not what it would write (run it with UPDATE_API_ANSWERS=1 to rewrite it).
import { z } from 'zod';
import { ROUTES, isMedia } from './routes.js';

export function answerSchemas(): Array<[method: string, path: string, schema: unknown]> {
  const out: Array<[string, string, unknown]> = [];
  for (const route of ROUTES) {
    if (isMedia(route.answer)) continue;
    // The client accepts the 202 answer of a route that can hold a request as well.
    const answer = route.held ? z.union([route.answer, route.held]) : route.answer;
    const schema = z.toJSONSchema(answer, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
    delete schema.$schema;
    out.push([route.method, route.path, schema]);
  }
  return out;
}

export function answersModule(): string {
  return [
    '// Generated from src/api/schemas.ts by src/api/answers.ts: do not edit (UPDATE_API_ANSWERS=1 npx vitest run src/api/answers.test.ts).',
    '',
    '/** [method, path (Fastify form), JSON Schema of the success answer as JSON text] for every',
    ' *  JSON route. Text, parsed when a route is first called (answerSchemaOf in',
    ' *  src/client/client.ts): a CLI run calls one or two routes, and evaluating every schema as an',
    ' *  object literal cost the start-up more. */',
    'export const ANSWERS: ReadonlyArray<readonly [string, string, string]> = [',
    // One route a line: a change to one answer is a one-line diff.
    ...answerSchemas().map(([method, path, schema]) => `  ${JSON.stringify([method, path, JSON.stringify(schema)])},`),
    '];',
    '',
  ].join('\n');
}
