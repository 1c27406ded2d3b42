// Midstate signing with a v6 key (docs/midstate.md "v6 keys"): the server issues the salt as a
// MAC'd, short-lived, single-use token; the client hashes salt ‖ file. A reused, forged, edited,
// expired or foreign token is refused (MIDSTATE_INVALID) and logged nowhere; a v6 key without a
// salt and a v4 key with one are refused; what is signed verifies, and the log has the file's
// digest.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dearmor, parseTransferablePublicKey, verifyDetached, type PublicKeyInfo } from '../../src/openpgp/index.js';
import { ResumableSha2 } from '../../src/sha2/resumable.js';
import { SaltIssuer, SALT_TTL_MS } from '../../src/sign/midstate-salt.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const FILE = Buffer.alloc(5 * 128 + 77, 9);

function request(salt: Buffer | null, token?: string): Record<string, unknown> {
  const plain = ResumableSha2.create('sha512').update(FILE).export();
  const body: Record<string, unknown> = { hash: 'sha512', state: plain.midstate.state.toString('base64'), length: plain.midstate.length, tail: plain.tail.toString('base64') };
  if (salt && token) {
    const salted = ResumableSha2.create('sha512').update(salt).update(FILE).export();
    Object.assign(body, { salt_token: token, salted_state: salted.midstate.state.toString('base64'), salted_length: salted.midstate.length, salted_tail: salted.tail.toString('base64') });
  }
  return body;
}

describe('v6 midstate with server-issued salts', () => {
  let t: TestServer;
  let cert: PublicKeyInfo;

  beforeAll(async () => {
    t = await startTestServer();
    for (const [name, profile] of [['v6', 'rfc9580'], ['v6b', 'rfc9580'], ['v4', 'rfc4880']] as const) {
      const r = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name, profile, user_id: `${name} <${name}@example.org>`, purposes: ['detached'] } });
      expect(r.status, r.text).toBe(201);
    }
    const pub = await api(t, 'GET', '/v1/keys/v6/public', { token: t.adminToken });
    cert = parseTransferablePublicKey(dearmor(pub.text).bytes).info;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  const salt = async (key = 'v6') => {
    const r = await api(t, 'POST', `/v1/sign/${key}/midstate/salt?hash=sha512`, { token: t.adminToken });
    expect(r.status, r.text).toBe(200);
    return { salt: Buffer.from(r.json.salt as string, 'base64'), token: r.json.token as string };
  };
  const sign = (json: unknown, key = 'v6') => api(t, 'POST', `/v1/sign/${key}/midstate?receipt=1`, { token: t.adminToken, json });
  const logSize = async () => (await api(t, 'GET', '/v1/log/checkpoint')).text.split('\n')[1];

  it('a salted midstate makes a v6 signature of the file; the log has the file\'s SHA-512', async () => {
    const issued = await salt();
    expect(issued.salt.length).toBe(32);
    const r = await sign(request(issued.salt, issued.token));
    expect(r.status, r.text).toBe(200);
    expect(r.json.artifact.sha512).toBe(createHash('sha512').update(FILE).digest('hex'));
    const sig = Buffer.from(r.json.signature as string, 'base64');
    expect(verifyDetached(FILE, sig, [cert]).ok).toBe(true);
    expect(verifyDetached(Buffer.concat([FILE, Buffer.from([0])]), sig, [cert]).ok).toBe(false);
  });

  it('refuses a reused, edited, forged, foreign-key or mismatched salt; none is logged', async () => {
    const issued = await salt();
    expect((await sign(request(issued.salt, issued.token))).status).toBe(200);
    const before = await logSize();
    // Reused.
    const again = await sign(request(issued.salt, issued.token));
    expect([again.status, again.json.error.code]).toEqual([400, 'MIDSTATE_INVALID']);
    // Edited: one character of the payload changed.
    const fresh = await salt();
    const [payload, mac] = fresh.token.split('.') as [string, string];
    const edited = `${payload.slice(0, 10)}${payload[10] === 'A' ? 'B' : 'A'}${payload.slice(11)}.${mac}`;
    expect((await sign(request(fresh.salt, edited))).json.error.code).toBe('MIDSTATE_INVALID');
    // Forged: a token MAC'd with another key.
    const forged = new SaltIssuer(Buffer.alloc(32, 1)).issue('v6', 'sha512');
    expect((await sign(request(forged.salt, forged.token))).json.error.code).toBe('MIDSTATE_INVALID');
    // Issued for another key.
    const other = await salt('v6b');
    expect((await sign(request(other.salt, other.token))).json.error.code).toBe('MIDSTATE_INVALID');
    // The state hashed with a different salt than the token's: the signature would not verify,
    // so the server's check is the verifier's; the length check catches a missing salt.
    const noSalt = { ...request(null), salt_token: fresh.token, salted_state: request(null).state, salted_length: request(null).length, salted_tail: request(null).tail };
    expect((await sign(noSalt)).json.error.code).toBe('MIDSTATE_INVALID');
    // v6 without a salt; v4 with one.
    expect((await sign(request(null))).json.error.code).toBe('KEY_PROFILE_UNSUPPORTED');
    const v4salt = await api(t, 'POST', '/v1/sign/v4/midstate/salt', { token: t.adminToken });
    expect(v4salt.json.error.code).toBe('BAD_REQUEST');
    expect(await logSize()).toBe(before);
  });

  it('an expired token is refused', () => {
    let now = 1_000_000;
    const issuer = new SaltIssuer(Buffer.alloc(32, 2), () => now);
    const issued = issuer.issue('k', 'sha512');
    now += SALT_TTL_MS + 1;
    expect(() => issuer.redeem(issued.token, 'k', 'sha512')).toThrow(expect.objectContaining({ code: 'MIDSTATE_INVALID' }));
    now -= 2;
    expect(issuer.redeem(issued.token, 'k', 'sha512').equals(issued.salt)).toBe(true);
  });
});
