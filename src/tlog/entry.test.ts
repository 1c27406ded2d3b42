import { createHash } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isSignetError } from '../errors.js';
import { decodeEntry, encodeEntry, entryLeafHash } from './entry.js';
import type { KeyLogEntry, LogEntry, SignatureLogEntry } from './entry.js';
import { MemoryTree } from './tree.js';
import { verifyInclusion } from './verify.js';

const signature: SignatureLogEntry = {
  v: 1,
  kind: 'signature',
  sig_kind: 'rpm',
  key_fingerprint: '0123456789ABCDEF0123456789ABCDEF01234567',
  artifact: {
    name: 'hello-2.12-1.fc40.x86_64.rpm',
    digest_alg: 'sha256',
    digest_hex: 'aa'.repeat(32),
    nevra: 'hello-0:2.12-1.fc40.x86_64',
    header_digest: 'bb'.repeat(32),
  },
  signature_sha256: 'cc'.repeat(32),
  requester: { role: 'ci', token_accessor: 'acc_123', source: '10.0.0.7' },
  rule: 'rules[0]',
  time: '2026-11-23T12:34:56.789Z',
  correlation_id: 'req-42',
};

const keyEvent: KeyLogEntry = {
  v: 1,
  kind: 'key',
  event: 'create',
  key_fingerprint: '0123456789ABCDEF0123456789ABCDEF01234567',
  key_name: 'release',
  algorithm: 'ed25519',
  time: '2026-11-23T12:00:00.000Z',
  requester: { token_accessor: 'admin', source: 'cli' },
};

// The canonical form, written out: sorted keys at every level, no white space.
const SIGNATURE_JSON =
  '{"artifact":{"digest_alg":"sha256","digest_hex":"' + 'aa'.repeat(32) + '","header_digest":"' + 'bb'.repeat(32) +
  '","name":"hello-2.12-1.fc40.x86_64.rpm","nevra":"hello-0:2.12-1.fc40.x86_64"},"correlation_id":"req-42",' +
  '"key_fingerprint":"0123456789ABCDEF0123456789ABCDEF01234567","kind":"signature",' +
  '"requester":{"role":"ci","source":"10.0.0.7","token_accessor":"acc_123"},"rule":"rules[0]","sig_kind":"rpm",' +
  '"signature_sha256":"' + 'cc'.repeat(32) + '","time":"2026-11-23T12:34:56.789Z","v":1}';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isSignetError(e) ? e.code : 'other';
  }
  return undefined;
}

const withJson = (edit: (o: Record<string, unknown>) => void): Buffer => {
  const o = JSON.parse(SIGNATURE_JSON) as Record<string, unknown>;
  edit(o);
  return Buffer.from(JSON.stringify(o));
};

describe('canonical encoding', () => {
  it('is sorted, compact JSON; the leaf hash is SHA-256(0x00 || bytes)', () => {
    const bytes = encodeEntry(signature);
    expect(bytes.toString('utf8')).toBe(SIGNATURE_JSON);
    const expected = createHash('sha256').update(Buffer.concat([Buffer.of(0), Buffer.from(SIGNATURE_JSON)])).digest();
    expect(entryLeafHash(signature).equals(expected)).toBe(true);
  });

  it('does not depend on property order, and omits undefined optionals', () => {
    const reordered = Object.fromEntries(Object.entries(signature).reverse()) as LogEntry;
    expect(encodeEntry(reordered).toString()).toBe(SIGNATURE_JSON);
    const minimal = { ...keyEvent, requester: { ...keyEvent.requester, role: undefined } };
    expect(encodeEntry(minimal).equals(encodeEntry(keyEvent))).toBe(true);
  });

  it('encodes the requester as a role and keyed hash (no accessor, no address); older entries keep their bytes', () => {
    const hashed: LogEntry = { ...signature, requester: { role: 'ci', token_hmac: 'dd'.repeat(16) } };
    const json = SIGNATURE_JSON.replace('"requester":{"role":"ci","source":"10.0.0.7","token_accessor":"acc_123"}', `"requester":{"role":"ci","token_hmac":"${'dd'.repeat(16)}"}`);
    expect(encodeEntry(hashed).toString('utf8')).toBe(json);
    expect(decodeEntry(Buffer.from(json))).toEqual(hashed);
    const bare: LogEntry = { ...keyEvent, requester: { token_hmac: 'ee'.repeat(16) } };
    expect(decodeEntry(encodeEntry(bare))).toEqual(bare);
    expect(decodeEntry(Buffer.from(SIGNATURE_JSON))).toEqual(signature);
    // Neither a hash nor the older accessor and source: not an entry.
    expect(code(() => encodeEntry({ ...signature, requester: { role: 'ci' } }))).toBe('TLOG_ENTRY_MALFORMED');
    expect(code(() => encodeEntry({ ...signature, requester: { token_accessor: 'a' } }))).toBe('TLOG_ENTRY_MALFORMED');
    expect(code(() => encodeEntry({ ...signature, requester: { token_hmac: 'DD'.repeat(16) } }))).toBe('TLOG_ENTRY_MALFORMED');
  });

  it('round-trips both kinds', () => {
    expect(decodeEntry(encodeEntry(signature))).toEqual(signature);
    expect(decodeEntry(encodeEntry(keyEvent))).toEqual(keyEvent);
  });

  it('round-trips arbitrary names (fast-check), including Unicode and quotes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (name) => {
        fc.pre(![...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f));
        const entry = { ...signature, artifact: { ...signature.artifact, name } };
        expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
      }),
    );
  });
});

describe('strict decoding', () => {
  it.each([
    ['white space', Buffer.from(JSON.stringify(JSON.parse(SIGNATURE_JSON), null, 1))],
    ['unsorted keys', Buffer.from(SIGNATURE_JSON.replace('{"artifact"', '{"v":1,"artifact"').replace(',"v":1}', '}'))],
    ['duplicate key', Buffer.from(SIGNATURE_JSON.replace(',"v":1}', ',"v":1,"v":1}'))],
    ['escaped letter', Buffer.from(SIGNATURE_JSON.replace('"rpm"', '"\\u0072pm"'))],
    ['1.0 for 1', Buffer.from(SIGNATURE_JSON.replace('"v":1}', '"v":1.0}'))],
    ['byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SIGNATURE_JSON)])],
    ['trailing newline', Buffer.from(SIGNATURE_JSON + '\n')],
    ['invalid UTF-8', Buffer.concat([Buffer.from(SIGNATURE_JSON.slice(0, -1)), Buffer.from([0xff, 0x7d])])],
    ['not JSON', Buffer.from('{"v":1')],
    ['an array', Buffer.from('[]')],
    ['version 2', withJson((o) => (o.v = 2))],
    ['version "1"', withJson((o) => (o.v = '1'))],
    ['unknown kind', withJson((o) => (o.kind = 'audit'))],
    ['unknown signature kind', withJson((o) => (o.sig_kind = 'cosign'))],
    ['unknown top-level field', withJson((o) => (o.token = 'secret'))],
    ['unknown requester field', withJson((o) => ((o.requester as Record<string, unknown>).secret_id = 'x'))],
    ['lower-case fingerprint', withJson((o) => (o.key_fingerprint = (o.key_fingerprint as string).toLowerCase()))],
    ['short fingerprint', withJson((o) => (o.key_fingerprint = 'ABCDEF'))],
    ['digest of the wrong length', withJson((o) => ((o.artifact as Record<string, unknown>).digest_alg = 'sha512'))],
    ['upper-case digest', withJson((o) => ((o.artifact as Record<string, unknown>).digest_hex = 'AA'.repeat(32)))],
    ['time without milliseconds', withJson((o) => (o.time = '2026-11-23T12:34:56Z'))],
    ['time with an offset', withJson((o) => (o.time = '2026-11-23T12:34:56.789+00:00'))],
    ['impossible date', withJson((o) => (o.time = '2026-02-30T12:34:56.789Z'))],
    ['empty name', withJson((o) => ((o.artifact as Record<string, unknown>).name = ''))],
    ['control character in a name', withJson((o) => ((o.artifact as Record<string, unknown>).name = 'a\nb'))],
    ['null optional', withJson((o) => (o.rule = null))],
    ['missing requester', withJson((o) => delete o.requester)],
  ])('rejects %s', (_, bytes) => {
    expect(code(() => decodeEntry(bytes))).toBe('TLOG_ENTRY_MALFORMED');
  });

  it('caps entries at 65535 bytes', () => {
    expect(code(() => decodeEntry(Buffer.alloc(65536, 0x20)))).toBe('TLOG_ENTRY_MALFORMED');
    const huge = { ...signature, artifact: { ...signature.artifact, name: 'x'.repeat(5000) } };
    expect(code(() => encodeEntry(huge))).toBe('TLOG_ENTRY_MALFORMED');
  });

  it('refuses to encode invalid entries', () => {
    expect(code(() => encodeEntry({ ...signature, v: 2 } as unknown as LogEntry))).toBe('TLOG_ENTRY_MALFORMED');
    expect(code(() => encodeEntry({ ...keyEvent, secret: 'x' } as unknown as LogEntry))).toBe('TLOG_ENTRY_MALFORMED');
  });
});

describe('the leaf binds what was signed (docs/log-format.md "Canonical encoding")', () => {
  it('an inclusion proof for the logged entry fails for any changed digest, key or signature', () => {
    const tree = new MemoryTree();
    for (let i = 0; i < 10; i++) tree.append(encodeEntry({ ...keyEvent, key_name: `k${i}` }));
    const index = tree.append(encodeEntry(signature));
    for (let i = 0; i < 5; i++) tree.append(encodeEntry({ ...keyEvent, key_name: `later${i}` }));
    const proof = tree.inclusionProof(index);
    const root = tree.root();
    verifyInclusion(entryLeafHash(signature), index, tree.size, proof, root);
    const variants: SignatureLogEntry[] = [
      { ...signature, artifact: { ...signature.artifact, digest_hex: 'ab'.repeat(32) } },
      { ...signature, key_fingerprint: '1123456789ABCDEF0123456789ABCDEF01234567' },
      { ...signature, signature_sha256: 'cd'.repeat(32) },
      { ...signature, artifact: { ...signature.artifact, name: 'other.rpm' } },
    ];
    for (const variant of variants) {
      expect(code(() => verifyInclusion(entryLeafHash(variant), index, tree.size, proof, root))).toBe('TLOG_PROOF_INVALID');
    }
  });
});

describe('vetting and approval entries', () => {
  const requester = { role: 'vetter', token_hmac: 'ab'.repeat(16) };
  const vet: LogEntry = {
    v: 1,
    kind: 'vet',
    artifact: { name: 'nova-1.0.0.tar.gz', digest_alg: 'sha256', digest_hex: 'aa'.repeat(32) },
    repository: 'opendev.org/openstack/nova',
    tag: '1.0.0',
    tag_object: 'bb'.repeat(20),
    tag_signer: 'CC'.repeat(20),
    allowed: ['PKG-INFO', '*.egg-info/**'],
    verdict: 'pass',
    mode: 'client',
    requester,
    time: '2026-12-05T07:00:00.000Z',
  };
  const request: LogEntry = {
    v: 1,
    kind: 'approval_request',
    request_id: 'cd'.repeat(16),
    sig_kind: 'rpm',
    key_fingerprint: 'DD'.repeat(20),
    artifact: { name: '84 packages', digest_alg: 'sha256', digest_hex: 'ee'.repeat(32), packages: 84 },
    required: 2,
    approvers: ['alice', 'bob', 'carol'],
    requester,
    identity: 'release-bot',
    rule: 'rel#0',
    expires: '2026-12-06T07:00:00.000Z',
    time: '2026-12-05T07:00:00.000Z',
  };
  const approval: LogEntry = { v: 1, kind: 'approval', request_id: 'cd'.repeat(16), request_entry: 7, decision: 'approve', identity: 'alice', comment: 'ok', requester, time: '2026-12-05T07:01:00.000Z' };
  const cited: LogEntry = { ...signature, requester, vetting: { entry: 3 }, approvals: { request_id: 'cd'.repeat(16), request_entry: 7, entries: [8, 9] } };

  it('round-trip canonically, arrays in their order', () => {
    for (const e of [vet, request, approval, cited]) {
      const bytes = encodeEntry(e);
      expect(decodeEntry(bytes)).toEqual(e);
    }
    expect(encodeEntry(vet).toString()).toContain('"allowed":["PKG-INFO","*.egg-info/**"]');
    expect(encodeEntry(cited).toString()).toContain('"approvals":{"entries":[8,9],"request_entry":7,"request_id":"' + 'cd'.repeat(16) + '"}');
  });

  it('refuse what the schema does not allow', () => {
    for (const bad of [
      { ...vet, verdict: 'maybe' },
      { ...vet, allowed: [1] },
      { ...vet, tag_object: 'xyz' },
      { ...request, approvers: [] },
      { ...request, required: 0 },
      { ...approval, decision: 'abstain' },
      { ...cited, approvals: { request_id: 'cd'.repeat(16), request_entry: 7, entries: [] } },
      { ...cited, vetting: { entry: -1 } },
    ]) {
      expect(() => encodeEntry(bad as LogEntry)).toThrow(/invalid log entry/);
    }
    // Non-canonical spacing inside an array is refused on decoding.
    const spaced = Buffer.from(encodeEntry(vet).toString().replace('["PKG-INFO",', '["PKG-INFO", '));
    expect(() => decodeEntry(spaced)).toThrow(/canonical/);
  });
});
