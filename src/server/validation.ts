// Input schemas shared by routes, and the one function that turns a zod failure into a stable
// error code naming the failing field.
import { z } from 'zod';
import { SignetError } from '../errors.js';
import { ARTIFACT_NAME_MAX, NAME_PATTERN, nameRule } from '../names.js';

export const flag = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');

/** C0 controls and DEL: never valid in names, user IDs or anything echoed into logs. */
export function hasControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export const artifactName = z
  .string()
  .min(1)
  .max(ARTIFACT_NAME_MAX)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= ARTIFACT_NAME_MAX, `at most ${ARTIFACT_NAME_MAX} bytes (UTF-8)`)
  .refine((s) => !hasControlCharacters(s), 'control characters are not allowed');

export const keyName = z.string().regex(NAME_PATTERN, nameRule('key'));

export const keyParams = z.object({ key: keyName }).strict();
export const nameParams = z.object({ name: keyName }).strict();

export function parse<T>(schema: z.ZodType<T>, value: unknown, code: 'QUERY_INVALID' | 'BODY_INVALID' | 'BAD_REQUEST'): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const what = issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
  throw new SignetError(code, `${where}${what}`);
}
