// The signing boundary over real HTTP (docs/security.md "The signing boundary"): a kind is what
// the server finds in the body, not a label the client picks, and a key signs only its purposes.
// Each attack below was a 200 before the signing pipeline checked kinds; each is refused now.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRpmPrefix } from '../../src/rpm/index.js';
import { ResumableSha2 } from '../../src/sha2/resumable.js';
import { decodeEntry } from '../../src/tlog/entry.js';
import { buildPackage, defaultMainEntries, str } from '../fixtures/rpm/build-package.js';
import { execFile } from 'node:child_process';
import { SIGNET, requireBuild, type CliResult } from '../helpers/cli.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

/** The RPM package `name`: its prefix (lead and both headers) and its main header alone. */
function rpm(name: string): { prefix: Buffer; mainHeader: Buffer } {
  const payload = Buffer.from(`payload of ${name}`);
  const entries = defaultMainEntries(payload).map((e) => (e.tag === 1000 ? str(1000, name) : e));
  const pkg = buildPackage({ mainEntries: entries, payload });
  const prefix = pkg.file.subarray(0, pkg.file.length - pkg.payload.length);
  return { prefix, mainHeader: Buffer.from(parseRpmPrefix(prefix).header.bytes) };
}

const SHA = 'c'.repeat(64);
const COMMIT = `tree ${'a'.repeat(40)}\nparent ${'b'.repeat(40)}\nauthor A U Thor <a@example.org> 1700000000 +0000\ncommitter A U Thor <a@example.org> 1700000000 +0000\n\nrelease 1.0\n`;
const REPOMD = `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">\n  <revision>1</revision>\n</repomd>\n`;
const RELEASE = `Origin: Example\nSuite: stable\nDate: Sat, 05 Dec 2026 00:00:00 UTC\nSHA256:\n ${SHA} 1234 main/binary-amd64/Packages\n`;
const SUMS = `${SHA}  pkg-1.0.tar.gz\n`;

/** The CLI, run without blocking this process (the server under test runs in it). */
function signet(args: string[], options: { env: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SIGNET, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env } }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

describe('the signing boundary', () => {
  let t: TestServer;

  async function token(name: string, policy: string): Promise<string> {
    const w = await api(t, 'PUT', `/v1/sys/policies/${name}`, { token: t.adminToken, json: { policy } });
    expect(w.status, w.text).toBe(200);
    const r = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, json: { policies: [name], ttl: '10m' } });
    expect(r.status, r.text).toBe(201);
    return r.json.token as string;
  }

  const sign = (tok: string, key: string, query: string, body: Buffer | string) => api(t, 'POST', `/v1/sign/${key}?${query}`, { token: tok, body: Buffer.from(body) });

  beforeAll(async () => {
    t = await startTestServer();
    // rel: created before purposes were chosen (every kind); the others with explicit purposes.
    const keys: Array<[string, string[] | undefined]> = [
      ['rel', undefined],
      ['rpmkey', ['rpm', 'yum']],
      ['blob', ['detached', 'sums']],
    ];
    for (const [name, purposes] of keys) {
      const r = await api(t, 'POST', '/v1/keys', {
        token: t.adminToken,
        json: { name, algorithm: 'ed25519', user_id: `${name} <${name}@example.org>`, ...(purposes ? { purposes } : {}) },
      });
      expect(r.status, r.text).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('an rpm grant for pkg-* cannot sign another package’s header through the sign route', async () => {
    const tok = await token('rpm-only', "rules: [{keys: [rel], kinds: [rpm], names: ['pkg-*']}]");
    const evil = rpm('evil');
    // The RPM route reads the name tag: evil is refused.
    const batch = await api(t, 'POST', '/v1/sign/rel/rpm', { token: tok, json: { headers: [evil.prefix.toString('base64')] } });
    expect(batch.status, batch.text).toBe(200);
    expect(batch.json.signatures[0].error.code).toBe('POLICY_DENIED');
    // The label trick: the main header as a raw body, kind rpm, a name the policy grants.
    const before = (await api(t, 'GET', '/v1/log/checkpoint')).text;
    const r = await sign(tok, 'rel', 'kind=rpm&name=pkg-innocent', evil.mainHeader);
    expect([r.status, r.json.error?.code], r.text).toEqual([400, 'KIND_MISMATCH']);
    // Nor as a detached artifact, for a role that has detached too.
    const both = await token('rpm-detached', "rules: [{keys: [rel], kinds: [rpm, detached], names: ['pkg-*']}]");
    const d = await sign(both, 'rel', 'kind=detached&name=pkg-innocent', evil.mainHeader);
    expect([d.status, d.json.error?.code], d.text).toEqual([400, 'CONTENT_INVALID']);
    // A signature header (same magic) is refused too, and so is the admin.
    const admin = await sign(t.adminToken, 'rel', 'name=x', evil.prefix.subarray(96));
    expect(admin.json.error?.code, admin.text).toBe('CONTENT_INVALID');
    // Nothing was logged under the innocent name.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const size = (text: string) => Number(text.split('\n')[1]);
    const after = (await api(t, 'GET', '/v1/log/checkpoint')).text;
    const entries = await api(t, 'GET', `/v1/log/entries?start=0&end=${size(after)}`);
    const names = (entries.json.entries as string[]).map((e) => decodeEntry(Buffer.from(e, 'base64'))).map((e) => (e.kind === 'signature' ? e.artifact.name : ''));
    expect(names).not.toContain('pkg-innocent');
    expect(size(after)).toBeGreaterThanOrEqual(size(before));
  });

  it('a clearsign grant gets cleartext signatures only, never a binary one', async () => {
    const tok = await token('clear-only', 'rules: [{keys: [rel], kinds: [clearsign]}]');
    const binary = await sign(tok, 'rel', 'kind=clearsign&name=notes.txt', 'hello\n');
    expect([binary.status, binary.json.error?.code], binary.text).toEqual([400, 'KIND_MISMATCH']);
    const armored = await sign(tok, 'rel', 'kind=clearsign&name=notes.txt&armor=1', 'hello\n');
    expect(armored.json.error?.code).toBe('KIND_MISMATCH');
    const clear = await sign(tok, 'rel', 'clear=1&name=notes.txt', 'hello\n');
    expect(clear.status, clear.text).toBe(200);
    expect(clear.json.cleartext).toContain('-----BEGIN PGP SIGNED MESSAGE-----');
    // The packet is a type 0x01 (text) signature: v4, type octet after the version.
    // (RFC 4880 §4.2: new-format tag 2 is 0xc2, a one-octet length below 192 for this packet.)
    const packet = Buffer.from(clear.json.signature, 'base64');
    expect([packet[0], packet[1]! < 192]).toEqual([0xc2, true]);
    expect([packet[2], packet[3]]).toEqual([4, 0x01]);
    // Not a cleartext signature of a git object either (gpg would verify it as a text signature).
    expect((await sign(tok, 'rel', 'clear=1&name=c', COMMIT)).json.error?.code).toBe('CONTENT_INVALID');
    // clear=1 is for clearsign and apt only: a detached grant gets no text signature.
    const det = await token('det-only', 'rules: [{keys: [rel], kinds: [detached]}]');
    expect((await sign(det, 'rel', 'kind=detached&clear=1&name=x', 'hello\n')).json.error?.code).toBe('KIND_MISMATCH');
  });

  it('a yum grant signs repomd.xml documents only', async () => {
    const tok = await token('yum-only', "rules: [{keys: [rel], kinds: [yum], names: ['repomd.xml']}]");
    const ok = await sign(tok, 'rel', 'kind=yum&name=repomd.xml&armor=1', REPOMD);
    expect(ok.status, ok.text).toBe(200);
    for (const body of ['anything at all', COMMIT, RELEASE, SUMS, '<?xml version="1.0"?>\n<metalink/>\n', `${REPOMD}<!-- trailing -->`, REPOMD.replace('</repomd>', ''), Buffer.concat([Buffer.from(REPOMD), Buffer.from([0])])]) {
      const r = await sign(tok, 'rel', 'kind=yum&name=repomd.xml&armor=1', body);
      expect([r.status, r.json.error?.code], String(body)).toEqual([400, 'CONTENT_INVALID']);
    }
    expect((await sign(tok, 'rel', 'kind=yum&name=repomd.xml', rpm('evil').mainHeader)).json.error?.code).toBe('CONTENT_INVALID');
  });

  it('apt, sums, git and pacman grants sign their own shapes only', async () => {
    const tok = await token('repo-kinds', 'rules: [{keys: [rel], kinds: [apt, sums, git, pacman]}]');
    const good: Array<[string, Buffer | string]> = [
      ['kind=apt&name=Release', RELEASE],
      ['kind=apt&clear=1&name=Release', RELEASE],
      ['kind=sums&name=SHA256SUMS', SUMS],
      ['kind=git&name=commit', COMMIT],
      ['kind=git&name=tag', `object ${'a'.repeat(40)}\ntype commit\ntag v1.0\ntagger T <t@example.org> 1700000000 +0000\n\nv1.0\n`],
      ['kind=pacman&name=core.db.tar.gz', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(40, 1)])],
      ['kind=pacman&name=x.pkg.tar.zst', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(40, 1)])],
    ];
    for (const [query, body] of good) {
      const r = await sign(tok, 'rel', query, body);
      expect(r.status, `${query}: ${r.text}`).toBe(200);
    }
    const bad: Array<[string, Buffer | string]> = [
      ['kind=apt&name=Release', 'Date: today\n'],
      ['kind=apt&name=Release', 'anything'],
      ['kind=apt&name=Release', `${RELEASE}\nSecond: paragraph\n`],
      ['kind=sums&name=SHA256SUMS', 'anything'],
      ['kind=sums&name=SHA256SUMS', `${SUMS}\n`],
      ['kind=git&name=commit', 'anything'],
      ['kind=git&name=commit', `tree ${'a'.repeat(40)}\n\0`],
      ['kind=pacman&name=core.db.tar.gz', 'anything'],
      ['kind=pacman&name=core.db.tar.gz', rpm('evil').mainHeader],
      ['kind=sums&name=SHA256SUMS', rpm('evil').mainHeader],
    ];
    for (const [query, body] of bad) {
      const r = await sign(tok, 'rel', query, body);
      expect([r.status, r.json.error?.code], `${query}: ${String(body).slice(0, 40)}`).toEqual([400, 'CONTENT_INVALID']);
    }
    // Detached refuses what a stock tool would read as a commit or tag signature.
    const det = await token('det-2', 'rules: [{keys: [rel], kinds: [detached]}]');
    expect((await sign(det, 'rel', 'name=x', COMMIT)).json.error?.code).toBe('CONTENT_INVALID');
    expect((await sign(det, 'rel', 'name=x', 'tree-felling handbook\n')).status).toBe(200);
  });

  it('midstate mode signs detached and sums only, on keys that sign neither rpm nor git', async () => {
    const tok = await token('mid', 'rules: [{keys: [rel, blob, rpmkey], kinds: [detached, sums, rpm, yum, git], mode: [content, midstate]}]');
    const { mainHeader } = rpm('evil');
    const midstate = (bytes: Buffer) => {
      const { midstate, tail } = ResumableSha2.create('sha256').update(bytes).export();
      return { hash: 'sha256', state: midstate.state.toString('base64'), length: midstate.length, tail: tail.toString('base64') };
    };
    const post = (key: string, query: string, bytes: Buffer) => api(t, 'POST', `/v1/sign/${key}/midstate?${query}`, { token: tok, json: midstate(bytes) });
    // The header signature by midstate: the server never sees the magic; the key's purposes stop it.
    const header = await post('rel', 'kind=detached&name=pkg-innocent', mainHeader);
    expect([header.status, header.json.error?.code], header.text).toEqual([403, 'KEY_PURPOSE']);
    // Kinds the server must see whole.
    for (const kind of ['yum', 'git', 'apt', 'pacman']) {
      const r = await post('blob', `kind=${kind}&name=x`, Buffer.alloc(300, 0x61));
      expect([r.status, r.json.error?.code], kind).toEqual([400, 'KIND_MISMATCH']);
    }
    // rpm and clearsign were never midstate kinds (QUERY_INVALID, as before).
    for (const kind of ['rpm', 'clearsign']) expect((await post('blob', `kind=${kind}&name=x`, Buffer.alloc(300, 0x61))).json.error?.code).toBe('QUERY_INVALID');
    // A key whose purposes are blobs signs midstates; a header short enough to be all tail is
    // still refused by its magic.
    expect((await post('blob', 'kind=detached&name=big.iso', Buffer.alloc(300, 0x61))).status).toBe(200);
    const short = await post('blob', 'kind=detached&name=x', mainHeader.subarray(0, 40));
    expect(short.json.error?.code, short.text).toBe('CONTENT_INVALID');
  });

  it('a key signs only its purposes, whatever the policy grants; only admin changes them, and it is logged', async () => {
    const tok = await token('wide', 'rules: [{keys: [rpmkey, blob], kinds: [detached, clearsign, rpm, yum, apt, pacman, sums, git]}]');
    const r1 = await sign(tok, 'rpmkey', 'name=x', 'blob bytes');
    expect([r1.status, r1.json.error?.code], r1.text).toEqual([403, 'KEY_PURPOSE']);
    expect((await sign(t.adminToken, 'rpmkey', 'name=x', 'blob bytes')).json.error?.code).toBe('KEY_PURPOSE');
    expect((await sign(tok, 'rpmkey', 'kind=yum&name=repomd.xml', REPOMD)).status).toBe(200);
    const batch = await api(t, 'POST', '/v1/sign/blob/rpm', { token: tok, json: { headers: [rpm('pkg-a').prefix.toString('base64')] } });
    expect([batch.status, batch.json.error?.code], batch.text).toEqual([403, 'KEY_PURPOSE']);
    // The rpm route's answer carries the sign route's `log` object, and the old log_index.
    const ok = await api(t, 'POST', '/v1/sign/rpmkey/rpm', { token: tok, json: { headers: [rpm('pkg-a').prefix.toString('base64')] } });
    expect(ok.status, ok.text).toBe(200);
    const item = ok.json.signatures[0];
    expect(item.log).toEqual({ index: expect.any(Number), origin: expect.any(String) });
    expect(item.log_index).toBe(String(item.log.index));

    // Purposes: shown, changed by admin only, logged and audited.
    expect((await api(t, 'GET', '/v1/keys/rpmkey', { token: tok })).json.purposes).toEqual(['rpm', 'yum']);
    const denied = await api(t, 'POST', '/v1/keys/rpmkey/purpose', { token: tok, json: { purposes: ['detached'] } });
    expect([denied.status, denied.json.error?.code]).toEqual([403, 'POLICY_DENIED']);
    expect((await api(t, 'POST', '/v1/keys/rpmkey/purpose', { token: t.adminToken, json: { purposes: ['sgin'] } })).status).toBe(400);
    const changed = await api(t, 'POST', '/v1/keys/rpmkey/purpose', { token: t.adminToken, json: { purposes: ['detached', 'rpm'] } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json.purposes).toEqual(['detached', 'rpm']);
    expect(changed.json.warnings.length).toBe(1);
    // Entries are served once integrated (a checkpoint every ~0.5 s).
    let entry = await api(t, 'GET', `/v1/log/entries?start=${changed.json.log.index}&end=${changed.json.log.index + 1}`);
    for (let i = 0; i < 100 && entry.json.entries?.[0] === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      entry = await api(t, 'GET', `/v1/log/entries?start=${changed.json.log.index}&end=${changed.json.log.index + 1}`);
    }
    expect(decodeEntry(Buffer.from(entry.json.entries[0], 'base64'))).toMatchObject({ kind: 'key', event: 'purpose', key_name: 'rpmkey', purposes: 'detached,rpm' });
    expect((await sign(tok, 'rpmkey', 'name=x', 'blob bytes')).status).toBe(200);
    expect((await sign(tok, 'rpmkey', 'kind=yum&name=repomd.xml', REPOMD)).json.error?.code).toBe('KEY_PURPOSE');
  });

  it('CLI: key create --purpose warns when rpm and detached mix, key list shows purposes, key purpose is admin only', async () => {
    const env = { SIGNET_ADDR: t.url, SIGNET_TOKEN: t.adminToken };
    requireBuild();
    const mixed = await signet(['key', 'create', 'mixed', '--purpose', 'rpm,detached'], { env });
    expect(mixed.status, mixed.stderr).toBe(0);
    expect(mixed.stderr).toMatch(/^signet: warning: .*rpm.*detached/m);
    const clean = await signet(['key', 'create', 'clean', '--purpose', 'yum,rpm'], { env });
    expect([clean.status, clean.stderr]).toEqual([0, '']);
    const list = await signet(['key', 'list'], { env });
    expect(list.stdout).toMatch(/^clean\t.*\trpm,yum$/m);
    expect(list.stdout).toMatch(/^mixed\t.*\tdetached,rpm$/m);
    const bad = await signet(['key', 'create', 'typo', '--purpose', 'rpm,sgin'], { env });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^signet: .*sgin.*\(BAD_REQUEST\)$/m);
    const changed = await signet(['key', 'purpose', 'mixed', 'detached,sums'], { env });
    expect([changed.status, changed.stdout.trim()], changed.stderr).toEqual([0, 'mixed detached,sums']);
    const tok = await token('reader', 'rules: [{keys: [mixed], kinds: [detached]}]');
    const denied = await signet(['key', 'purpose', 'mixed', 'rpm'], { env: { ...env, SIGNET_TOKEN: tok } });
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/\(POLICY_DENIED\)$/m);
    expect((await api(t, 'GET', '/v1/keys/mixed', { token: tok })).json.purposes).toEqual(['detached', 'sums']);
  });
});
