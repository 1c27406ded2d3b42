// M-of-N approvals end to end (docs/approvals.md): a rule with `approvals: {required: 2, from:
// [alice, bob, carol]}` holds a signing request (202 and an approval request in the log); only
// listed approvers other than the requester count, each once; concurrent approvals and uses give
// exactly one signature; rejection and expiry refuse it; an RPM release is approved once as its
// manifest; the CLI waits; every step is in the log and `signet log verify` passes.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry, type LogEntry } from '../../src/tlog/entry.js';
import { buildPackage, defaultMainEntries, str } from '../fixtures/rpm/build-package.js';
import { requireBuild } from '../helpers/cli.js';
import { signetAsync } from '../helpers/cli-async.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let dir: string;
const tok: Record<string, string> = {};

async function token(policies: string[], name: string): Promise<string> {
  const r = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, json: { policies, ttl: '1h', display_name: name } });
  expect(r.status, r.text).toBe(201);
  return r.json.token as string;
}

async function entry(index: number): Promise<LogEntry> {
  for (;;) {
    const r = await api(t, 'GET', `/v1/log/entries?start=${index}&end=${index + 1}`);
    if (r.json.entries.length > 0) return decodeEntry(Buffer.from(r.json.entries[0], 'base64'));
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const sign = (who: string, body: string, query = '') => api(t, 'POST', `/v1/sign/blobs?name=nova-1.0.0.tar.gz${query}`, { token: tok[who]!, body: Buffer.from(body) });
const decide = (who: string, id: string, decision: 'approve' | 'reject', comment?: string) =>
  api(t, 'POST', `/v1/requests/${id}/${decision}`, { token: tok[who]!, json: comment !== undefined ? { comment } : {} });
const cli = (args: string[], who: string, env: Record<string, string> = {}) => signetAsync(args, { env: { SIGNET_ADDR: t.url, SIGNET_TOKEN: tok[who]!, SIGNET_APPROVAL_POLL: '100', ...env } });

beforeAll(async () => {
  requireBuild();
  t = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'signet-approvals-'));
  for (const [name, purposes] of [['blobs', ['detached']], ['rpms', ['rpm']]] as const) {
    const k = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name, algorithm: 'ed25519', user_id: `${name} <rel@example.org>`, purposes } });
    expect(k.status, k.text).toBe(201);
  }
  const policies: Record<string, string> = {
    release: [
      'rules:',
      "  - {keys: [blobs], kinds: [detached], names: ['nova-*'], approvals: {required: 2, from: [alice, bob, carol]}}",
      "  - {keys: [blobs], kinds: [detached], names: ['quick-*'], approvals: {required: 1, from: [alice], ttl: 1s}}",
      '  - {keys: [rpms], kinds: [rpm], approvals: {required: 2, from: [alice, bob, carol]}}',
      "  - {keys: [blobs], kinds: [detached], names: ['both-*'], requires: [vetted], approvals: {required: 2, from: [alice, bob, carol]}}",
    ].join('\n'),
    vetter: "rules:\n  - {kinds: [vet]}\n",
    // Approvers need no grant to approve; alice may also request (and then not approve herself).
    approver: "rules:\n  - {keys: [blobs], kinds: [detached], names: ['nova-*'], approvals: {required: 2, from: [alice, bob, carol]}}\n",
    nobody: "rules:\n  - {keys: [none], kinds: [detached]}\n",
  };
  for (const [name, policy] of Object.entries(policies)) {
    const r = await api(t, 'PUT', `/v1/sys/policies/${name}`, { token: t.adminToken, json: { policy } });
    expect(r.status, r.text).toBe(200);
  }
  tok.bot = await token(['release'], 'release-bot');
  for (const name of ['alice', 'bob', 'carol']) tok[name] = await token(['approver'], name);
  tok.mallory = await token(['nobody'], 'mallory');
  tok.vetter = await token(['vetter'], 'vetter');
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('approvals', () => {
  it('2 of 3: held with 202, self-approval, outsiders and double approval refused, concurrent uses sign once, the log links it all', async () => {
    const held = await sign('bot', 'nova tarball');
    expect(held.status, held.text).toBe(202);
    expect(held.json).toMatchObject({ status: 'pending_approval', request: { required: 2, approvers: ['alice', 'bob', 'carol'] } });
    const id = held.json.request.id as string;
    expect(held.json.request.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const requestEntry = await entry(held.json.request.log.index);
    expect(requestEntry).toMatchObject({ kind: 'approval_request', request_id: id, identity: 'release-bot', required: 2, approvers: ['alice', 'bob', 'carol'], sig_kind: 'detached' });

    // alice's own request: she may not approve it.
    const own = await sign('alice', 'alice tarball');
    expect(own.status).toBe(202);
    expect((await decide('alice', own.json.request.id, 'approve')).json.error.code).toBe('APPROVAL_DENIED');

    expect((await decide('bot', id, 'approve')).json.error.code).toBe('APPROVAL_DENIED');
    // A token that neither made nor may decide a request does not see it.
    expect((await api(t, 'GET', '/v1/requests', { token: tok.mallory! })).json.requests).toEqual([]);
    expect((await api(t, 'GET', `/v1/requests/${id}`, { token: tok.mallory! })).json.error.code).toBe('REQUEST_NOT_FOUND');
    expect((await api(t, 'GET', `/v1/requests/${id}`, { token: tok.carol! })).json.state).toBe('pending');
    expect((await decide('mallory', id, 'approve')).json.error.code).toBe('APPROVAL_DENIED');
    expect((await decide('alice', id, 'approve', 'checked the tag')).status).toBe(200);
    expect((await decide('alice', id, 'approve')).json.error.code).toBe('APPROVAL_DUPLICATE');
    // One approval is not two.
    expect((await sign('bot', 'nova tarball', `&approval=${id}`)).json.error.code).toBe('REQUEST_PENDING');

    // bob and carol at once: one of them completes it, the other finds it closed.
    const [b, c] = await Promise.all([decide('bob', id, 'approve'), decide('carol', id, 'approve')]);
    expect([b.status, c.status].sort()).toEqual([200, 409]);
    expect([b, c].find((r) => r.status === 409)!.json.error.code).toBe('REQUEST_CLOSED');

    // Another artifact under the approval is refused; only the requester may use it.
    expect((await sign('bot', 'another tarball', `&approval=${id}`)).json.error.code).toBe('APPROVAL_MISMATCH');
    expect((await sign('alice', 'nova tarball', `&approval=${id}`)).json.error.code).toBe('APPROVAL_DENIED');

    // Five uses at once: exactly one signature.
    const uses = await Promise.all(Array.from({ length: 5 }, () => sign('bot', 'nova tarball', `&approval=${id}`)));
    const signed = uses.filter((u) => u.status === 200);
    expect(signed).toHaveLength(1);
    expect(uses.filter((u) => u.status !== 200).map((u) => u.json.error.code)).toEqual(Array(4).fill('REQUEST_CLOSED'));

    const view = (await api(t, 'GET', `/v1/requests/${id}`, { token: tok.alice! })).json;
    expect(view).toMatchObject({ state: 'signed', signed_log_index: signed[0]!.json.log.index });
    const approvals = view.approvals.filter((a: { decision: string }) => a.decision === 'approve');
    expect(approvals.map((a: { identity: string }) => a.identity)).toEqual(expect.arrayContaining(['alice']));
    expect(approvals).toHaveLength(2);
    const sigEntry = await entry(signed[0]!.json.log.index);
    expect(sigEntry).toMatchObject({
      kind: 'signature',
      approvals: { request_id: id, request_entry: held.json.request.log.index, entries: approvals.map((a: { log_index: number }) => a.log_index) },
    });
    for (const a of approvals) {
      expect(await entry(a.log_index)).toMatchObject({ kind: 'approval', request_id: id, decision: 'approve', identity: a.identity, request_entry: held.json.request.log.index });
    }
    expect(await entry(approvals[0].log_index)).toMatchObject({ identity: 'alice', comment: 'checked the tag' });
  });

  it('a rejection refuses the request, and so does expiry', async () => {
    const held = await sign('bot', 'rejected tarball');
    const id = held.json.request.id as string;
    await decide('alice', id, 'approve');
    const rej = await decide('carol', id, 'reject', 'tag not signed by a release manager');
    expect(rej.json.state).toBe('rejected');
    expect((await decide('bob', id, 'approve')).json.error.code).toBe('REQUEST_CLOSED');
    expect((await sign('bot', 'rejected tarball', `&approval=${id}`)).json.error.code).toBe('REQUEST_REJECTED');
    expect(await entry(rej.json.approvals.find((a: { decision: string }) => a.decision === 'reject').log_index)).toMatchObject({ kind: 'approval', decision: 'reject', identity: 'carol' });

    const quick = await api(t, 'POST', '/v1/sign/blobs?name=quick-1.tar.gz', { token: tok.bot!, body: Buffer.from('quick') });
    expect(quick.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await decide('alice', quick.json.request.id, 'approve')).json.error.code).toBe('REQUEST_EXPIRED');
    const listed = (await api(t, 'GET', '/v1/requests', { token: tok.alice! })).json.requests;
    expect(listed.find((r: { id: string }) => r.id === quick.json.request.id).state).toBe('expired');
    const pending = (await api(t, 'GET', '/v1/requests?pending=1', { token: tok.alice! })).json.requests;
    expect(pending.map((r: { id: string }) => r.id)).not.toContain(quick.json.request.id);
  });

  it('the CLI waits with a progress line and writes the signature once approved; --no-wait prints the id', async () => {
    const file = join(dir, 'nova-2.0.0.tar.gz');
    writeFileSync(file, 'nova 2.0.0');
    const waiting = cli(['sign', file, '--key', 'blobs', '--armor'], 'bot');
    let id: string | undefined;
    for (let i = 0; i < 100 && id === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const list = (await api(t, 'GET', '/v1/requests?pending=1', { token: tok.alice! })).json.requests;
      id = list.find((r: { name: string }) => r.name === 'nova-2.0.0.tar.gz')?.id;
    }
    expect(id).toBeDefined();
    await decide('alice', id!, 'approve');
    await decide('bob', id!, 'approve');
    const r = await waiting;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`needs 2 approvals from alice, bob, carol`);
    expect(r.stderr).toContain(`request ${id}: 2 of 2 approvals (alice, bob)`);
    expect(readFileSync(`${file}.asc`, 'utf8')).toContain('BEGIN PGP SIGNATURE');

    const other = join(dir, 'nova-3.0.0.tar.gz');
    writeFileSync(other, 'nova 3.0.0');
    const nowait = await cli(['sign', other, '--key', 'blobs', '--no-wait'], 'bot');
    expect(nowait.status).toBe(0);
    const held = nowait.stdout.trim();
    expect(held).toMatch(/^[0-9a-f]{32}$/);
    await cli(['approve', held, '--comment', 'ok'], 'carol');
    await cli(['approve', held], 'bob');
    const listed = await cli(['requests', '--json'], 'alice');
    expect(JSON.parse(listed.stdout).requests.find((q: { id: string }) => q.id === held).state).toBe('approved');
    const done = await cli(['sign', other, '--key', 'blobs', '--approval', held], 'bot');
    expect(done.status, done.stderr).toBe(0);
    expect(readFileSync(`${other}.sig`).length).toBeGreaterThan(0);
    const selfApprove = await cli(['approve', held], 'bot');
    expect(selfApprove.stderr).toMatch(/\((APPROVAL_DENIED|REQUEST_CLOSED)\)/);
  });

  it('an RPM release of many packages is approved once, as its manifest', async () => {
    const files: string[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `pkg${String(i).padStart(2, '0')}`;
      const payload = Buffer.from(`payload of ${name}`);
      const pkg = buildPackage({ mainEntries: defaultMainEntries(payload).map((e) => (e.tag === 1000 ? str(1000, name) : e)), payload });
      const path = join(dir, `${name}-1.0-1.noarch.rpm`);
      writeFileSync(path, pkg.file);
      files.push(path);
    }
    const held = await cli(['rpm', 'sign', '--key', 'rpms', '--no-wait', ...files], 'bot');
    expect(held.status, held.stderr).toBe(0);
    const id = held.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const view = (await api(t, 'GET', `/v1/requests/${id}`, { token: tok.alice! })).json;
    expect(view).toMatchObject({ kind: 'rpm', packages: 30, required: 2, state: 'pending' });
    // The partial batches held before the release went as one were withdrawn by their requester.
    const all = (await api(t, 'GET', '/v1/requests', { token: tok.alice! })).json.requests.filter((r: { kind: string }) => r.kind === 'rpm');
    expect(all.filter((r: { state: string }) => r.state === 'pending').map((r: { id: string }) => r.id)).toEqual([id]);
    await decide('alice', id, 'approve');
    await decide('carol', id, 'approve');
    const done = await cli(['rpm', 'sign', '--key', 'rpms', '--approval', id, '--json', ...files], 'bot');
    expect(done.status, done.stderr).toBe(0);
    const summary = JSON.parse(done.stdout);
    expect(summary).toMatchObject({ signed: 30, failed: 0 });
    const after = (await api(t, 'GET', `/v1/requests/${id}`, { token: tok.alice! })).json;
    expect(after.state).toBe('signed');
    // Every package's signature entry cites the one request; the request entry names the manifest.
    const requestEntry = await entry(after.log_index);
    expect(requestEntry).toMatchObject({ kind: 'approval_request', sig_kind: 'rpm', artifact: { packages: 30 } });
    let cited: LogEntry[] = [];
    for (let tries = 0; tries < 20 && cited.length < 30; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const page = (await api(t, 'GET', '/v1/log/entries?start=0&end=1000')).json.entries as string[];
      cited = page.map((e) => decodeEntry(Buffer.from(e, 'base64'))).filter((e) => e.kind === 'signature' && e.approvals?.request_id === id);
    }
    expect(cited).toHaveLength(30);
    expect(new Set(cited.map((e) => (e.kind === 'signature' ? e.artifact.nevra : '')))).toHaveProperty('size', 30);
    // An approval signs once: the same manifest under it again is refused.
    const again = await cli(['rpm', 'sign', '--key', 'rpms', '--replace', '--approval', id, ...files], 'bot');
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('has already been signed (REQUEST_CLOSED)');
  });

  it('vetted and approved: no request for an unvetted artifact; the signature cites the record and the approvals', async () => {
    const body = 'both tarball';
    const refused = await api(t, 'POST', '/v1/sign/blobs?name=both-1.tar.gz', { token: tok.bot!, body: Buffer.from(body) });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('VETTING_REQUIRED');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const vet = await api(t, 'POST', '/v1/vet', {
      token: tok.vetter!,
      json: { name: 'both-1.tar.gz', sha256, repository: 'r', tag: 'v1', tag_object: 'ab'.repeat(20), tag_signer: 'CD'.repeat(20), allowed: [], verdict: 'pass' },
    });
    expect(vet.status, vet.text).toBe(201);
    const held = await api(t, 'POST', '/v1/sign/blobs?name=both-1.tar.gz', { token: tok.bot!, body: Buffer.from(body) });
    expect(held.status).toBe(202);
    const id = held.json.request.id as string;
    await decide('alice', id, 'approve');
    await decide('bob', id, 'approve');
    const signed = await api(t, 'POST', `/v1/sign/blobs?name=both-1.tar.gz&approval=${id}`, { token: tok.bot!, body: Buffer.from(body) });
    expect(signed.status, signed.text).toBe(200);
    expect(await entry(signed.json.log.index)).toMatchObject({ vetting: { entry: vet.json.log.index }, approvals: { request_id: id, request_entry: held.json.request.log.index } });
  });

  it('log search finds vetting records, approval requests and approvals, by kind, name, key and role', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const search = async (query: string) => {
      const r = await api(t, 'GET', `/v1/log/search?since=${since}${query}`, { token: t.adminToken });
      expect(r.status, r.text).toBe(200);
      return r.json.entries as Array<Record<string, unknown>>;
    };
    const vets = await search('&kind=vet&name=both-*');
    expect(vets).toHaveLength(1);
    expect(vets[0]).toMatchObject({ kind: 'vet', name: 'both-1.tar.gz', verdict: 'pass', repository: 'r', tag: 'v1', key_fingerprint: 'CD'.repeat(20), key: null, role: 'vetter' });
    // The tag's signer is the key a vetting record is about.
    expect(await search(`&key=${'cd'.repeat(20)}`)).toEqual(vets);
    const requests = await search('&kind=approval_request&name=both-*');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ kind: 'approval_request', name: 'both-1.tar.gz', key: 'blobs', role: 'release-bot' });
    const id = requests[0]!.request_id as string;
    const decisions = (await search('&kind=approval')).filter((e) => e.request_id === id);
    expect(decisions.map((e) => [e.decision, e.identity, e.role, e.name])).toEqual([
      ['approve', 'alice', 'alice', null],
      ['approve', 'bob', 'bob', null],
    ]);
    // Without a kind, a release's whole story: vetted, held, approved twice, signed.
    const story = (await search('')).filter((e) => e.name === 'both-1.tar.gz' || e.request_id === id);
    expect(story.map((e) => (e.kind === 'approval' ? `approval ${e.decision}` : e.kind))).toEqual(['vet', 'approval_request', 'approval approve', 'approval approve', 'detached']);
    // The CLI prints them as lines too.
    const lines = await cli(['log', 'search', '--since', '1h', '--kind', 'approval'], 'alice', { SIGNET_TOKEN: t.adminToken });
    expect(lines.status, lines.stderr).toBe(0);
    expect(lines.stdout).toMatch(new RegExp(`\\tapproval approve\\talice\\t${id}`));
  });

  it('signet log verify passes after the approval flows', async () => {
    await new Promise((resolve) => setTimeout(resolve, 700));
    const r = await cli(['log', 'verify'], 'alice');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
