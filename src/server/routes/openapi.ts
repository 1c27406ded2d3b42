// GET /v1/openapi.json: the OpenAPI 3.1 document of this API, generated from the contract the
// routes parse and answer through (src/api/openapi.ts). Public, as the routes it describes are
// no secret; built once.
import { openApiDocument } from '../../api/openapi.js';
import type { RouteModule } from '../context.js';

export const openApiRoutes: RouteModule = (app) => {
  let document: Record<string, unknown> | undefined;
  app.get('/v1/openapi.json', async () => (document ??= openApiDocument()));
};
