// At most one answer per request: a POST that carries `X-Signet-Request-Id` is answered once, and
// the answer is kept (an hour) so a retry with the same id gets it again instead of a second
// signature and a second log entry (docs/pull-mode.md "Retries"). A retry that arrives while the
// first is still being answered waits for it.
//
// Nothing in the table is usable alone: the row id and fingerprint are HMACs under a key derived
// from the master key over the id AND the credential presented (the token, or a login's body), so
// ids are per caller; the answer is AES-256-GCM under a key that also needs the credential and
// the body, so a copy of the database does not reveal a token issued by a login.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SignetError } from '../errors.js';
import type { RequestStore } from '../store/request-types.js';

export const REQUEST_ID_HEADER = 'x-signet-request-id';
const REQUEST_ID = /^[A-Za-z0-9_-]{16,128}$/;
/** How long an answer is kept for retries. */
const KEEP_MS = 60 * 60_000;
/** A claim left by a node that died mid-request stops holding the id after this. */
const PENDING_MS = 5 * 60_000;
const POLL_MS = 50;

export function requestAnswerKey(master: { reveal(): Buffer }): Buffer {
  return Buffer.from(hkdfSync('sha256', master.reveal(), Buffer.alloc(0), Buffer.from('signet request answers v1', 'utf8'), 32));
}

interface Held {
  readonly id: Buffer;
  readonly encKey: Buffer;
  done: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    signetHeld?: Held;
  }
}

function mac(key: Buffer, ...parts: Array<string | Buffer>): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    h.update(Buffer.from(String(b.length) + ':', 'ascii')).update(b);
  }
  return h.digest();
}

function seal(key: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer): Buffer | undefined {
  try {
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    d.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
  } catch {
    return undefined;
  }
}

/** The credential of the request as presented: Authorization or X-Signet-Token, else none. */
function credential(request: FastifyRequest): string {
  const h = request.headers;
  return `${h.authorization ?? ''}\0${String(h['x-signet-token'] ?? '')}`;
}

/** What the request asks, for telling a retry from another request given the same id. */
function requestBytes(request: FastifyRequest): Buffer {
  const body = request.body;
  // JSON bodies as parsed (key order as sent); an artifact stream by its declared length (the
  // client checks every signature against its own file before writing it).
  const what = body === undefined ? '' : typeof (body as { pipe?: unknown }).pipe === 'function' ? `stream:${request.headers['content-length'] ?? '?'}` : JSON.stringify(body);
  return Buffer.from(`${request.method} ${request.url}\0${what}`, 'utf8');
}

export function installRequestIds(app: FastifyInstance, deps: { store: RequestStore; key: Buffer; logger: Logger; now?: () => number }): void {
  const now = deps.now ?? Date.now;
  let lastPurge = 0;

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    const raw = request.headers[REQUEST_ID_HEADER];
    if (raw === undefined) return;
    if (typeof raw !== 'string' || !REQUEST_ID.test(raw)) throw new SignetError('BAD_REQUEST', `${REQUEST_ID_HEADER} is 16-128 letters, digits, - or _`);
    const cred = credential(request);
    const what = requestBytes(request);
    const id = mac(deps.key, 'id', raw, cred);
    const fingerprint = mac(deps.key, 'fingerprint', raw, cred, what);
    const encKey = mac(deps.key, 'answer', raw, cred, what);
    const deadline = now() + PENDING_MS;
    if (now() - lastPurge > 60_000) {
      lastPurge = now();
      void deps.store.purge(now()).catch((err: unknown) => deps.logger.warn({ err, event: 'request_ids.purge' }, 'cannot purge kept answers'));
    }
    for (;;) {
      const t = now();
      const claim = await deps.store.claim(id, fingerprint, t, t + PENDING_MS);
      if (claim.state === 'claimed') {
        request.signetHeld = { id, encKey, done: false };
        return;
      }
      if (!claim.fingerprint.equals(fingerprint)) throw new SignetError('REQUEST_ID_REUSED', `${REQUEST_ID_HEADER} was given before with another request`);
      if (claim.state === 'done') {
        const answer = open(encKey, claim.answer);
        if (answer === undefined) throw new SignetError('REQUEST_ID_REUSED', `${REQUEST_ID_HEADER} was given before with another request`);
        request.signetAudit = { ...request.signetAudit, replayed: true };
        return reply.code(claim.status).header('content-type', 'application/json; charset=utf-8').header('x-signet-replayed', '1').send(answer);
      }
      // The first request with this id is still being answered (its client lost the connection
      // and retried): wait for its answer rather than signing twice.
      if (t > deadline) throw new SignetError('SIGNER_UNAVAILABLE', 'a request with this id is still being answered');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const held = request.signetHeld;
    if (held === undefined || held.done) return payload;
    held.done = true;
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.isBuffer(payload) ? payload : undefined;
    // Server-side failures (5xx) are not kept: a retry may succeed.
    if (body === undefined || reply.statusCode >= 500) await deps.store.release(held.id).catch(() => undefined);
    else await deps.store.complete(held.id, reply.statusCode, seal(held.encKey, body), now() + KEEP_MS);
    return payload;
  });

  // A request that never reaches onSend (its body was cut off) gives its id up.
  app.addHook('onResponse', async (request: FastifyRequest) => {
    const held = request.signetHeld;
    if (held !== undefined && !held.done) {
      held.done = true;
      await deps.store.release(held.id).catch(() => undefined);
    }
  });
}
