// The one function that turns a zod failure into a stable error code naming the failing field.
// The schemas themselves are the API contract (src/api/schemas.ts); re-exported for the routes.
import type { z } from 'zod';
import { SignetError } from '../errors.js';

export { artifactName, flag, hasControlCharacters, keyName, keyParams, nameParams } from '../api/schemas.js';

export function parse<T>(schema: z.ZodType<T>, value: unknown, code: 'QUERY_INVALID' | 'BODY_INVALID' | 'BAD_REQUEST'): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const what = issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
  throw new SignetError(code, `${where}${what}`);
}
