// Keys of the rfc9580 profile in the key service: stored and read back (composite keys in their
// own sealed encoding), the profile read from the fingerprint, and the consumer-policy check on
// every new key (a self-signature current verifiers refuse is refused at import).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../secret.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { KeyService } from './key-service.js';
import { recordProfile } from './profile.js';
import { encodePacket, readPackets } from '../openpgp/packet.js';
import { encodeMpi } from '../openpgp/reader.js';
import { generateKey, parseTransferablePublicKey, signDetachedWith, verifyDetached, type KeyAlgorithm } from '../openpgp/index.js';
import { keyHashPrefix } from '../openpgp/public-key.js';
import { subpacket } from '../openpgp/signature.js';
import { userIdHashPrefix } from '../openpgp/key.js';
import { decodeSigningKey, encodeSigningKey } from './secret-encoding.js';

describe('rfc9580 keys in the key service', () => {
  let dir: string;
  let store: SqliteStore;
  let keys: KeyService;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-v6keys-'));
    store = SqliteStore.open(join(dir, 'signet.db'));
    await store.migrate();
    keys = new KeyService(store, new Secret(randomBytes(32)));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const algorithm of ['ed25519', 'ed448', 'mldsa65-ed25519', 'mldsa87-ed448'] as KeyAlgorithm[]) {
    it(`${algorithm}: created, stored sealed, read back as the same v6 key; signatures verify with the stored certificate`, async () => {
      const record = await keys.create(`k-${algorithm}`, { algorithm, userId: 'k <k@example.org>', profile: 'rfc9580' });
      expect(record.fingerprint).toMatch(/^[0-9A-F]{64}$/);
      expect(recordProfile(record)).toBe('rfc9580');
      const signer = await keys.signer(record.name);
      expect(signer.info.version).toBe(6);
      expect(signer.info.fingerprint.toString('hex').toUpperCase()).toBe(record.fingerprint);
      const cert = parseTransferablePublicKey(record.publicKey).info;
      const data = randomBytes(100);
      const sig = await signDetachedWith(data, signer.signDigest, { type: 0, hashAlgorithm: 'sha512', creationTime: 1_760_000_000, signer: signer.info });
      expect(verifyDetached(data, sig, [cert]).ok).toBe(true);
    });
  }

  it('a v4 key stays v4 (the default profile)', async () => {
    const record = await keys.create('k4', { algorithm: 'ed25519', userId: 'k <k@example.org>' });
    expect(record.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(recordProfile(record)).toBe('rfc4880');
  });

  it('a composite key survives its stored encoding; a truncated one is refused', async () => {
    const key = await generateKey({ algorithm: 'mldsa65-ed25519', userId: 'pq <pq@example.org>', profile: 'rfc9580' });
    const bytes = encodeSigningKey(key.privateKey);
    const back = decodeSigningKey(bytes);
    expect('kind' in back && Buffer.from(back.mldsaPublicKey).equals(Buffer.from((key.privateKey as { mldsaPublicKey: Uint8Array }).mldsaPublicKey))).toBe(true);
    expect(() => decodeSigningKey(bytes.subarray(0, bytes.length - 1))).toThrow(expect.objectContaining({ code: 'KEY_DECRYPT_FAILED' }));
  });

  it('refuses at import a key whose self-signature uses SHA-224 (apt\'s Sequoia policy refuses it): POLICY_REJECTED', async () => {
    const key = await generateKey({ algorithm: 'ed25519', userId: 'old <old@example.org>' });
    const [keyPacket, uidPacket] = readPackets(key.transferablePublicKey);
    // A v4 positive certification hashed with SHA-224 (hash ID 11), which signet's verifier
    // accepts but apt 3 refuses.
    const area = Buffer.concat([subpacket(33, Buffer.concat([Buffer.from([4]), key.info.fingerprint])), subpacket(2, Buffer.from([0x68, 0, 0, 0])), subpacket(27, Buffer.from([3]))]);
    const hashed = Buffer.concat([Buffer.from([4, 0x13, 22, 11, area.length >> 8, area.length & 0xff]), area]);
    const trailer = Buffer.from([4, 0xff, 0, 0, 0, hashed.length]);
    const digest = createHash('sha224').update(keyHashPrefix(key.info.publicKeyPacketBody)).update(userIdHashPrefix(uidPacket!.body)).update(hashed).update(trailer).digest();
    const raw = cryptoSign(null, digest, key.privateKey as KeyObject);
    const body = Buffer.concat([hashed, Buffer.from([0, 0]), digest.subarray(0, 2), encodeMpi(raw.subarray(0, 32)), encodeMpi(raw.subarray(32))]);
    const tpk = Buffer.concat([keyPacket!.raw, uidPacket!.raw, encodePacket(2, body)]);
    // The certificate itself is valid: only the policy refuses it.
    expect(parseTransferablePublicKey(tpk).userIds).toEqual(['old <old@example.org>']);
    await expect(keys.importSecret('old', key.privateKey, key.info, tpk, ['old <old@example.org>'])).rejects.toMatchObject({ code: 'POLICY_REJECTED' });
    await expect(keys.get('old')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  });
});
