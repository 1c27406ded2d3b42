// The server side of the API contract (src/api/routes.ts): every route Fastify registers must be
// in the contract table, and every JSON answer is checked against its schema as it is serialised.
// An answer outside the contract is a server bug: it fails as INTERNAL (logged) instead of
// reaching a client that would refuse it (BAD_RESPONSE) or, worse, misread it.
//
// Cost on the signing path: one zod parse of a dozen-field object per answer, inside Fastify's
// per-route serializer (only success answers with a JSON schema pay it; errors and text are
// serialised as before).
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { findRoute, isMedia } from '../api/routes.js';
import { SignetError } from '../errors.js';

/** What Fastify registered on each app (HEAD included), as onRoute saw it: GET /v1/openapi.json
 *  must describe exactly these (test/e2e/api-contract.test.ts). */
const registered = new WeakMap<FastifyInstance, Array<{ method: string; url: string }>>();

export function registeredRoutes(app: FastifyInstance): ReadonlyArray<{ method: string; url: string }> {
  return registered.get(app) ?? [];
}

export function installContract(app: FastifyInstance): void {
  const routes: Array<{ method: string; url: string }> = [];
  registered.set(app, routes);
  app.setSerializerCompiler(({ schema, url, method }) => {
    const zod = schema as z.ZodType;
    return (data: unknown) => {
      const checked = zod.safeParse(data);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new SignetError('INTERNAL', `the answer of ${method} ${url} breaks the API contract at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
      }
      return JSON.stringify(data);
    };
  });
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      routes.push({ method, url: route.url });
      // Fastify adds HEAD for every GET itself.
      if (method === 'HEAD') continue;
      const contract = findRoute(method, route.url);
      if (contract === undefined) throw new Error(`route ${method} ${route.url} is not in the API contract (src/api/routes.ts)`);
      if (isMedia(contract.answer)) continue;
      route.schema = {
        ...route.schema,
        response: { ...(route.schema?.response as object | undefined), [contract.status]: contract.answer, ...(contract.held ? { 202: contract.held } : {}) },
      };
    }
  });
}
