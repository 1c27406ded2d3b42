// The API contract (src/api): GET /v1/openapi.json describes exactly the routes Fastify serves,
// and what a real server is sent and answers fits it, checked by a JSON Schema checker written
// here (not zod: the document must stand on its own for other clients). The server refuses to
// send an answer outside the contract; the client refuses to believe one (BAD_RESPONSE), and the
// CLI says so on one line.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignetClient } from '../../src/client/client.js';
import { SignetError } from '../../src/errors.js';
import { installContract, registeredRoutes } from '../../src/server/contract.js';
import { ResumableSha2 } from '../../src/sha2/resumable.js';
import { buildPackage, defaultMainEntries, str } from '../fixtures/rpm/build-package.js';
import { SIGNET, requireBuild } from '../helpers/cli.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

type Json = any;

// ---------------------------------------------------------------------------------------------
// A small JSON Schema (draft 2020-12) checker: the keywords zod's output uses.

function check(doc: Json, schema: Json, value: unknown, at = '$'): string[] {
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${at}: not allowed`];
  if (typeof schema.$ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(schema.$ref)?.[1];
    const target = name === undefined ? undefined : doc.components.schemas[name];
    if (target === undefined) return [`${at}: unresolved ${schema.$ref}`];
    return check(doc, target, value, at);
  }
  const errors: string[] = [];
  if (schema.anyOf && !schema.anyOf.some((s: Json) => check(doc, s, value, at).length === 0)) errors.push(`${at}: matches none of anyOf`);
  if (schema.oneOf && schema.oneOf.filter((s: Json) => check(doc, s, value, at).length === 0).length !== 1) errors.push(`${at}: does not match exactly one of oneOf`);
  for (const s of schema.allOf ?? []) errors.push(...check(doc, s, value, at));
  if ('const' in schema && value !== schema.const) errors.push(`${at}: not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: not one of ${JSON.stringify(schema.enum)}`);
  if (schema.type !== undefined) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const ok = types.some((t) => t === actual || (t === 'integer' && typeof value === 'number' && Number.isInteger(value)) || (t === 'number' && actual === 'number'));
    if (!ok) return [...errors, `${at}: ${actual}, not ${types.join('|')}`];
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && [...value].length < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${at}: does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined) value.forEach((v, i) => errors.push(...check(doc, schema.items, v, `${at}[${i}]`)));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in record)) errors.push(`${at}: ${name} is required`);
    const known = schema.properties ?? {};
    for (const [k, v] of Object.entries(record)) {
      if (schema.propertyNames !== undefined) errors.push(...check(doc, schema.propertyNames, k, `${at} key ${k}`));
      if (k in known) errors.push(...check(doc, known[k], v, `${at}.${k}`));
      else if (schema.additionalProperties !== undefined) errors.push(...check(doc, schema.additionalProperties, v, `${at}.${k}`));
    }
  }
  return errors;
}

/** The path template of the document that a concrete path matches. */
function templateOf(doc: Json, method: string, path: string): string {
  const pathname = path.split('?')[0]!;
  const hits = Object.keys(doc.paths).filter((p) => new RegExp(`^${p.replace(/\{path\}$/, '.+').replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathname) && doc.paths[p][method.toLowerCase()]);
  // A static segment beats a parameter (/v1/keys/import before /v1/keys/{name}).
  hits.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  if (hits.length === 0) throw new Error(`no path in the document for ${method} ${pathname}`);
  return hits[0]!;
}

/** Check one exchange against the document: request body, query, status and answer. */
function conforms(doc: Json, method: string, path: string, request: unknown, status: number, answer: unknown): string[] {
  const op = doc.paths[templateOf(doc, method, path)][method.toLowerCase()];
  const errors: string[] = [];
  if (request !== undefined) {
    const schema = op.requestBody?.content?.['application/json']?.schema;
    if (schema === undefined) errors.push('a JSON body the document does not take');
    else errors.push(...check(doc, schema, request, 'request'));
  }
  const query = new URLSearchParams(path.split('?')[1] ?? '');
  for (const [name, value] of query) {
    const param = (op.parameters ?? []).find((p: Json) => p.in === 'query' && p.name === name);
    if (param === undefined) errors.push(`query ${name} is not in the document`);
    else errors.push(...check(doc, param.schema, value, `query.${name}`));
  }
  const response = op.responses[String(status)] ?? (status >= 400 ? op.responses.default : undefined);
  if (response === undefined) return [...errors, `status ${status} is not in the document`];
  const schema = response.content?.['application/json']?.schema;
  if (schema === undefined) return [...errors, `status ${status} has no JSON answer in the document`];
  return [...errors, ...check(doc, schema, answer, 'answer')];
}

function rpmPrefix(name: string): Buffer {
  const payload = Buffer.from(`payload of ${name}`);
  const pkg = buildPackage({ mainEntries: defaultMainEntries(payload).map((e) => (e.tag === 1000 ? str(1000, name) : e)), payload });
  return pkg.file.subarray(0, pkg.file.length - pkg.payload.length);
}

describe('GET /v1/openapi.json', () => {
  let t: TestServer;
  let doc: Json;

  beforeAll(async () => {
    t = await startTestServer();
    const r = await api(t, 'GET', '/v1/openapi.json');
    expect(r.status, r.text).toBe(200);
    doc = r.json;
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('is an OpenAPI 3.1 document served without a token', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'signet', version: '1' });
    expect(doc.components.securitySchemes.token).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Error', 'keyInfo', 'signAnswer', 'rpmAnswer', 'createKeyBody']));
    for (const [path, ops] of Object.entries<Json>(doc.paths)) {
      for (const [method, op] of Object.entries<Json>(ops)) {
        expect(op.responses.default, `${method} ${path}`).toBeDefined();
        // Every path parameter is declared, and every declared one is in the path.
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        const declared = (op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name).sort();
        expect(declared, `${method} ${path}`).toEqual(inPath);
      }
    }
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of refs) expect(doc.components.schemas[ref.slice(29, -1)], ref).toBeDefined();
  });

  it('describes exactly the routes Fastify serves, with their methods', () => {
    const routes = registeredRoutes(t.server.app).filter((r) => r.method !== 'HEAD');
    expect(routes.length).toBeGreaterThan(40);
    const served = new Set(routes.map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{path}')}`));
    const documented = new Set(Object.entries<Json>(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect([...documented].sort()).toEqual([...served].sort());
    for (const r of routes) expect(t.server.app.hasRoute({ method: r.method as 'GET', url: r.url }), `${r.method} ${r.url}`).toBe(true);
  });

  it('a route outside the contract stops the server from starting', async () => {
    const app = Fastify();
    installContract(app);
    expect(() => app.get('/v1/undocumented', async () => ({}))).toThrow(/not in the API contract/);
    await app.close();
  });

  it('what a real server is sent and answers fits the document, refusals included', async () => {
    const admin = t.adminToken;
    const exchanges: Array<{ method: string; path: string; json?: unknown; body?: Buffer; token?: string; status: number }> = [];
    const call = async (method: string, path: string, init: { json?: unknown; body?: Buffer; token?: string | null } = {}) => {
      const token = init.token === null ? undefined : (init.token ?? admin);
      const r = await api(t, method, path, { ...(token !== undefined ? { token } : {}), ...(init.json !== undefined ? { json: init.json } : {}), ...(init.body ? { body: init.body } : {}) });
      exchanges.push({ method, path, ...(init.json !== undefined ? { json: init.json } : {}), status: r.status });
      // A refused request need not fit the document (that may be why it was refused).
      const errors = conforms(doc, method, path, r.status < 400 ? init.json : undefined, r.status, r.json);
      expect(errors, `${method} ${path} → ${r.status} ${r.text.slice(0, 300)}`).toEqual([]);
      return r;
    };
    await call('GET', '/healthz', { token: null });
    await call('GET', '/readyz', { token: null });
    expect((await call('POST', '/v1/keys', { json: { name: 'ed', algorithm: 'ed25519', user_id: 'Ed <ed@example.org>' } })).status).toBe(201);
    expect((await call('POST', '/v1/keys', { json: { name: 'files', user_id: 'Files <f@example.org>', purposes: ['detached', 'sums'] } })).status).toBe(201);
    await call('POST', '/v1/keys/files/purpose', { json: { purposes: ['detached', 'sums', 'yum'] } });
    await call('GET', '/v1/keys');
    await call('GET', '/v1/keys/ed');
    expect((await call('POST', '/v1/sign/ed?kind=detached&name=a.tar.gz&armor=1&receipt=1', { body: Buffer.from('release bytes') })).status).toBe(200);
    await call('POST', '/v1/sign/ed?clear=1', { body: Buffer.from('hello\n') });
    const { midstate, tail } = ResumableSha2.create('sha512').update(Buffer.alloc(300, 7)).export();
    const mid = { hash: 'sha512', state: midstate.state.toString('base64'), length: midstate.length, tail: tail.toString('base64') };
    expect((await call('POST', '/v1/sign/files/midstate?name=big.iso', { json: mid })).status).toBe(200);
    const rpm = await call('POST', '/v1/sign/ed/rpm', { json: { headers: [rpmPrefix('pkg-a').toString('base64'), 'AAAA'] } });
    expect(rpm.json).toMatchObject({ signed: 1, failed: 1 });
    await call('PUT', '/v1/sys/policies/ci', { json: { policy: 'rules:\n  - keys: [ed]\n    kinds: [detached]\n' } });
    await call('GET', '/v1/sys/policies');
    await call('GET', '/v1/sys/policies/ci');
    const created = await call('POST', '/v1/auth/token/create', { json: { policies: ['ci'], ttl: '1h', display_name: 'ci' } });
    await call('GET', '/v1/auth/token/lookup-self', { token: created.json.token });
    await call('GET', '/v1/auth/token');
    await call('GET', `/v1/auth/token/lookup/${created.json.accessor}`);
    await call('POST', '/v1/auth/approle/role/builder', { json: { policies: ['ci'], token_ttl: '20m', secret_id_uses: 2, bound_cidrs: ['127.0.0.0/8'] } });
    await call('GET', '/v1/auth/approle/role');
    const role = await call('GET', '/v1/auth/approle/role/builder');
    const secret = await call('POST', '/v1/auth/approle/role/builder/secret-id', { json: { ttl: '1h' } });
    const wrappedSecret = await call('POST', '/v1/auth/approle/role/builder/secret-id', { json: { wrap_ttl: '5m' } });
    await call('POST', '/v1/sys/wrapping/unwrap', { token: wrappedSecret.json.wrap_info.token });
    const listed = await call('GET', '/v1/auth/approle/role/builder/secret-id');
    const login = await call('POST', '/v1/auth/approle/login', { token: null, json: { role_id: role.json.role_id, secret_id: secret.json.secret_id } });
    await call('POST', '/v1/auth/token/revoke-self', { token: login.json.token });
    await call('DELETE', `/v1/auth/approle/role/builder/secret-id/${listed.json.secret_ids[0].accessor}`);
    const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    await call('POST', '/v1/auth/jwt/role/gitlab', { json: { policies: ['ci'], issuer: 'https://gitlab.example.org', audiences: ['signet'], jwks: { keys: [{ ...jwk, kid: 'k1', alg: 'RS256', use: 'sig' }] }, bound_claims: { project_path: 'group/app', ref: ['main', 'v1'] } } });
    await call('GET', '/v1/auth/jwt/role');
    await call('GET', '/v1/auth/jwt/role/gitlab');
    await call('POST', '/v1/auth/jwt/login', { token: null, json: { role: 'gitlab', jwt: 'not.a.jwt' } });
    await call('DELETE', '/v1/auth/jwt/role/gitlab');
    await call('DELETE', '/v1/auth/approle/role/builder');
    await call('POST', '/v1/auth/token/revoke', { json: { accessor: created.json.accessor } });
    await call('DELETE', '/v1/sys/policies/ci');
    await call('GET', '/v1/log/entries?start=0&end=2', { token: null });
    await call('GET', '/v1/log/proof/inclusion?index=1', { token: null });
    await call('GET', '/v1/log/proof/consistency?first=1&second=3', { token: null });
    // Refusals: the document's default answer.
    await call('POST', '/v1/keys', { json: { name: 'Bad Name', user_id: 'x' } });
    await call('GET', '/v1/keys/nope');
    await call('POST', '/v1/sign/ed', { body: Buffer.from('x'), token: 'sgn.forged' });
    expect(new Set(exchanges.map((e) => `${e.method} ${templateOf(doc, e.method, e.path)}`)).size).toBeGreaterThan(35);
  }, 120_000);

  it('the checker is not vacuous: an answer or a request outside the contract is caught', async () => {
    const key = (await api(t, 'GET', '/v1/keys/ed', { token: t.adminToken })).json;
    expect(conforms(doc, 'GET', '/v1/keys/ed', undefined, 200, key)).toEqual([]);
    expect(conforms(doc, 'GET', '/v1/keys/ed', undefined, 200, { ...key, algorithm: 'dsa' })).not.toEqual([]);
    const { fingerprint: _dropped, ...noFingerprint } = key;
    expect(conforms(doc, 'GET', '/v1/keys/ed', undefined, 200, noFingerprint)).not.toEqual([]);
    expect(conforms(doc, 'POST', '/v1/keys', { name: 'k', user_id: 'u', colour: 'red' }, 400, { error: { code: 'BODY_INVALID', message: 'x' } })).not.toEqual([]);
    expect(conforms(doc, 'POST', '/v1/sign/ed/rpm', { headers: [] }, 400, { error: { code: 'BODY_INVALID', message: 'x' } })).not.toEqual([]);
    expect(conforms(doc, 'GET', '/v1/keys/ed', undefined, 404, { message: 'no error object' })).not.toEqual([]);
  });
});

describe('the server sends no answer outside the contract', () => {
  it('an answer that does not fit its schema fails as a 500, and is not sent', async () => {
    const app = Fastify();
    installContract(app);
    app.get('/healthz', async () => ({ status: 'down', secret: 'internal detail' }));
    app.get('/v1/keys/:name', async () => ({ name: 'k', fingerprint: 'F', key_id: 'K', algorithm: 'ed25519', user_id: 'u', created: 'now', state: 'active', origin: 'generated', extra: 1 }));
    const bad = await app.inject({ method: 'GET', url: '/healthz' });
    expect(bad.statusCode).toBe(500);
    expect(bad.body).not.toContain('internal detail');
    // An answer that fits is sent as it is, fields the contract does not name included.
    const good = await app.inject({ method: 'GET', url: '/v1/keys/k' });
    expect(good.statusCode).toBe(200);
    expect(good.json()).toMatchObject({ name: 'k', extra: 1 });
    await app.close();
  });
});

describe('the client refuses an answer outside the contract (BAD_RESPONSE)', () => {
  let answers: Map<string, string>;
  let server: ReturnType<typeof createServer>;
  let base: string;

  beforeAll(async () => {
    answers = new Map();
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        const body = answers.get(`${req.method} ${req.url}`) ?? answers.get(`${req.method} ${req.url?.split('?')[0]}`);
        res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(body ?? JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });

  afterAll(() => {
    server?.close();
  });

  const refusal = async (run: () => Promise<unknown>): Promise<SignetError> => {
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SignetError);
    return err as SignetError;
  };

  it('names the field, for typed calls and for raw requestJson calls on contract routes', async () => {
    const c = new SignetClient({ addr: base, token: 't' });
    try {
      const key = { name: 'k', fingerprint: 'F', key_id: 'K', algorithm: 'ed25519', user_id: 'u', created: 'now', state: 'active', origin: 'generated' };
      answers.set('GET /v1/keys', JSON.stringify({ keys: [key, { ...key, fingerprint: 7 }] }));
      const e1 = await refusal(() => c.listKeys());
      expect(e1.code).toBe('BAD_RESPONSE');
      expect(e1.message).toContain('keys.1.fingerprint');
      // A signature answer without a signature, and one whose packet is not a string.
      answers.set('POST /v1/sign/k', JSON.stringify({ key: 'k', fingerprint: 'F', algorithm: 'ed25519', hash_algorithm: 'sha256', created: 1, kind: 'detached', artifact: { name: 'a', bytes: 1 } }));
      const { Readable } = await import('node:stream');
      expect((await refusal(() => c.sign('k', Readable.from([Buffer.from('x')]), {}))).code).toBe('BAD_RESPONSE');
      answers.set('POST /v1/sign/k/rpm', JSON.stringify({ key: 'k', created: 1, signed: 1, failed: 0, signatures: [{ packet: { evil: true } }] }));
      expect((await refusal(() => c.signRpm('k', [Buffer.from('x')], false))).code).toBe('BAD_RESPONSE');
      // A wrapped secret whose answer lies about its shape never reaches the caller.
      answers.set('POST /v1/sys/wrapping/unwrap', JSON.stringify({ creation_path: 'auth/approle/role/r/secret-id', created: 'x', data: 'not an object' }));
      expect((await refusal(() => c.unwrap('auth/approle/role/r/secret-id'))).code).toBe('BAD_RESPONSE');
      // requestJson (used by the log commands) checks by the contract's route for the path.
      answers.set('GET /v1/log/entries', JSON.stringify({ start: 0, entries: [42] }));
      expect((await refusal(() => c.requestJson('GET', '/v1/log/entries?start=0&end=1'))).code).toBe('BAD_RESPONSE');
      // The rpm answer in both forms (log object, legacy log_index) and extra fields are accepted.
      answers.set('POST /v1/sign/k/rpm', JSON.stringify({ key: 'k', created: 1, signed: 2, failed: 0, future: { x: 1 }, signatures: [{ packet: 'AA==', log: { index: 3, origin: 'o' }, log_index: '3' }, { packet: 'AA==', log_index: '4' }] }));
      const ok = await c.signRpm('k', [Buffer.from('x')], false);
      expect(ok.signatures.map((s) => s.log_index)).toEqual(['3', '4']);
      expect((ok as Record<string, unknown>).future).toEqual({ x: 1 });
    } finally {
      c.close();
    }
  });

  it('the CLI prints one line with the code, whatever the server put in field names', async () => {
    requireBuild();
    const hostileKey = 'x\u001b[31m\nsignet: all good (OK)\n';
    answers.set('GET /v1/auth/token/lookup-self', JSON.stringify({ accessor: 'a', display_name: 'd', policies: [], created: 'c', expires: null, revoked: null, parent: null, meta: { [hostileKey]: 5 } }));
    answers.set('GET /v1/keys', JSON.stringify({ keys: [{ name: 'k' }] }));
    for (const args of [['token', 'lookup'], ['key', 'list']]) {
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [SIGNET, ...args], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', SIGNET_ADDR: base, SIGNET_TOKEN: 't' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(/^signet: the server at http:\/\/127\.0\.0\.1:\d+ answered GET \/v1\/[^\n]* outside the API contract \([^\n]*\) \(BAD_RESPONSE\)\n$/);
      expect(r.stderr).not.toContain('\u001b');
    }
  }, 60_000);
});
