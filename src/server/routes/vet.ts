// Vetting records (docs/vetting.md), both needing a rule that grants `vet`:
//   POST /v1/vet                 {name, sha256, repository, tag, tag_object, tag_signer?, allowed,
//                                 verdict, reason?}: a record the client made (`signet vet`). The
//                                 server checks the grant and logs it; it cannot re-check the claim.
//   POST /v1/vet/mirror/:repo?tag=T[&allow=P…][&name=N]   body: the tarball. The server vets it
//                                 itself against its read-only mirror (settings `vet.mirrors`):
//                                 MIRRORS/<repo>.git (or MIRRORS/<repo>) and the project keyring
//                                 MIRRORS/<repo>.keyring.asc.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SignetError } from '../../errors.js';
import { vetMirrorParams, vetMirrorQuery, vetRecordBody } from '../../api/schemas.js';
import { vetInWorker } from '../../vet/vet.js';
import type { RouteModule } from '../context.js';
import { parse } from '../validation.js';

export const vetRoutes: RouteModule = (app, ctx) => {
  app.post('/v1/vet', async (request, reply) => {
    const body = parse(vetRecordBody, request.body, 'BODY_INVALID');
    await ctx.authorize(request, { op: 'vet', name: body.name });
    if (body.verdict === 'pass' && body.tag_signer === undefined) throw new SignetError('BODY_INVALID', 'a passing vetting record names the tag signer');
    const index = await ctx.log.recordVet(request, {
      name: body.name,
      sha256: body.sha256,
      repository: body.repository,
      tag: body.tag,
      tagObject: body.tag_object,
      ...(body.tag_signer !== undefined ? { tagSigner: body.tag_signer } : {}),
      allowed: body.allowed,
      verdict: body.verdict,
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
      mode: 'client',
    });
    await ctx.store.approvals.recordVetting(body.sha256, Number(index), body.verdict, Date.now());
    request.signetAudit = { ...request.signetAudit, event: 'vet', mode: 'client', artifact: body.name, sha256: body.sha256, verdict: body.verdict, log_index: Number(index) };
    return reply.code(201).send({ verdict: body.verdict, sha256: body.sha256, log: await ctx.log.reference(index, false) });
  });

  app.post('/v1/vet/mirror/:repo', async (request, reply) => {
    const { repo } = parse(vetMirrorParams, request.params, 'BAD_REQUEST');
    const q = parse(vetMirrorQuery, request.query, 'QUERY_INVALID');
    const name = q.name ?? `${repo}-${q.tag}.tar.gz`;
    await ctx.authorize(request, { op: 'vet', name });
    const mirrors = ctx.vetMirrors;
    if (mirrors === undefined) throw new SignetError('NOT_FOUND', 'this server has no mirrors to vet against (settings vet.mirrors)');
    const dir = [join(mirrors, `${repo}.git`), join(mirrors, repo)].find((d) => existsSync(d));
    const keyringPath = join(mirrors, `${repo}.keyring.asc`);
    if (dir === undefined || !existsSync(keyringPath)) throw new SignetError('NOT_FOUND', `no mirror of ${repo} with its keyring`);
    const body = request.body as Readable | undefined;
    if (body === undefined || body === null || typeof (body as Readable).pipe !== 'function') throw new SignetError('BODY_EMPTY', 'send the tarball as the raw request body');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > ctx.limits.maxVetBytes) throw new SignetError('BODY_TOO_LARGE', `a tarball to vet on the server is at most ${ctx.limits.maxVetBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
    const tarball = Buffer.concat(chunks);
    const allow = q.allow === undefined ? [] : Array.isArray(q.allow) ? q.allow : [q.allow];
    const result = await vetInWorker({ tarball, repo: dir, tag: q.tag, keyring: readFileSync(keyringPath, 'utf8'), allow });
    if (result.tagObject === undefined) throw new SignetError('VET_FAILED', result.reason ?? 'the tag could not be resolved');
    const index = await ctx.log.recordVet(request, {
      name,
      sha256: createHash('sha256').update(tarball).digest('hex'),
      repository: repo,
      tag: q.tag,
      tagObject: result.tagObject,
      ...(result.signer !== undefined ? { tagSigner: result.signer } : {}),
      allowed: allow,
      verdict: result.verdict,
      ...(result.reason !== undefined ? { reason: result.reason } : {}),
      mode: 'server',
    });
    await ctx.store.approvals.recordVetting(result.sha256, Number(index), result.verdict, Date.now());
    request.signetAudit = { ...request.signetAudit, event: 'vet', mode: 'server', artifact: name, sha256: result.sha256, verdict: result.verdict, log_index: Number(index) };
    return reply.code(201).send({
      verdict: result.verdict,
      sha256: result.sha256,
      log: await ctx.log.reference(index, false),
      ...(result.reason !== undefined ? { reason: result.reason } : {}),
      problems: result.problems,
    });
  });
};
