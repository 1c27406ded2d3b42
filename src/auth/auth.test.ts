// AppRole, tokens and response wrapping on a real SQLite store with a clock the test moves.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { constantTimeEqual } from '../secret.js';
import { ADMIN_POLICY } from '../policy/authorize.js';
import { createAuthServices, type AuthServices } from './index.js';
import { TokenService } from './tokens.js';
import { parseDuration } from './duration.js';
import { newAccessor } from './credentials.js';

class Clock {
  t = Date.UTC(2026, 0, 1);
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

describe('auth services', () => {
  let dir: string;
  let store: SqliteStore;
  let clock: Clock;
  let tokens: TokenService;
  let auth: AuthServices;
  let admin: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-auth-'));
    store = SqliteStore.open(join(dir, 'signet.db'));
    await store.migrate();
    clock = new Clock();
    tokens = new TokenService(store, clock.now);
    auth = createAuthServices(store, tokens, { now: clock.now, loginLimits: { windowMs: 60_000, perRoleAndSource: 3, perSource: 5 } });
    admin = (await tokens.issue({ policies: [ADMIN_POLICY], displayName: 'admin', ttlMs: null })).record.accessor;
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('login: a secret_id works once, within its TTL, and the token carries the role policies and TTL', async () => {
    const role = await auth.approle.createRole('ci', { policies: ['rel'] });
    const a = await auth.approle.issueSecretId('ci');
    const { token, record } = await auth.approle.login(role.roleId, a.secretId.revealString(), '10.0.0.1');
    expect(record.policies).toEqual(['rel']);
    expect(record.expiresAt).toBe(clock.t + 20 * 60_000);
    expect(record.meta).toMatchObject({ auth: 'approle', role: 'ci', source: '10.0.0.1' });
    expect((await tokens.authenticate(token.revealString())).accessor).toBe(record.accessor);
    // Single use.
    await expect(auth.approle.login(role.roleId, a.secretId.revealString(), '10.0.0.1')).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    // Expiry: 10 minutes by default, exclusive.
    const b = await auth.approle.issueSecretId('ci');
    clock.advance(10 * 60_000);
    await expect(auth.approle.login(role.roleId, b.secretId.revealString(), '10.0.0.2')).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    // Token expiry.
    clock.advance(10 * 60_000 - 1);
    await tokens.authenticate(token.revealString());
    clock.advance(1);
    await expect(tokens.authenticate(token.revealString())).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('login: --uses N allows exactly N logins, concurrently too; wrong role_id or secret fails alike', async () => {
    const role = await auth.approle.createRole('ci', { policies: ['rel'] });
    const other = await auth.approle.createRole('other', { policies: ['x'] });
    const s = await auth.approle.issueSecretId('ci', { uses: 3, ttlMs: 3_600_000 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => auth.approle.login(role.roleId, s.secretId.revealString(), `10.0.1.${i}`)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const t = await auth.approle.issueSecretId('ci');
    await expect(auth.approle.login(other.roleId, t.secretId.revealString(), '10.0.2.1')).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    await expect(auth.approle.login('no-such-role-id', t.secretId.revealString(), '10.0.2.2')).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    // The secret_id presented with the wrong role was not consumed.
    await auth.approle.login(role.roleId, t.secretId.revealString(), '10.0.2.3');
  });

  it('forged, malformed, revoked and wrong-length tokens and secret_ids are refused with stable codes, never a throw from a compare', async () => {
    const role = await auth.approle.createRole('ci', { policies: ['rel'] });
    const { token, record } = await auth.approle.login(role.roleId, (await auth.approle.issueSecretId('ci')).secretId.revealString(), '10.0.0.1');
    const real = token.revealString();
    const forged = ['sgn.' + 'A'.repeat(43), real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A'), real.slice(0, -1), real + 'A', 'sgs.' + real.slice(4), 'sgw.' + real.slice(4), 'x'.repeat(300), 'sgn.' + '\u0430'.repeat(43)];
    for (const f of forged) await expect(tokens.authenticate(f)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    await expect(tokens.authenticate(undefined)).rejects.toMatchObject({ code: 'TOKEN_MISSING' });
    for (const f of ['sgs.' + 'A'.repeat(43), 'sgs.short', '', 'x'.repeat(256)]) {
      await expect(auth.approle.login(role.roleId, f, `10.9.${f.length % 250}.1`)).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    }
    await tokens.revokeChecked(record.accessor, ADMIN_POLICY);
    await expect(tokens.authenticate(real)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    expect(constantTimeEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
    expect(constantTimeEqual(Buffer.alloc(0), Buffer.alloc(32))).toBe(false);
    expect(constantTimeEqual(Buffer.from('same'), Buffer.from('same'))).toBe(true);
  });

  it('the last admin token cannot be revoked; once another admin exists it can', async () => {
    await expect(tokens.revokeChecked(admin, ADMIN_POLICY)).rejects.toMatchObject({ code: 'LAST_ADMIN_TOKEN' });
    // A child admin token of the first does not count: revoking the first would take it along.
    await tokens.issue({ policies: [ADMIN_POLICY], displayName: 'child', ttlMs: null, parentAccessor: admin });
    await expect(tokens.revokeChecked(admin, ADMIN_POLICY)).rejects.toMatchObject({ code: 'LAST_ADMIN_TOKEN' });
    const role = await auth.approle.createRole('ops', { policies: [ADMIN_POLICY] });
    const other = await auth.approle.login(role.roleId, (await auth.approle.issueSecretId('ops')).secretId.revealString(), '10.0.0.1');
    expect((await tokens.revokeChecked(admin, ADMIN_POLICY)).length).toBe(2);
    await expect(tokens.revokeChecked(other.record.accessor, ADMIN_POLICY)).rejects.toMatchObject({ code: 'LAST_ADMIN_TOKEN' });
    await expect(tokens.revokeChecked('nope', ADMIN_POLICY)).rejects.toMatchObject({ code: 'TOKEN_NOT_FOUND' });
  });

  it('deleting a role revokes the tokens its logins issued and its secret_ids', async () => {
    const role = await auth.approle.createRole('ci', { policies: ['rel'] });
    const spare = await auth.approle.issueSecretId('ci');
    const { token } = await auth.approle.login(role.roleId, (await auth.approle.issueSecretId('ci')).secretId.revealString(), '10.0.0.1');
    // Used first, so the embedded store holds it in its token cache: the revocation must reach it.
    expect((await tokens.authenticate(token.revealString())).meta.role).toBe('ci');
    expect((await auth.approle.deleteRole('ci')).revokedTokens).toBe(1);
    await expect(tokens.authenticate(token.revealString())).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(auth.approle.login(role.roleId, spare.secretId.revealString(), '10.0.0.1')).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    await expect(auth.approle.getRole('ci')).rejects.toMatchObject({ code: 'ROLE_NOT_FOUND' });
  });

  it('role names that could inject into paths or policy are refused', async () => {
    for (const name of ['a/b', '..', 'a..b', '%2e%2e', 'A', '*', 'a\0b', '', 'x'.repeat(65), 'ci/', '\u0441i']) {
      await expect(auth.approle.createRole(name, { policies: ['p'] })).rejects.toMatchObject({ code: 'NAME_INVALID' });
    }
  });

  it('wrapping: unwrap once; a second unwrap is WRAPPING_TOKEN_USED; concurrent unwraps get one success', async () => {
    const w = await auth.wrapping.wrap({ secret_id: 'sgs.payload' }, { ttlMs: 60_000, creationPath: 'auth/approle/role/ci/secret-id', creatorAccessor: admin });
    const events: Array<Record<string, unknown>> = [];
    const got = await auth.wrapping.unwrap(w.token.revealString(), (f) => events.push(f));
    expect(got).toMatchObject({ creationPath: 'auth/approle/role/ci/secret-id', data: { secret_id: 'sgs.payload' } });
    await expect(auth.wrapping.unwrap(w.token.revealString(), (f) => events.push(f))).rejects.toMatchObject({ code: 'WRAPPING_TOKEN_USED' });
    expect(events).toContainEqual({ outcome: 'denied', reason: 'already_unwrapped' });

    const c = await auth.wrapping.wrap({ secret_id: 'x' }, { ttlMs: 60_000, creationPath: 'p', creatorAccessor: admin });
    const all = await Promise.allSettled(Array.from({ length: 6 }, () => auth.wrapping.unwrap(c.token.revealString())));
    expect(all.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of all) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'WRAPPING_TOKEN_USED' });
  });

  it('wrapping: expiry, unknown and malformed tokens, a revoked creator, and a token of another kind are refused', async () => {
    const w = await auth.wrapping.wrap({ secret_id: 'x' }, { ttlMs: 60_000, creationPath: 'p', creatorAccessor: admin });
    clock.advance(60_000);
    await expect(auth.wrapping.unwrap(w.token.revealString())).rejects.toMatchObject({ code: 'WRAPPING_TOKEN_EXPIRED' });
    clock.advance(-30_000); // a node with a slow clock cannot hand it out afterwards either
    await expect(auth.wrapping.unwrap(w.token.revealString())).rejects.toMatchObject({ code: 'WRAPPING_TOKEN_EXPIRED' });
    await expect(auth.wrapping.unwrap('sgw.' + 'B'.repeat(43))).rejects.toMatchObject({ code: 'WRAPPING_TOKEN_INVALID' });
    await expect(auth.wrapping.unwrap('sgw.short')).rejects.toMatchObject({ code: 'WRAPPING_TOKEN_INVALID' });
    await expect(auth.wrapping.unwrap(undefined)).rejects.toMatchObject({ code: 'TOKEN_MISSING' });
    const issued = await tokens.issue({ policies: [ADMIN_POLICY], displayName: 'op', ttlMs: null });
    await expect(auth.wrapping.unwrap(issued.token.revealString())).rejects.toMatchObject({ code: 'WRAPPING_TOKEN_INVALID' });
    const r = await auth.wrapping.wrap({ secret_id: 'y' }, { ttlMs: 60_000, creationPath: 'p', creatorAccessor: issued.record.accessor });
    const child = await tokens.issue({ policies: ['x'], displayName: 'child', ttlMs: null, parentAccessor: issued.record.accessor });
    const r2 = await auth.wrapping.wrap({ secret_id: 'z' }, { ttlMs: 3_600_000, creationPath: 'p', creatorAccessor: child.record.accessor });
    await tokens.revoke(issued.record.accessor);
    await expect(auth.wrapping.unwrap(r.token.revealString())).rejects.toMatchObject({ code: 'WRAPPING_TOKEN_INVALID' });
    // Revocation cascades to the child and what it wrapped, and survives a restart and a tidy.
    await store.close();
    store = SqliteStore.open(join(dir, 'signet.db'));
    tokens = new TokenService(store, clock.now);
    auth = createAuthServices(store, tokens, { now: clock.now });
    await store.auth.tidy(clock.t + 2 * 86_400_000);
    await expect(tokens.authenticate(child.token.revealString())).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(tokens.authenticate(issued.token.revealString())).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(auth.wrapping.unwrap(r2.token.revealString())).rejects.toMatchObject({ code: 'WRAPPING_TOKEN_INVALID' });
  });

  it('login failures are rate-limited per role and source, and per source; the limit holds across a restart', async () => {
    const role = await auth.approle.createRole('ci', { policies: ['rel'] });
    const good = await auth.approle.issueSecretId('ci', { uses: 5 });
    for (let i = 0; i < 3; i++) await expect(auth.approle.login(role.roleId, 'sgs.' + 'C'.repeat(43), '10.0.0.9')).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    // Even the right secret is refused now, from that source, without being consumed.
    await expect(auth.approle.login(role.roleId, good.secretId.revealString(), '10.0.0.9')).rejects.toMatchObject({ code: 'LOGIN_RATE_LIMITED' });
    await auth.approle.login(role.roleId, good.secretId.revealString(), '10.0.0.10');
    // Per source across roles: 5 failures with made-up role_ids.
    for (let i = 0; i < 5; i++) await expect(auth.approle.login(`made-up-${i}`, 'sgs.x', '10.0.0.11')).rejects.toMatchObject({ code: 'LOGIN_FAILED' });
    await expect(auth.approle.login(role.roleId, good.secretId.revealString(), '10.0.0.11')).rejects.toMatchObject({ code: 'LOGIN_RATE_LIMITED' });
    // Restart: counters are in the store.
    await store.close();
    store = SqliteStore.open(join(dir, 'signet.db'));
    tokens = new TokenService(store, clock.now);
    auth = createAuthServices(store, tokens, { now: clock.now, loginLimits: { windowMs: 60_000, perRoleAndSource: 3, perSource: 5 } });
    await expect(auth.approle.login(role.roleId, good.secretId.revealString(), '10.0.0.9')).rejects.toMatchObject({ code: 'LOGIN_RATE_LIMITED' });
    // Two windows later the slate is clean.
    clock.advance(120_000);
    await auth.approle.login(role.roleId, good.secretId.revealString(), '10.0.0.9');
  });

  it('secrets reach the store only as hashes: the database holds no secret_id, token or wrapped secret', async () => {
    const role = await auth.approle.createRole('ci', { policies: ['rel'] });
    const plain = await auth.approle.issueSecretId('ci');
    const wrappedSecret = await auth.approle.issueSecretId('ci');
    const w = await auth.wrapping.wrap({ secret_id: wrappedSecret.secretId.revealString() }, { ttlMs: 60_000, creationPath: 'p', creatorAccessor: admin });
    const { token } = await auth.approle.login(role.roleId, plain.secretId.revealString(), '10.0.0.1');
    const secrets = [plain.secretId.revealString(), wrappedSecret.secretId.revealString(), w.token.revealString(), token.revealString()];
    const bodies = secrets.map((s) => s.slice(4));
    await store.close();
    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)));
    for (const bytes of files) {
      for (const b of bodies) {
        expect(bytes.includes(Buffer.from(b))).toBe(false);
        expect(bytes.includes(Buffer.from(b, 'base64url'))).toBe(false);
      }
    }
    store = SqliteStore.open(join(dir, 'signet.db'));
  });

  it('durations parse with units and bounds', () => {
    expect(parseDuration('60s', 'x', { minMs: 1, maxMs: 1e9 })).toBe(60_000);
    expect(parseDuration('10m', 'x', { minMs: 1, maxMs: 1e9 })).toBe(600_000);
    expect(parseDuration(90, 'x', { minMs: 1, maxMs: 1e9 })).toBe(90_000);
    for (const bad of ['1y', '-1s', '1.5m', '', 'abc', '99999999999h']) expect(() => parseDuration(bad, 'x', { minMs: 1, maxMs: 1e12 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => parseDuration('2d', 'x', { minMs: 1, maxMs: 86_400_000 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});

describe('accessors', () => {
  it('are 96 random bits in lowercase hex, never starting with `-` (they are typed as CLI arguments)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const a = newAccessor();
      expect(a).toMatch(/^[0-9a-f]{24}$/);
      seen.add(a);
    }
    expect(seen.size).toBe(5000);
  });
});
