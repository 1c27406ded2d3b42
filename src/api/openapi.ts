// The OpenAPI 3.1 document of the HTTP API (served at GET /v1/openapi.json), generated from the
// same zod schemas the server and client use (src/api/schemas.ts, src/api/routes.ts) with zod's
// own JSON Schema output: OpenAPI 3.1 schemas are JSON Schema draft 2020-12
// (https://spec.openapis.org/oas/v3.1.0#schema-object), so no translation is needed.
import { z } from 'zod';
import { ROUTES, isMedia, type RouteContract } from './routes.js';
import * as schemas from './schemas.js';

type Json = Record<string, unknown>;

/** Each exported schema's name, for components.schemas. */
const NAMES = new Map<unknown, string>(Object.entries(schemas).filter(([, v]) => v instanceof z.ZodType).map(([k, v]) => [v, k]));

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  // Refinements (byte lengths, control characters) cannot be said in JSON Schema: the server
  // checks them; the document states the shape and the bounds it can.
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

/** `/v1/keys/:name` → `/v1/keys/{name}`; Fastify's `*` (the rest of the path) → `{path}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

export function openApiDocument(): Json {
  const components: Record<string, Json> = {};
  const ref = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const name = NAMES.get(schema);
    if (name === undefined) return jsonSchema(schema, io);
    components[name] ??= jsonSchema(schema, io);
    return { $ref: `#/components/schemas/${name}` };
  };
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    const path = openApiPath(route.path);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route, ref);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'signet',
      version: '1',
      description: 'Release-signing service: keys never leave the server, every request is authorised by policy, every signature is recorded in a transparency log. Errors are {"error": {"code", "message"}} with a stable code (README "HTTP API").',
    },
    paths,
    components: {
      schemas: { Error: jsonSchema(schemas.errorAnswer, 'output'), ...components },
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'A signet token (X-Signet-Token is accepted too)' } },
    },
    security: [{ token: [] }],
  };
}

function operation(route: RouteContract, ref: (schema: z.ZodType, io: 'input' | 'output') => Json): Json {
  const parameters = [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')];
  if (route.path.endsWith('*')) parameters.push({ name: 'path', in: 'path', required: true, schema: { type: 'string' } });
  const answer = route.answer;
  const content = isMedia(answer)
    ? Object.fromEntries(answer.media.map((m) => [m, { schema: { type: 'string' } }]))
    : { 'application/json': { schema: ref(answer, 'output') } };
  const op: Json = {
    operationId: `${route.method.toLowerCase()}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ? c.toUpperCase() : ''))}`,
    summary: route.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    responses: {
      [String(route.status)]: { description: isMedia(answer) ? answer.description : 'success', content },
      ...(route.held ? { '202': { description: 'held for approvals (docs/approvals.md): nothing signed yet', content: { 'application/json': { schema: ref(route.held, 'output') } } } } : {}),
      default: { description: 'refusal or failure', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
    ...(route.public ? { security: [] } : {}),
  };
  if (route.body === 'binary') {
    op.requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } };
  } else if (route.body !== undefined) {
    op.requestBody = { required: true, content: { 'application/json': { schema: ref(route.body, 'input') } } };
  }
  return op;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (schema === undefined) return [];
  const js = jsonSchema(schema, 'input');
  const properties = (js.properties ?? {}) as Record<string, Json>;
  const required = new Set((js.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, s]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: s }));
}
