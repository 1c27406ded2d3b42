// Midstate signatures (POST /v1/sign/:key/midstate) verified by real gpg: files around every
// block edge of SHA-256 and SHA-512, both key types; a tampered file and a wrong key are refused;
// the log records the file's own digest; refused requests log nothing.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResumableSha2, type Sha2Algorithm } from '../../src/sha2/resumable.js';
import { decodeEntry } from '../../src/tlog/entry.js';
import { Gpg } from '../helpers/gpg.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';

/** What a client sends: the state after the last full block, its length and the tail. */
function midstateOf(hash: Sha2Algorithm, data: Buffer): { hash: Sha2Algorithm; state: string; length: number; tail: string } {
  const { midstate, tail } = ResumableSha2.create(hash).update(data).export();
  return { hash, state: midstate.state.toString('base64'), length: midstate.length, tail: tail.toString('base64') };
}

const EDGES: Record<Sha2Algorithm, number[]> = {
  sha256: [1, 55, 56, 57, 63, 64, 65, 127, 128, 129, 191, 192, 193],
  sha512: [1, 111, 112, 113, 127, 128, 129, 255, 256, 257, 383, 384, 385],
};

describe('midstate signatures with gpg', () => {
  let t: TestServer;
  let gpg: Gpg;
  /** A keyring that holds only the foreign key. */
  let otherGpg: Gpg;

  beforeAll(async () => {
    requireTools('gpg');
    t = await startTestServer();
    gpg = new Gpg();
    otherGpg = new Gpg();
    for (const [name, algorithm] of [['ed', 'ed25519'], ['rsa', 'rsa4096'], ['other', 'ed25519']] as const) {
      const r = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name, algorithm, user_id: `Midstate ${name} <${name}@example.org>`, purposes: ['detached', 'sums'] } });
      expect(r.status, r.text).toBe(201);
      const pub = await api(t, 'GET', `/v1/keys/${name}/public`, { token: t.adminToken });
      (name === 'other' ? otherGpg : gpg).importKey(pub.text);
    }
  }, 120_000);

  afterAll(async () => {
    gpg?.close();
    otherGpg?.close();
    await t?.close();
  });

  for (const key of ['ed', 'rsa']) {
    for (const hash of ['sha256', 'sha512'] as const) {
      it(`${key}/${hash}: gpg verifies files at every block edge; one flipped bit or one byte more is refused`, async () => {
        for (const size of EDGES[hash]) {
          const data = randomBytes(size);
          const r = await api(t, 'POST', `/v1/sign/${key}/midstate?name=image-${size}.iso`, { token: t.adminToken, json: midstateOf(hash, data) });
          expect(r.status, r.text).toBe(200);
          expect(r.json.hash_algorithm).toBe(hash);
          expect(r.json.artifact).toEqual({ name: `image-${size}.iso`, [hash]: createHash(hash).update(data).digest('hex'), bytes: size });
          const signature = Buffer.from(r.json.signature, 'base64');
          const good = gpg.verifyDetached(signature, data);
          expect(good.ok, `${size} bytes: ${good.stderr}`).toBe(true);
          // gpg reports the hash it verified with: VALIDSIG … <pk algo> <hash algo> <sig class 00> …
          const validsig = good.statusLines.find((l) => l.startsWith('[GNUPG:] VALIDSIG '))!.split(' ');
          expect(validsig[9]).toBe(hash === 'sha256' ? '8' : '10');
          expect(validsig[10]).toBe('00');
          if (size === EDGES[hash][EDGES[hash].length - 1]) {
            const flipped = Buffer.from(data);
            flipped[size >> 1]! ^= 0x01;
            expect(gpg.verifyDetached(signature, flipped).ok).toBe(false);
            expect(gpg.verifyDetached(signature, Buffer.concat([data, Buffer.from([0])])).ok).toBe(false);
          }
        }
      });
    }
  }

  it('armored midstate signature verifies; a keyring without the signing key refuses it', async () => {
    const data = randomBytes(300_000);
    const r = await api(t, 'POST', '/v1/sign/rsa/midstate?armor=1', { token: t.adminToken, json: midstateOf('sha512', data) });
    expect(r.status, r.text).toBe(200);
    expect(r.json.armored).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    expect(gpg.verifyDetached(r.json.armored, data).ok).toBe(true);
    const foreign = otherGpg.verifyDetached(r.json.armored, data);
    expect(foreign.ok).toBe(false);
    expect(foreign.statusLines.some((l) => l.startsWith('[GNUPG:] NO_PUBKEY ') || l.startsWith('[GNUPG:] ERRSIG '))).toBe(true);
  });

  it('a signature by another key is refused by the keyring that trusts only ed and rsa', async () => {
    const data = randomBytes(5000);
    const r = await api(t, 'POST', '/v1/sign/other/midstate', { token: t.adminToken, json: midstateOf('sha512', data) });
    expect(r.status, r.text).toBe(200);
    expect(otherGpg.verifyDetached(Buffer.from(r.json.signature, 'base64'), data).ok).toBe(true);
    expect(gpg.verifyDetached(Buffer.from(r.json.signature, 'base64'), data).ok).toBe(false);
  });

  it('logs the midstate signature with the file digest in the signature hash before answering', async () => {
    const data = randomBytes(4096 + 17);
    const r = await api(t, 'POST', '/v1/sign/ed/midstate?name=logged.img&kind=detached&receipt=1', { token: t.adminToken, json: midstateOf('sha512', data) });
    expect(r.status, r.text).toBe(200);
    const index = r.json.log.index as number;
    const entries = await api(t, 'GET', `/v1/log/entries?start=${index}&end=${index + 1}`);
    expect(entries.status, entries.text).toBe(200);
    const entry = decodeEntry(Buffer.from(entries.json.entries[0], 'base64'));
    expect(entry.kind).toBe('signature');
    if (entry.kind !== 'signature') return;
    expect(entry.artifact).toEqual({ name: 'logged.img', digest_alg: 'sha512', digest_hex: createHash('sha512').update(data).digest('hex') });
    expect(entry.signature_sha256).toBe(createHash('sha256').update(Buffer.from(r.json.signature, 'base64')).digest('hex'));
  });
});
