// Key management: list, show, export public keys; create, import and set purposes (admin).
import type { FastifyRequest } from 'fastify';
import { armor } from '../../openpgp/index.js';
import { importSecretKeyring } from '../../openpgp/secret-key.js';
import { lintCertificate } from '../../openpgp/lint.js';
import type { KeyVersionRecord, SubkeyRecord } from '../../store/key-version-types.js';
import type { ArtifactKind } from '../../policy/kinds.js';
import { parsePurposes, purposeWarnings } from '../../sign/pipeline.js';
import { Secret } from '../../secret.js';
import { recordProfile } from '../../keys/profile.js';
import type { KeyRecord } from '../../store/types.js';
import type { RouteModule } from '../context.js';
import {
  createKeyBody,
  deleteKeyBody,
  emptyBody,
  expireKeyBody,
  importKeyBody,
  purposeBody,
  revokeKeyBody,
  rotateKeyBody,
  subkeyBody,
  versionQuery,
} from '../../api/schemas.js';
import { nameParams, parse } from '../validation.js';

type KeyEventName = 'rotate' | 'expire' | 'revoke' | 'disable' | 'enable' | 'delete' | 'subkey';
/** The overlap when rotate names none: 90 days, long enough for mirrors and caches to pick up the
 *  new key before the old one leaves the keyring (docs/keys.md "Rotation"). */
export const DEFAULT_OVERLAP_SECONDS = 90 * 86400;

export function keyView(k: KeyRecord): Record<string, unknown> {
  return {
    name: k.name,
    fingerprint: k.fingerprint,
    key_id: k.keyId,
    algorithm: k.algorithm,
    profile: recordProfile(k),
    user_id: k.userId,
    created: new Date(k.keyCreatedAt * 1000).toISOString(),
    state: k.state,
    origin: k.origin,
    purposes: k.purposes,
    backend: k.backend,
  };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function versionView(v: KeyVersionRecord, currentFingerprint: string): Record<string, unknown> {
  return {
    fingerprint: v.fingerprint,
    key_id: v.keyId,
    algorithm: v.algorithm,
    backend: v.backend,
    state: v.state,
    created: new Date(v.keyCreatedAt * 1000).toISOString(),
    expires: iso(v.expiresAt === null ? null : v.expiresAt * 1000),
    export_until: iso(v.exportUntil),
    revocation_reason: v.revocationReason,
    current: v.fingerprint === currentFingerprint,
  };
}

export function subkeyView(k: SubkeyRecord): Record<string, unknown> {
  return {
    fingerprint: k.fingerprint,
    key_id: k.keyId,
    algorithm: k.algorithm,
    primary_fingerprint: k.primaryFingerprint,
    state: k.state,
    created: new Date(k.keyCreatedAt * 1000).toISOString(),
  };
}

export const keyRoutes: RouteModule = (app, ctx) => {
  app.get('/v1/keys', async (request) => {
    await ctx.authorize(request, { op: 'keys.list' });
    const keys = await ctx.keys.list();
    // A token sees the keys its policies grant (admin: all).
    const visible: KeyRecord[] = [];
    for (const k of keys) if (await ctx.permits(request, { op: 'keys.read', key: k.name })) visible.push(k);
    return { keys: visible.map(keyView) };
  });

  app.get('/v1/keys/:name', async (request) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'keys.read', key: name });
    return keyView(await ctx.keys.get(name));
  });

  app.get('/v1/keys/:name/public', async (request, reply) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'keys.read', key: name });
    // The keyring a verifier needs: every version in its overlap or revoked, current first.
    const { certificates } = await ctx.keys.lifecycle.keyring(name);
    return reply.type('application/pgp-keys').send(armor('PUBLIC KEY BLOCK', Buffer.concat(certificates)));
  });

  app.get('/v1/keys/:name/versions', async (request) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'keys.read', key: name });
    const key = await ctx.keys.get(name);
    const versions = await ctx.keys.lifecycle.versions(name);
    const subkeys = await ctx.keys.lifecycle.subkeys(name);
    return { name, versions: versions.map((v) => versionView(v, key.fingerprint)), subkeys: subkeys.map(subkeyView) };
  });

  // Every lifecycle change: admin only, in the transparency log (a key entry) and the audit log.
  const change = async (
    request: FastifyRequest,
    name: string,
    what: string,
    run: () => Promise<{ event: KeyEventName; fingerprint?: string; version?: KeyVersionRecord; previous?: KeyVersionRecord; subkey?: SubkeyRecord;
      reason?: 'compromised' | 'superseded' | 'retired' | 'unspecified'; expires?: string }>,
  ): Promise<Record<string, unknown>> => {
    const done = await run();
    ctx.keys.forget(name);
    const key = await ctx.keys.get(name);
    const fingerprint = done.fingerprint ?? done.version?.fingerprint ?? key.fingerprint;
    const logIndex = await ctx.log.recordKeyEvent(request, {
      event: done.event, keyName: name, keyFingerprint: fingerprint, algorithm: key.algorithm,
      ...(done.previous ? { previousFingerprint: done.previous.fingerprint } : {}),
      ...(done.subkey ? { subkeyFingerprint: done.subkey.fingerprint } : {}),
      ...(done.reason ? { reason: done.reason } : {}),
      ...(done.expires !== undefined ? { expires: done.expires } : {}),
    });
    request.signetAudit = { event: `key.${done.event}`, key: name, fingerprint, what, log_index: Number(logIndex),
      ...(done.previous ? { previous: done.previous.fingerprint } : {}), ...(done.subkey ? { subkey: done.subkey.fingerprint } : {}),
      ...(done.reason ? { reason: done.reason } : {}), ...(done.expires !== undefined ? { expires: done.expires } : {}) };
    const current = await ctx.keys.lifecycle.versions(name);
    const view = (fpr: string | undefined) => {
      const v = current.find((x) => x.fingerprint === fpr);
      return v ? versionView(v, key.fingerprint) : undefined;
    };
    return {
      key: keyView(key),
      ...(done.version || done.event !== 'subkey' ? { version: view(done.version?.fingerprint ?? fingerprint) } : {}),
      ...(done.previous ? { previous: view(done.previous.fingerprint) } : {}),
      ...(done.subkey ? { subkey: subkeyView(done.subkey) } : {}),
      log: await ctx.log.reference(logIndex, false),
    };
  };

  app.post('/v1/keys/:name/rotate', async (request) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'rotate keys' });
    const body = parse(rotateKeyBody, request.body ?? {}, 'BODY_INVALID');
    return change(request, name, 'rotate', async () => {
      const { previous, next } = await ctx.keys.lifecycle.rotate(name, {
        overlapMs: body.overlap_seconds === undefined ? DEFAULT_OVERLAP_SECONDS * 1000 : body.overlap_seconds === null ? null : body.overlap_seconds * 1000,
        ...(body.algorithm ? { algorithm: body.algorithm } : {}),
      });
      return { event: 'rotate', version: next, previous };
    });
  });

  app.post('/v1/keys/:name/expire', async (request) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'change key expiry' });
    const body = parse(expireKeyBody, request.body, 'BODY_INVALID');
    const expiresAt = body.expires === null ? null : Math.floor(Date.parse(body.expires) / 1000);
    return change(request, name, 'expire', async () => {
      const version = await ctx.keys.lifecycle.expire(name, expiresAt);
      return { event: 'expire', version, expires: expiresAt === null ? 'never' : new Date(expiresAt * 1000).toISOString().replace(/\.\d{3}Z$/, '.000Z') };
    });
  });

  app.post('/v1/keys/:name/revoke', async (request) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'revoke keys' });
    const body = parse(revokeKeyBody, request.body ?? {}, 'BODY_INVALID');
    return change(request, name, 'revoke', async () => {
      const version = await ctx.keys.lifecycle.revoke(name, { reason: body.reason, ...(body.version ? { version: body.version } : {}),
        ...(body.message !== undefined ? { message: body.message } : {}) });
      return { event: 'revoke', version, reason: body.reason };
    });
  });

  for (const [event, enabled] of [['disable', false], ['enable', true]] as const) {
    app.post(`/v1/keys/:name/${event}`, async (request) => {
      const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
      await ctx.authorize(request, { op: 'admin', what: `${event} keys` });
      parse(emptyBody, request.body ?? {}, 'BODY_INVALID');
      return change(request, name, event, async () => {
        await ctx.keys.lifecycle.setEnabled(name, enabled);
        return { event };
      });
    });
  }

  app.post('/v1/keys/:name/delete', async (request) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'delete keys' });
    const body = parse(deleteKeyBody, request.body ?? {}, 'BODY_INVALID');
    return change(request, name, 'delete', async () => {
      await ctx.keys.lifecycle.delete(name, body.force);
      return { event: 'delete' };
    });
  });

  app.post('/v1/keys/:name/subkeys', async (request, reply) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'add subkeys' });
    const body = parse(subkeyBody, request.body ?? {}, 'BODY_INVALID');
    const answer = await change(request, name, 'subkey', async () => {
      const subkey = await ctx.keys.lifecycle.addSubkey(name, body.algorithm);
      return { event: 'subkey', subkey, fingerprint: subkey.primaryFingerprint };
    });
    return reply.status(201).send(answer);
  });

  app.get('/v1/keys/:name/revocation-cert', async (request, reply) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'export revocation certificates' });
    const query = parse(versionQuery, request.query, 'QUERY_INVALID');
    const certificate = await ctx.keys.lifecycle.revocationCertificate(name, query.version);
    request.signetAudit = { event: 'key.revocation-cert', key: name, ...(query.version ? { version: query.version } : {}) };
    return reply.type('application/pgp-keys').send(armor('PUBLIC KEY BLOCK', certificate));
  });

  app.get('/v1/keys/:name/lint', async (request) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'lint keys' });
    const { certificates } = await ctx.keys.lifecycle.keyring(name);
    const key = await ctx.keys.get(name);
    // The current certificate is held to the rules for new keys only if signet made it.
    const findings = certificates.flatMap((c) => lintCertificate(c, { newKey: key.origin === 'generated' }));
    return { name, findings };
  });

  app.post('/v1/keys', async (request, reply) => {
    await ctx.authorize(request, { op: 'admin', what: 'create keys' });
    const body = parse(createKeyBody, request.body, 'BODY_INVALID');
    const purposes = body.purposes === undefined ? undefined : parsePurposes(body.purposes);
    const key = await ctx.keys.create(body.name, {
      algorithm: body.algorithm, profile: body.profile, userId: body.user_id, ...(purposes ? { purposes } : {}), ...(body.backend ? { backend: body.backend } : {}),
    });
    const logIndex = await ctx.log.recordKeyEvent(request, { event: 'create', keyName: key.name, keyFingerprint: key.fingerprint, algorithm: key.algorithm, purposes: key.purposes });
    request.signetAudit = { event: 'key.create', key: key.name, fingerprint: key.fingerprint, purposes: key.purposes, log_index: Number(logIndex) };
    return reply.status(201).send({ ...keyView(key), warnings: purposeWarnings(key.purposes as ArtifactKind[]), log: await ctx.log.reference(logIndex, false) });
  });

  app.post('/v1/keys/import', async (request, reply) => {
    await ctx.authorize(request, { op: 'admin', what: 'import keys' });
    const body = parse(importKeyBody, request.body, 'BODY_INVALID');
    const material = body.secret_key.includes('-----BEGIN') ? Buffer.from(body.secret_key, 'utf8') : Buffer.from(body.secret_key, 'base64');
    const passphrase = body.passphrase === undefined ? undefined : new Secret(body.passphrase);
    const purposes = body.purposes === undefined ? undefined : parsePurposes(body.purposes);
    // Subkeys are kept; a `gpg --export-secret-subkeys` export (stub primary) signs with its
    // signing subkey while the primary stays offline (docs/keys.md "Subkeys").
    const imported = importSecretKeyring(material, passphrase);
    const { record: key, findings } = await ctx.keys.importKeyring(body.name, imported, purposes, body.backend);
    const logIndex = await ctx.log.recordKeyEvent(request, { event: 'import', keyName: key.name, keyFingerprint: key.fingerprint, algorithm: key.algorithm, purposes: key.purposes });
    request.signetAudit = { event: 'key.import', key: key.name, fingerprint: key.fingerprint, purposes: key.purposes, log_index: Number(logIndex) };
    const lint = findings.map((f) => `${f.severity === 'error' ? 'verifiers will refuse this key' : 'weak key'}: ${f.message} (signet key lint)`);
    return reply.status(201).send({ ...keyView(key), warnings: [...purposeWarnings(key.purposes as ArtifactKind[]), ...lint], lint: findings,
      subkeys: imported.signingSubkeys.map((k) => k.info.fingerprint.toString('hex').toUpperCase()), primary_offline: imported.privateKey === null,
      log: await ctx.log.reference(logIndex, false) });
  });

  // Change the kinds a key may ever sign: admin only, logged (a key entry, event `purpose`) and audited.
  app.post('/v1/keys/:name/purpose', async (request, reply) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'change key purposes' });
    const body = parse(purposeBody, request.body, 'BODY_INVALID');
    const purposes = parsePurposes(body.purposes);
    const before = await ctx.keys.get(name);
    const key = await ctx.keys.setPurposes(name, purposes);
    const logIndex = await ctx.log.recordKeyEvent(request, { event: 'purpose', keyName: key.name, keyFingerprint: key.fingerprint, algorithm: key.algorithm, purposes: key.purposes });
    request.signetAudit = { event: 'key.purpose', key: key.name, fingerprint: key.fingerprint, before: before.purposes, purposes: key.purposes, log_index: Number(logIndex) };
    return reply.send({ ...keyView(key), warnings: purposeWarnings(purposes), log: await ctx.log.reference(logIndex, false) });
  });
};
