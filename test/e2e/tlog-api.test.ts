// The log over HTTP: every signature and key event is logged before the response, and what the
// server serves (checkpoints, entries, proofs, receipts, tiles) verifies with the log key and an
// independent RFC 9162 verifier (test/helpers/rfc9162-verifier.ts).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry, type SignatureLogEntry } from '../../src/tlog/entry.js';
import { openCheckpoint } from '../../src/tlog/checkpoint.js';
import { parseVerifierKey } from '../../src/tlog/note.js';
import { parseReceipt, verifyReceipt } from '../../src/tlog/receipt.js';
import { decodeEntryBundle, decodeTile } from '../../src/tlog/tiles.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { consistencyOk, inclusionOk, leafHash } from '../helpers/rfc9162-verifier.js';

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

describe('transparency log API', () => {
  let t: TestServer;
  let vkey: string;
  const signed: Array<{ index: number; signature: Buffer; sha256: string }> = [];

  beforeAll(async () => {
    t = await startTestServer();
    const created = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'rel', algorithm: 'ed25519', user_id: 'Rel <rel@example.org>' } });
    expect(created.status).toBe(201);
    expect(created.json.log.index).toBe(0);
    vkey = (await api(t, 'GET', '/v1/log/key')).text.trim();
  });
  afterAll(async () => t?.close());

  it('independent verifier accepts the transparency-dev happy-path vector and rejects a bit flip', () => {
    const proof = ['lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=', 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ='].map(b64);
    const root = b64('XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=');
    expect(inclusionOk(0, 8, proof, root, leafHash(Buffer.alloc(0)))).toBe(true);
    expect(consistencyOk(1, 8, proof, leafHash(Buffer.alloc(0)), root)).toBe(true);
    const flipped = proof.map((p) => Buffer.from(p));
    (flipped[1] as Buffer)[0]! ^= 1;
    expect(inclusionOk(0, 8, flipped, root, leafHash(Buffer.alloc(0)))).toBe(false);
  });

  it('logs every signature before answering, with the requester and the signature digest', async () => {
    for (let i = 0; i < 6; i++) {
      const body = Buffer.from(`artifact ${i}\n`);
      const r = await api(t, 'POST', `/v1/sign/rel?name=pkg-${i}.tar.gz`, { token: t.adminToken, body, headers: { 'x-signet-correlation-id': `build-${i}` } });
      expect(r.status).toBe(200);
      expect(r.json.log.origin).toMatch(/^signet-[0-9a-f]{16}\.local\/log$/);
      signed.push({ index: r.json.log.index, signature: b64(r.json.signature), sha256: createHash('sha256').update(body).digest('hex') });
    }
    expect(signed.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('answers with a receipt that verifies offline when the client waits (?receipt=1)', async () => {
    const body = Buffer.from('waited for\n');
    const r = await api(t, 'POST', '/v1/sign/rel?name=w.bin&receipt=1', { token: t.adminToken, body });
    expect(r.status).toBe(200);
    const receipt = parseReceipt(r.json.log.receipt);
    expect(Number(receipt.index)).toBe(r.json.log.index);
    const entry = receipt.extra as Buffer;
    const verified = verifyReceipt(receipt, leafHash(entry), parseVerifierKey(vkey));
    const decoded = decodeEntry(entry) as SignatureLogEntry;
    expect(decoded.signature_sha256).toBe(createHash('sha256').update(b64(r.json.signature)).digest('hex'));
    expect(decoded.artifact.digest_hex).toBe(createHash('sha256').update(body).digest('hex'));
    expect(inclusionOk(Number(receipt.index), Number(verified.checkpoint.size), receipt.proof, verified.checkpoint.root, leafHash(entry))).toBe(true);
  });

  it('serves a signed checkpoint whose root is the root of the served entries', async () => {
    const note = (await api(t, 'GET', '/v1/log/checkpoint')).text;
    const { checkpoint } = openCheckpoint(note, parseVerifierKey(vkey));
    expect(checkpoint.size).toBe(8n);
    const { json } = await api(t, 'GET', '/v1/log/entries?start=0&end=100');
    expect(json.entries).toHaveLength(8);
    const entries = (json.entries as string[]).map(b64);
    const first = decodeEntry(entries[0] as Buffer);
    expect(first).toMatchObject({ kind: 'key', event: 'create', key_name: 'rel' });
    for (const s of signed) {
      const e = decodeEntry(entries[s.index] as Buffer) as SignatureLogEntry;
      expect(e).toMatchObject({ kind: 'signature', sig_kind: 'detached', signature_sha256: createHash('sha256').update(s.signature).digest('hex') });
      expect(e.artifact.digest_hex).toBe(s.sha256);
      // The public entry names no address and no accessor: a keyed hash of the accessor instead.
      expect(e.requester.source).toBeUndefined();
      expect(e.requester.token_accessor).toBeUndefined();
      expect(e.requester.token_hmac).toMatch(/^[0-9a-f]{32}$/);
      expect(Buffer.concat(entries).toString('latin1')).not.toContain('127.0.0.1');
      expect(e.correlation_id).toBe(`build-${s.index - 1}`);
    }
    // Every inclusion proof and every consistency proof checks with the independent verifier.
    const roots: Buffer[] = [];
    for (let size = 1; size <= 8; size++) {
      // Root of a prefix from an inclusion proof of its last leaf.
      const p = await api(t, 'GET', `/v1/log/proof/inclusion?index=${size - 1}&size=${size}`);
      expect(p.status).toBe(200);
      roots.push(rootOf(entries.slice(0, size)));
      expect(inclusionOk(size - 1, size, (p.json.proof as string[]).map(b64), roots[size - 1] as Buffer, leafHash(entries[size - 1] as Buffer))).toBe(true);
    }
    expect((roots[7] as Buffer).equals(checkpoint.root)).toBe(true);
    for (let first = 1; first < 8; first++) {
      const c = await api(t, 'GET', `/v1/log/proof/consistency?first=${first}&second=8`);
      expect(consistencyOk(first, 8, (c.json.proof as string[]).map(b64), roots[first - 1] as Buffer, checkpoint.root)).toBe(true);
    }
  });

  it('serves C2SP tiles and entry bundles matching the entries', async () => {
    const { json } = await api(t, 'GET', '/v1/log/entries?start=0&end=8');
    const entries = (json.entries as string[]).map(b64);
    const tile = await fetch(new URL('/v1/log/tile/0/000.p/8', t.url));
    expect(tile.headers.get('content-type')).toBe('application/octet-stream');
    const hashes = decodeTile(Buffer.from(await tile.arrayBuffer()), 8);
    expect(hashes.map((h) => h.toString('hex'))).toEqual(entries.map((e) => leafHash(e).toString('hex')));
    const bundle = await fetch(new URL('/v1/log/tile/entries/000.p/8', t.url));
    expect(decodeEntryBundle(Buffer.from(await bundle.arrayBuffer()), 8).map((e) => e.toString('hex'))).toEqual(entries.map((e) => e.toString('hex')));
    expect((await api(t, 'GET', '/v1/log/tile/0/000.p/9')).json.error.code).toBe('NOT_FOUND');
    expect((await api(t, 'GET', '/v1/log/tile/0/000')).json.error.code).toBe('NOT_FOUND');
  });

  it('refuses bad ranges and correlation IDs with stable codes', async () => {
    expect((await api(t, 'GET', '/v1/log/entries?start=-1&end=3')).json.error.code).toBe('QUERY_INVALID');
    expect((await api(t, 'GET', '/v1/log/proof/inclusion?index=9&size=8')).json.error.code).toBe('BAD_REQUEST');
    expect((await api(t, 'GET', '/v1/log/proof/consistency?first=3&second=99')).json.error.code).toBe('BAD_REQUEST');
    const r = await api(t, 'POST', '/v1/sign/rel', { token: t.adminToken, body: Buffer.from('x'), headers: { 'x-signet-correlation-id': 'a'.repeat(129) } });
    expect(r.json.error.code).toBe('BAD_REQUEST');
  });
});

function rootOf(entries: Buffer[]): Buffer {
  // MTH by the RFC 9162 §2.1.1 definition, recursively (independent of src/tlog).
  const mth = (d: Buffer[]): Buffer => {
    if (d.length === 1) return leafHash(d[0] as Buffer);
    let k = 1;
    while (k * 2 < d.length) k *= 2;
    return createHash('sha256').update(Buffer.of(1)).update(mth(d.slice(0, k))).update(mth(d.slice(k))).digest();
  };
  return mth(entries);
}
