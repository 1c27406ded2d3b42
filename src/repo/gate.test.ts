// Gate, signer and publish edge cases without a server: a fake client signs in-process with a
// generated key (the interop tests do the same against a real server and real clients).
import { closeSync, createReadStream, ftruncateSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignQuery, SignResponse } from '../client/client.js';
import { armor, buildSignaturePacket, canonicalText, clearsignedMessage, createSignatureHash, generateKey, signDetached, signDigest, type GeneratedKey } from '../openpgp/index.js';
import { signAptDist, signAptRelease } from './apt.js';
import { gateDirectory } from './gate.js';
import { signPacmanRepo } from './pacman.js';
import { currentRelease, publish } from './publish.js';
import type { RepoSignClient } from './signer.js';
import { repomdEntries, signYumRepo } from './yum.js';

/** Signs with `signWith` but claims to be `exportAs` (a server answering with the wrong key). */
function fakeClient(exportAs: GeneratedKey, signWith: GeneratedKey = exportAs): RepoSignClient {
  return {
    async exportKey() {
      return armor('PUBLIC KEY BLOCK', exportAs.transferablePublicKey);
    },
    async sign(_key: string, artifact: Readable, query: SignQuery): Promise<SignResponse> {
      const chunks: Buffer[] = [];
      for await (const c of artifact) chunks.push(Buffer.from(c as Uint8Array));
      const bytes = Buffer.concat(chunks);
      const hashAlgorithm = query.hash ?? 'sha256';
      const params = { hashAlgorithm, creationTime: Math.floor(Date.now() / 1000), signer: signWith.info } as const;
      const packet = query.clear
        ? await signDetached(canonicalText(bytes), signWith.privateKey, { ...params, type: 0x01 })
        : await signDetached(bytes, signWith.privateKey, { ...params, type: 0x00 });
      const armored = armor('SIGNATURE', packet);
      return {
        key: 'k',
        fingerprint: signWith.info.fingerprint.toString('hex').toUpperCase(),
        algorithm: 'ed25519',
        hash_algorithm: hashAlgorithm,
        created: params.creationTime,
        kind: query.kind ?? 'detached',
        artifact: { name: query.name ?? 'artifact', sha256: '', bytes: bytes.length },
        signature: packet.toString('base64'),
        ...(query.armor || query.clear ? { armored } : {}),
        ...(query.clear ? { cleartext: clearsignedMessage(bytes.toString('utf8'), armored, hashAlgorithm) } : {}),
        log: { index: 0, origin: 'test' },
      };
    },
  };
}

const RELEASE = 'Suite: stable\nCodename: stable\nDate: Mon, 30 Nov 2026 10:00:00 UTC\nSHA256:\n';

describe('repository signing and the gate (in-process key)', () => {
  let dir: string;
  let key: GeneratedKey;
  let other: GeneratedKey;
  let client: RepoSignClient;
  let n = 0;
  const fresh = () => {
    const d = join(dir, `case-${n++}`);
    mkdirSync(d);
    return d;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-gate-unit-'));
    key = await generateKey({ algorithm: 'ed25519', userId: 'gate <gate@signet.test>' });
    other = await generateKey({ algorithm: 'ed25519', userId: 'other <other@signet.test>' });
    client = fakeClient(key);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function aptDist(root: string, release = RELEASE): Promise<string> {
    const dist = join(root, 'dists/stable');
    mkdirSync(dist, { recursive: true });
    await signAptRelease(client, 'k', Buffer.from(release), dist, { validForSeconds: 3600 });
    return dist;
  }

  it('refuses a signature the server made with another key, and writes nothing', async () => {
    const d = fresh();
    await expect(signAptRelease(fakeClient(key, other), 'k', Buffer.from(RELEASE), d)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect(readdirSync(d)).toEqual([]);
  });

  it('passes a signed apt dist (a hidden temp file is no finding unless every file must be signed); flags a binary Release.gpg and a missing Release.gpg', async () => {
    const d = fresh();
    const dist = await aptDist(d);
    writeFileSync(join(dist, '.Release.abc.tmp'), 'half-written');
    expect((await gateDirectory(d, [key.info])).findings).toEqual([]);
    expect((await gateDirectory(d, [key.info], { requireSigned: true })).findings).toEqual([expect.objectContaining({ path: 'dists/stable/.Release.abc.tmp', problem: 'UNSIGNED' })]);
    writeFileSync(join(dist, 'Release.gpg'), await signDetached(readFileSync(join(dist, 'Release')), key.privateKey, { type: 0x00, hashAlgorithm: 'sha512', creationTime: 1, signer: key.info }));
    expect((await gateDirectory(d, [key.info])).findings).toEqual([expect.objectContaining({ path: 'dists/stable/Release.gpg', problem: 'MALFORMED' })]);
    rmSync(join(dist, 'Release.gpg'));
    expect((await gateDirectory(d, [key.info])).findings).toEqual([expect.objectContaining({ path: 'dists/stable/Release', problem: 'UNSIGNED' })]);
  });

  it('EXPIRED at the Valid-Until instant; an unreadable Valid-Until is MALFORMED', async () => {
    const d = fresh();
    await aptDist(d);
    const later = new Date(Date.now() + 3601 * 1000);
    expect((await gateDirectory(d, [key.info], { now: later })).findings).toEqual([expect.objectContaining({ problem: 'EXPIRED' })]);
    const d2 = fresh();
    const dist2 = join(d2, 'dists/stable');
    mkdirSync(dist2, { recursive: true });
    await signAptRelease(client, 'k', Buffer.from(`${RELEASE.replace('SHA256:\n', '')}Valid-Until: tomorrow\nSHA256:\n`), dist2);
    expect((await gateDirectory(d2, [key.info])).findings).toEqual([expect.objectContaining({ problem: 'MALFORMED', detail: 'Valid-Until cannot be read' })]);
  });

  it('a signed repomd.xml whose location leaves the repository is MALFORMED, not followed', async () => {
    const d = fresh();
    mkdirSync(join(d, 'repodata'));
    writeFileSync(join(d, 'secret'), 'x');
    writeFileSync(
      join(d, 'repodata/repomd.xml'),
      '<?xml version="1.0"?>\n<repomd><revision>1</revision><data type="primary"><checksum type="sha256">00</checksum><location href="repodata/../../secret"/></data></repomd>\n',
    );
    await signYumRepo(client, 'k', d);
    const report = await gateDirectory(join(d, 'repodata', '..'), [key.info]);
    expect(report.findings).toContainEqual(expect.objectContaining({ problem: 'MALFORMED', kind: 'yum' }));
    expect(() => repomdEntries('<repomd><data type="x"><location href="a"/></data></repomd>')).toThrow(expect.objectContaining({ code: 'BODY_INVALID' }));
  });

  it('symbolic links that leave the tree or dangle are findings', async () => {
    const d = fresh();
    await aptDist(d);
    symlinkSync('/etc/hostname', join(d, 'escape'));
    symlinkSync('nowhere', join(d, 'dangling'));
    const problems = (await gateDirectory(d, [key.info])).findings.map((f) => `${f.path} ${f.problem}`);
    expect(problems.sort()).toEqual(['dangling MALFORMED', 'escape MALFORMED']);
  });

  it('pacman: links as repo-add -s; an armored .sig is refused by the gate; unsigned db listed', async () => {
    const d = fresh();
    writeFileSync(join(d, 'core.db.tar.gz'), 'db bytes');
    writeFileSync(join(d, 'core.files.tar.gz'), 'files bytes');
    expect((await gateDirectory(d, [key.info])).findings.map((f) => f.problem)).toEqual(['UNSIGNED', 'UNSIGNED']);
    await signPacmanRepo(client, 'k', join(d, 'core.db.tar.gz'));
    expect(readlinkSync(join(d, 'core.db'))).toBe('core.db.tar.gz');
    expect(readlinkSync(join(d, 'core.db.sig'))).toBe('core.db.tar.gz.sig');
    expect(readlinkSync(join(d, 'core.files.sig'))).toBe('core.files.tar.gz.sig');
    expect((await gateDirectory(d, [key.info])).findings).toEqual([]);
    writeFileSync(join(d, 'core.db.tar.gz.sig'), armor('SIGNATURE', readFileSync(join(d, 'core.files.tar.gz.sig'))));
    const problems = (await gateDirectory(d, [key.info])).findings.map((f) => `${f.path} ${f.problem}`);
    expect(problems).toContain('core.db.tar.gz.sig MALFORMED');
    await expect(gateDirectory(d, [])).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('publish: signs what needs signing, refuses a gated-out tree without touching LIVE, refuses a foreign LIVE link', async () => {
    const d = fresh();
    const staging = join(d, 'staging');
    mkdirSync(join(staging, 'dists/stable'), { recursive: true });
    writeFileSync(join(staging, 'dists/stable/Release'), RELEASE);
    writeFileSync(join(staging, 'core.db.tar.gz'), 'db');
    const live = join(d, 'live');
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'GATE_REFUSED' });
    expect(existsSync(live)).toBe(false);
    expect(readdirSync(`${live}.releases`)).toEqual([]);
    const result = await publish(staging, live, { keys: [key.info], client, key: 'k', validForSeconds: 600 });
    expect(result.signed.map((s) => s.kind).sort()).toEqual(['apt', 'pacman']);
    expect(currentRelease(live)).toBe(result.release.split('/').at(-1));
    expect(readFileSync(join(live, 'dists/stable/InRelease'), 'utf8')).toMatch(/^Valid-Until: /m);
    // A server answering with another key's signature, or a key the gate does not accept: refused,
    // LIVE still on the first release.
    const before = readlinkSync(live);
    writeFileSync(join(staging, 'core.db.tar.gz'), 'db 2');
    await expect(publish(staging, live, { keys: [key.info], client: fakeClient(key, other), key: 'k' })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await expect(publish(staging, live, { keys: [other.info], client, key: 'k' })).rejects.toMatchObject({ code: 'GATE_REFUSED' });
    expect(readlinkSync(live)).toBe(before);
    // One publish at a time; a lock left by a dead process is taken over.
    writeFileSync(join(`${live}.releases`, '.lock'), `${process.pid}\n`);
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'PUBLISH_FAILED' });
    writeFileSync(join(`${live}.releases`, '.lock'), '4194303\n');
    const again = await publish(staging, live, { keys: [key.info], client, key: 'k' });
    expect(readlinkSync(live)).toBe(`live.releases/${again.release.split('/').at(-1)}`);
    expect(existsSync(join(`${live}.releases`, '.lock'))).toBe(false);
    rmSync(live);
    symlinkSync(staging, live);
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('repo sign refuses metadata that is a symbolic link (a private file would be published 0644)', async () => {
    const d = fresh();
    const dist = join(d, 'dists/stable');
    mkdirSync(dist, { recursive: true });
    const secret = join(d, 'private-release');
    writeFileSync(secret, RELEASE, { mode: 0o600 });
    symlinkSync(secret, join(dist, 'Release'));
    await expect(signAptDist(client, 'k', dist)).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
    expect(readdirSync(dist)).toEqual(['Release']);
    expect(lstatSync(join(dist, 'Release')).isSymbolicLink()).toBe(true);
    const yum = join(d, 'yum');
    mkdirSync(join(yum, 'repodata'), { recursive: true });
    const repomd = join(d, 'private-repomd.xml');
    writeFileSync(repomd, '<repomd></repomd>\n', { mode: 0o600 });
    symlinkSync(repomd, join(yum, 'repodata/repomd.xml'));
    await expect(signYumRepo(client, 'k', yum)).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
    expect(readdirSync(join(yum, 'repodata'))).toEqual(['repomd.xml']);
  });

  it('a signed file over 2 GiB is verified (read in chunks, not whole)', async () => {
    const d = fresh();
    const big = join(d, 'image.iso');
    // Sparse: 2 GiB + 1 byte on disk costs nothing; hashing it is what the test measures.
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 2 ** 31 + 1);
    closeSync(fd);
    const params = { type: 0x00, hashAlgorithm: 'sha256', creationTime: Math.floor(Date.now() / 1000), signer: key.info } as const;
    const h = createSignatureHash(params);
    for await (const chunk of createReadStream(big, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
    const { hashedArea, digest } = h.finish();
    const raw = await signDigest(key.privateKey, 'ed25519', 'sha256', digest);
    writeFileSync(`${big}.sig`, buildSignaturePacket(hashedArea, digest, raw, key.info));
    const report = await gateDirectory(d, [key.info]);
    expect(report.findings).toEqual([]);
    expect(report.checked).toEqual([expect.objectContaining({ path: 'image.iso', kind: 'detached' })]);
  }, 300_000);
});
