// Key management: list, show, export public keys; create and import (admin).
import { z } from 'zod';
import { armor, importSecretKey } from '../../openpgp/index.js';
import { hasUserIdControls } from '../../keys/key-service.js';
import { Secret } from '../../secret.js';
import type { KeyRecord } from '../../store/types.js';
import type { RouteModule } from '../context.js';
import { hasControlCharacters, keyName, nameParams, parse } from '../validation.js';

const userId = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !hasControlCharacters(s) && !hasUserIdControls(s), 'control characters are not allowed');

const createKeyBody = z
  .object({
    name: keyName,
    algorithm: z.enum(['rsa4096', 'ed25519']).default('ed25519'),
    user_id: userId,
  })
  .strict();

const importKeyBody = z
  .object({
    name: keyName,
    /** base64 of the binary export, or the armored text. */
    secret_key: z.string().min(1).max(700_000),
    passphrase: z.string().max(4096).optional(),
  })
  .strict();

export function keyView(k: KeyRecord): Record<string, unknown> {
  return {
    name: k.name,
    fingerprint: k.fingerprint,
    key_id: k.keyId,
    algorithm: k.algorithm,
    user_id: k.userId,
    created: new Date(k.keyCreatedAt * 1000).toISOString(),
    state: k.state,
    origin: k.origin,
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
    const key = await ctx.keys.create(body.name, { algorithm: body.algorithm, userId: body.user_id });
    const logIndex = await ctx.log.recordKeyEvent(request, { event: 'create', keyName: key.name, keyFingerprint: key.fingerprint, algorithm: key.algorithm });
    request.signetAudit = { event: 'key.create', key: key.name, fingerprint: key.fingerprint, log_index: Number(logIndex) };
    return reply.status(201).send({ ...keyView(key), log: await ctx.log.reference(logIndex, false) });
  });

  app.post('/v1/keys/import', async (request, reply) => {
    await ctx.authorize(request, { op: 'admin', what: 'import keys' });
    const body = parse(importKeyBody, request.body, 'BODY_INVALID');
    const material = body.secret_key.includes('-----BEGIN') ? Buffer.from(body.secret_key, 'utf8') : Buffer.from(body.secret_key, 'base64');
    const passphrase = body.passphrase === undefined ? undefined : new Secret(body.passphrase);
    const imported = importSecretKey(material, passphrase);
    const key = await ctx.keys.importSecret(body.name, imported.privateKey, imported.info, imported.transferablePublicKey, imported.userIds);
    const logIndex = await ctx.log.recordKeyEvent(request, { event: 'import', keyName: key.name, keyFingerprint: key.fingerprint, algorithm: key.algorithm });
    request.signetAudit = { event: 'key.import', key: key.name, fingerprint: key.fingerprint, log_index: Number(logIndex) };
    return reply.status(201).send({ ...keyView(key), log: await ctx.log.reference(logIndex, false) });
  });
};
