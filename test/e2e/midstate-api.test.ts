// POST /v1/sign/:key/midstate refuses every malformed state, length, tail and hash with a stable
// code, accepts no digest in any form (invariant 3), and logs nothing it refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResumableSha2 } from '../../src/sha2/resumable.js';
import { decodeEntry } from '../../src/tlog/entry.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const MAX_ARTIFACT = 1024 * 1024;

const iv512 = () => ResumableSha2.create('sha512').export().midstate.state;
const iv256 = () => ResumableSha2.create('sha256').export().midstate.state;

/** A valid request for a 2-block + 5-byte file. */
function valid(hash: 'sha256' | 'sha512' = 'sha512'): { hash: string; state: string; length: number; tail: string } {
  const block = hash === 'sha512' ? 128 : 64;
  const { midstate, tail } = ResumableSha2.create(hash).update(Buffer.alloc(2 * block + 5, 7)).export();
  return { hash, state: midstate.state.toString('base64'), length: midstate.length, tail: tail.toString('base64') };
}

describe('POST /v1/sign/:key/midstate input', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ limits: { maxArtifactBytes: MAX_ARTIFACT } });
    for (const [name, algorithm] of [['ed', 'ed25519'], ['rsa', 'rsa4096']] as const) {
      const r = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name, algorithm, user_id: `${name} <${name}@example.org>`, purposes: ['detached', 'sums'] } });
      expect(r.status, r.text).toBe(201);
    }
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  const sign = (json: unknown, query = '', key = 'ed', token = t.adminToken) => api(t, 'POST', `/v1/sign/${key}/midstate${query}`, { token, json });

  async function logIndexAfterGoodRequest(): Promise<number> {
    const r = await sign(valid(), '?receipt=1');
    expect(r.status, r.text).toBe(200);
    return r.json.log.index as number;
  }

  it('accepts both hashes for both key types with the content route’s response shape', async () => {
    for (const key of ['ed', 'rsa']) {
      for (const hash of ['sha256', 'sha512'] as const) {
        const r = await sign(valid(hash), '?name=disk.img', key);
        expect(r.status, r.text).toBe(200);
        expect(Object.keys(r.json).sort()).toEqual(['algorithm', 'artifact', 'created', 'fingerprint', 'hash_algorithm', 'key', 'kind', 'log', 'signature']);
        expect(r.json.kind).toBe('detached');
        expect(r.json.artifact.bytes).toBe(2 * (hash === 'sha512' ? 128 : 64) + 5);
      }
    }
  });

  it('refuses malformed requests with stable codes and logs none of them', async () => {
    const before = await logIndexAfterGoodRequest();
    const b64 = (n: number, fill = 1) => Buffer.alloc(n, fill).toString('base64');
    const cases: Array<[string, unknown, number, string, string?]> = [
      // hash
      ['sha1', { ...valid(), hash: 'sha1' }, 400, 'ALGORITHM_UNSUPPORTED'],
      ['md5', { ...valid(), hash: 'md5' }, 400, 'ALGORITHM_UNSUPPORTED'],
      ['sha384', { ...valid(), hash: 'sha384' }, 400, 'ALGORITHM_UNSUPPORTED'],
      ['upper-case hash', { ...valid(), hash: 'SHA512' }, 400, 'ALGORITHM_UNSUPPORTED'],
      ['hash not a string', { ...valid(), hash: 10 }, 400, 'BODY_INVALID'],
      // state
      ['state of 63 bytes', { ...valid(), state: b64(63) }, 400, 'MIDSTATE_INVALID'],
      ['state of 65 bytes', { ...valid(), state: b64(65) }, 400, 'MIDSTATE_INVALID'],
      ['SHA-256-sized state for SHA-512', { ...valid(), state: b64(32) }, 400, 'MIDSTATE_INVALID'],
      ['SHA-512-sized state for SHA-256', { ...valid('sha256'), state: b64(64) }, 400, 'MIDSTATE_INVALID'],
      ['empty state', { ...valid(), state: '' }, 400, 'MIDSTATE_INVALID'],
      ['state not base64', { ...valid(), state: '!'.repeat(88) }, 400, 'MIDSTATE_INVALID'],
      ['state in base64url', { ...valid(), state: Buffer.alloc(64, 0xfb).toString('base64url') }, 400, 'MIDSTATE_INVALID'],
      ['state with white space', { ...valid(), state: ` ${valid().state}` }, 400, 'MIDSTATE_INVALID'],
      ['state without padding', { ...valid(), state: b64(64).replace(/=+$/, '') }, 400, 'MIDSTATE_INVALID'],
      ['state far too long', { ...valid(), state: b64(1000) }, 400, 'BODY_INVALID'],
      ['non-initial state at length 0', { ...valid(), length: 0 }, 400, 'MIDSTATE_INVALID'],
      // length
      ['length 1', { ...valid(), length: 1 }, 400, 'MIDSTATE_INVALID'],
      ['length one byte short of a block', { ...valid(), length: 255 }, 400, 'MIDSTATE_INVALID'],
      ['length one byte past a block', { ...valid(), length: 257 }, 400, 'MIDSTATE_INVALID'],
      ['SHA-256 block multiple for SHA-512', { ...valid(), length: 64 }, 400, 'MIDSTATE_INVALID'],
      ['negative length', { ...valid(), length: -128 }, 400, 'MIDSTATE_INVALID'],
      ['fractional length', { ...valid(), length: 256.5 }, 400, 'MIDSTATE_INVALID'],
      ['length beyond 2^53', { ...valid(), length: 2 ** 60 }, 400, 'MIDSTATE_INVALID'],
      ['length as a string', { ...valid(), length: '256' }, 400, 'BODY_INVALID'],
      ['length over the artifact limit', { ...valid(), length: 2 * MAX_ARTIFACT }, 413, 'BODY_TOO_LARGE'],
      // tail
      ['tail of a whole SHA-512 block', { ...valid(), tail: b64(128) }, 400, 'MIDSTATE_INVALID'],
      ['tail of a whole SHA-256 block', { ...valid('sha256'), tail: b64(64) }, 400, 'MIDSTATE_INVALID'],
      ['tail not base64', { ...valid(), tail: 'a%b=' }, 400, 'MIDSTATE_INVALID'],
      ['empty file', { hash: 'sha512', state: iv512().toString('base64'), length: 0, tail: '' }, 400, 'BODY_EMPTY'],
      // shape
      ['a digest field (invariant 3)', { ...valid(), digest: b64(64) }, 400, 'BODY_INVALID'],
      ['missing tail', { hash: 'sha512', state: valid().state, length: 256 }, 400, 'BODY_INVALID'],
      ['an array', [valid()], 400, 'BODY_INVALID'],
    ];
    for (const [what, body, status, code] of cases) {
      const r = await sign(body);
      expect([what, r.status, r.json?.error?.code]).toEqual([what, status, code]);
    }
    // Empty file with the SHA-256 H(0) too.
    expect((await sign({ hash: 'sha256', state: iv256().toString('base64'), length: 0, tail: '' })).json.error.code).toBe('BODY_EMPTY');

    const query: Array<[string, string]> = [
      ['?kind=rpm', 'QUERY_INVALID'],
      ['?kind=clearsign', 'QUERY_INVALID'],
      ['?clear=1', 'QUERY_INVALID'],
      ['?hash=sha512', 'QUERY_INVALID'],
      ['?name=a%0Ab', 'QUERY_INVALID'],
    ];
    for (const [qs, code] of query) expect([qs, (await sign(valid(), qs)).json.error.code]).toEqual([qs, code]);

    expect((await sign(valid(), '', 'nokey')).json.error.code).toBe('KEY_NOT_FOUND');
    expect((await api(t, 'POST', '/v1/sign/ed/midstate', { json: valid() })).json.error.code).toBe('TOKEN_MISSING');
    expect((await sign(valid(), '', 'ed', 'sgn.not-a-token')).json.error.code).toBe('TOKEN_INVALID');
    const octets = await api(t, 'POST', '/v1/sign/ed/midstate', { token: t.adminToken, body: Buffer.from(JSON.stringify(valid())) });
    expect(octets.json.error.code).toBe('BODY_INVALID');
    const huge = await api(t, 'POST', '/v1/sign/ed/midstate', { token: t.adminToken, json: { ...valid(), pad: 'x'.repeat(5000) } });
    expect([huge.status, huge.json.error.code]).toEqual([413, 'BODY_TOO_LARGE']);
    // There is no route that signs a client-supplied digest.
    for (const path of ['/v1/sign/ed/digest', '/v1/sign/ed/hash', '/v1/sign/ed/raw']) {
      expect((await api(t, 'POST', path, { token: t.adminToken, json: { digest: Buffer.alloc(64).toString('base64') } })).status).toBe(404);
    }

    expect(await logIndexAfterGoodRequest()).toBe(before + 1);
  });

  it('needs a policy that grants mode midstate (content is the default), for the kinds it names', async () => {
    const policy = async (name: string, text: string): Promise<string> => {
      const w = await api(t, 'PUT', `/v1/sys/policies/${name}`, { token: t.adminToken, json: { policy: text } });
      expect(w.status, w.text).toBe(200);
      const r = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, json: { policies: [name], ttl: '10m' } });
      expect(r.status, r.text).toBe(201);
      return r.json.token as string;
    };
    const contentOnly = await policy('content-only', 'rules: [{keys: [ed], kinds: [detached]}]');
    const midstate = await policy('midstate-iso', "rules: [{keys: [ed], kinds: [detached], names: ['*.iso'], mode: [midstate]}]");

    const denied = await sign(valid(), '?name=big.iso', 'ed', contentOnly);
    expect([denied.status, denied.json.error.code]).toEqual([403, 'POLICY_DENIED']);
    // The content route still works for that token: the grant is per mode.
    const content = await api(t, 'POST', '/v1/sign/ed?name=big.iso', { token: contentOnly, body: Buffer.from('bytes') });
    expect(content.status, content.text).toBe(200);

    const allowed = await sign(valid(), '?name=big.iso&receipt=1', 'ed', midstate);
    expect(allowed.status, allowed.text).toBe(200);
    // The log entry names the rule that allowed it, as for content signatures.
    const entries = await api(t, 'GET', `/v1/log/entries?start=${allowed.json.log.index}&end=${allowed.json.log.index + 1}`);
    expect(decodeEntry(Buffer.from(entries.json.entries[0], 'base64'))).toMatchObject({ rule: 'midstate-iso#0', artifact: { name: 'big.iso', digest_alg: 'sha512' } });
    expect((await sign(valid(), '?name=big.img', 'ed', midstate)).json.error.code).toBe('POLICY_DENIED');
    expect((await sign(valid(), '?name=big.iso&kind=sums', 'ed', midstate)).json.error.code).toBe('POLICY_DENIED');
    expect((await sign(valid(), '?name=big.iso', 'rsa', midstate)).json.error.code).toBe('POLICY_DENIED');
    // A midstate-only grant does not open the content route.
    expect((await api(t, 'POST', '/v1/sign/ed?name=big.iso', { token: midstate, body: Buffer.from('bytes') })).json.error.code).toBe('POLICY_DENIED');
  });
});
