// Key management: list, show, export public keys; create, import and set purposes (admin).
import { armor, importSecretKey } from '../../openpgp/index.js';
import type { ArtifactKind } from '../../policy/kinds.js';
import { parsePurposes, purposeWarnings } from '../../sign/pipeline.js';
import { Secret } from '../../secret.js';
import { recordProfile } from '../../keys/profile.js';
import type { KeyRecord } from '../../store/types.js';
import type { RouteModule } from '../context.js';
import { createKeyBody, importKeyBody, purposeBody } from '../../api/schemas.js';
import { nameParams, parse } from '../validation.js';

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
    const key = await ctx.keys.get(name);
    return reply.type('application/pgp-keys').send(armor('PUBLIC KEY BLOCK', key.publicKey));
  });

  app.post('/v1/keys', async (request, reply) => {
    await ctx.authorize(request, { op: 'admin', what: 'create keys' });
    const body = parse(createKeyBody, request.body, 'BODY_INVALID');
    const purposes = body.purposes === undefined ? undefined : parsePurposes(body.purposes);
    const key = await ctx.keys.create(body.name, { algorithm: body.algorithm, profile: body.profile, userId: body.user_id, ...(purposes ? { purposes } : {}) });
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
    const imported = importSecretKey(material, passphrase);
    const key = await ctx.keys.importSecret(body.name, imported.privateKey, imported.info, imported.transferablePublicKey, imported.userIds, purposes);
    const logIndex = await ctx.log.recordKeyEvent(request, { event: 'import', keyName: key.name, keyFingerprint: key.fingerprint, algorithm: key.algorithm, purposes: key.purposes });
    request.signetAudit = { event: 'key.import', key: key.name, fingerprint: key.fingerprint, purposes: key.purposes, log_index: Number(logIndex) };
    return reply.status(201).send({ ...keyView(key), warnings: purposeWarnings(key.purposes as ArtifactKind[]), log: await ctx.log.reference(logIndex, false) });
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
