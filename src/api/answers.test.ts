// answers.generated.ts is what the client checks answers with (it does not load zod): it must be
// exactly the JSON Schemas of the contract's zod schemas, or client and server would disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { answersModule } from './answers.js';
import { ANSWERS } from './answers.generated.js';
import { firstIssue, type JsonSchema } from './check.js';
import { keyInfo, rpmAnswer, signAnswer } from './schemas.js';

const FILE = new URL('./answers.generated.ts', import.meta.url);

describe('answers.generated.ts', () => {
  it('is generated from the zod schemas of the contract', () => {
    const want = answersModule();
    if (process.env.UPDATE_API_ANSWERS === '1') writeFileSync(FILE, want);
    expect(readFileSync(FILE, 'utf8')).toBe(want);
  });

  it('gives the same verdict as zod on good, extended and broken answers', () => {
    const schemaOf = (method: string, path: string) => JSON.parse(ANSWERS.find(([m, p]) => m === method && p === path)![2]) as JsonSchema;
    const key = { name: 'k', fingerprint: 'F', key_id: 'K', algorithm: 'ed25519', user_id: 'u', created: 'c', state: 'active', origin: 'generated' };
    const sign = { key: 'k', fingerprint: 'F', algorithm: 'ed25519', hash_algorithm: 'sha256', created: 1, kind: 'detached', artifact: { name: 'a', sha256: 'ab', bytes: 3 }, signature: 'AA==', log: { index: 1, origin: 'o' } };
    const rpm = { key: 'k', created: 1, signed: 1, failed: 1, signatures: [{ packet: 'AA==', log: { index: 2, origin: 'o' }, log_index: '2' }, { error: { code: 'RPM_MALFORMED', message: 'm' }, payload_digest: null }] };
    const cases: Array<[string, string, { safeParse(v: unknown): { success: boolean } }, unknown]> = [
      ['GET', '/v1/keys/:name', keyInfo, key],
      ['GET', '/v1/keys/:name', keyInfo, { ...key, future: [1] }],
      ['GET', '/v1/keys/:name', keyInfo, { ...key, algorithm: 'dsa' }],
      ['GET', '/v1/keys/:name', keyInfo, { ...key, purposes: 'all' }],
      ['GET', '/v1/keys/:name', keyInfo, { ...key, name: undefined }],
      ['POST', '/v1/sign/:key', signAnswer, sign],
      ['POST', '/v1/sign/:key', signAnswer, { ...sign, signature: 1 }],
      ['POST', '/v1/sign/:key', signAnswer, { ...sign, artifact: { name: 'a', bytes: -1 } }],
      ['POST', '/v1/sign/:key', signAnswer, { ...sign, log: { index: 1.5, origin: 'o' } }],
      ['POST', '/v1/sign/:key/rpm', rpmAnswer, rpm],
      ['POST', '/v1/sign/:key/rpm', rpmAnswer, { ...rpm, signatures: [{ log_index: 'seven' }] }],
      ['POST', '/v1/sign/:key/rpm', rpmAnswer, { ...rpm, signatures: [{ log_index: 7 }] }],
      ['POST', '/v1/sign/:key/rpm', rpmAnswer, { ...rpm, signed: '1' }],
      ['POST', '/v1/sign/:key/rpm', rpmAnswer, []],
    ];
    for (const [method, path, zod, value] of cases) {
      const parsed = JSON.parse(JSON.stringify(value)) as unknown;
      expect(firstIssue(schemaOf(method, path), parsed) === undefined, JSON.stringify(value)).toBe(zod.safeParse(parsed).success);
    }
  });
});
