// Every route of the HTTP API with its request and answer schemas (src/api/schemas.ts). The
// server refuses to start with a route this table does not name (src/server/contract.ts), and
// GET /v1/openapi.json is generated from it (src/api/openapi.ts).
import type { z } from 'zod';
import * as s from './schemas.js';

/** An answer that is not JSON: its media types. */
export interface MediaAnswer {
  readonly media: readonly string[];
  readonly description: string;
}

export interface RouteContract {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify's form: `:param`, `*` for the rest of the path. */
  readonly path: string;
  readonly summary: string;
  /** No token needed (log reads, health, login, unwrap: those authenticate by what they carry). */
  readonly public?: boolean;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  /** A JSON body, or `binary`: the raw artifact (application/octet-stream). */
  readonly body?: z.ZodType | 'binary';
  /** The success status and its answer. */
  readonly status: 200 | 201;
  readonly answer: z.ZodType | MediaAnswer;
  /** A 202 answer besides: the request is held (approvals, docs/approvals.md), nothing done yet. */
  readonly held?: z.ZodType;
}

const text = (description: string): MediaAnswer => ({ media: ['text/plain'], description });

export const ROUTES: readonly RouteContract[] = [
  { method: 'GET', path: '/healthz', summary: 'Liveness', public: true, status: 200, answer: s.healthAnswer },
  { method: 'GET', path: '/readyz', summary: 'Readiness: the store answers and the audit log can be written (503 otherwise)', public: true, status: 200, answer: s.readyAnswer },
  { method: 'GET', path: '/metrics', summary: 'Prometheus metrics', public: true, status: 200, answer: text('Prometheus text exposition format') },
  { method: 'GET', path: '/v1/openapi.json', summary: 'This document', public: true, status: 200, answer: s.openApiAnswer },

  { method: 'GET', path: '/v1/keys', summary: 'List the keys the token may read', status: 200, answer: s.keyList },
  { method: 'POST', path: '/v1/keys', summary: 'Create a key (admin)', body: s.createKeyBody, status: 201, answer: s.keyInfo },
  { method: 'POST', path: '/v1/keys/import', summary: 'Import a secret key (admin)', body: s.importKeyBody, status: 201, answer: s.keyInfo },
  { method: 'GET', path: '/v1/keys/:name', summary: 'Show a key', params: s.nameParams, status: 200, answer: s.keyInfo },
  { method: 'GET', path: '/v1/keys/:name/public', summary: 'Export the public keyring (armored): every version a verifier needs', params: s.nameParams, status: 200, answer: { media: ['application/pgp-keys'], description: 'ASCII-armored OpenPGP public key' } },
  { method: 'GET', path: '/v1/keys/:name/versions', summary: "The key's versions and subkeys", params: s.nameParams, status: 200, answer: s.keyVersionsAnswer },
  { method: 'POST', path: '/v1/keys/:name/rotate', summary: 'Make a new version the signing one, certified by the previous (admin)', params: s.nameParams, body: s.rotateKeyBody, status: 200, answer: s.keyChangeAnswer },
  { method: 'POST', path: '/v1/keys/:name/expire', summary: 'Set or clear the key expiration time with a new self-signature (admin)', params: s.nameParams, body: s.expireKeyBody, status: 200, answer: s.keyChangeAnswer },
  { method: 'POST', path: '/v1/keys/:name/revoke', summary: 'Revoke the key or one version, published in its certificate (admin)', params: s.nameParams, body: s.revokeKeyBody, status: 200, answer: s.keyChangeAnswer },
  { method: 'POST', path: '/v1/keys/:name/disable', summary: 'Refuse signing until enabled (admin)', params: s.nameParams, body: s.emptyBody, status: 200, answer: s.keyChangeAnswer },
  { method: 'POST', path: '/v1/keys/:name/enable', summary: 'Sign again after disable (admin)', params: s.nameParams, body: s.emptyBody, status: 200, answer: s.keyChangeAnswer },
  { method: 'POST', path: '/v1/keys/:name/delete', summary: 'Erase the secret keys; the public part stays (admin; force required)', params: s.nameParams, body: s.deleteKeyBody, status: 200, answer: s.keyChangeAnswer },
  { method: 'POST', path: '/v1/keys/:name/subkeys', summary: 'Add a signing subkey that signs from now on (admin)', params: s.nameParams, body: s.subkeyBody, status: 201, answer: s.keyChangeAnswer },
  { method: 'GET', path: '/v1/keys/:name/revocation-cert', summary: 'The revocation certificate made at creation (admin)', params: s.nameParams, query: s.versionQuery, status: 200, answer: { media: ['application/pgp-keys'], description: 'ASCII-armored OpenPGP revocation signature' } },
  { method: 'GET', path: '/v1/keys/:name/lint', summary: "Check the key's certificate against what verifiers refuse (admin)", params: s.nameParams, status: 200, answer: s.lintAnswer },
  { method: 'POST', path: '/v1/keys/:name/purpose', summary: 'Replace the kinds the key may ever sign (admin)', params: s.nameParams, body: s.purposeBody, status: 200, answer: s.keyInfo },

  { method: 'POST', path: '/v1/sign/:key', summary: 'Sign the request body', params: s.keyParams, query: s.signQuery, body: 'binary', status: 200, answer: s.signAnswer, held: s.pendingApproval },
  { method: 'POST', path: '/v1/sign/:key/midstate/salt', summary: 'A single-use salt for a v6 key\'s midstate signature (docs/midstate.md)', params: s.keyParams, query: s.midstateSaltQuery, status: 200, answer: s.midstateSaltAnswer },
  { method: 'POST', path: '/v1/sign/:key/midstate', summary: 'Sign a file hashed by the client up to its last full block (docs/midstate.md)', params: s.keyParams, query: s.midstateQuery, body: s.midstateBody, status: 200, answer: s.signAnswer, held: s.pendingApproval },
  { method: 'POST', path: '/v1/sign/:key/rpm', summary: 'Sign a batch of RPM header prefixes', params: s.keyParams, body: s.rpmBatchBody, status: 200, answer: s.rpmAnswer, held: s.pendingApproval },

  { method: 'POST', path: '/v1/vet', summary: 'Record a vetting made by the client (kinds: [vet]; docs/vetting.md)', body: s.vetRecordBody, status: 201, answer: s.vetAnswer },
  { method: 'POST', path: '/v1/vet/mirror/:repo', summary: "Vet the body against the server's mirror of the repository (kinds: [vet])", params: s.vetMirrorParams, query: s.vetMirrorQuery, body: 'binary', status: 201, answer: s.vetAnswer },
  { method: 'GET', path: '/v1/requests', summary: 'Approval requests (docs/approvals.md)', query: s.requestsQuery, status: 200, answer: s.approvalRequestList },
  { method: 'GET', path: '/v1/requests/:id', summary: 'One approval request', params: s.requestParams, status: 200, answer: s.approvalRequestView },
  { method: 'POST', path: '/v1/requests/:id/approve', summary: 'Approve a request (a listed approver, not its requester)', params: s.requestParams, body: s.decisionBody, status: 200, answer: s.approvalRequestView },
  { method: 'POST', path: '/v1/requests/:id/reject', summary: 'Reject a request (a listed approver)', params: s.requestParams, body: s.decisionBody, status: 200, answer: s.approvalRequestView },

  { method: 'GET', path: '/v1/log/checkpoint', summary: 'Latest signed checkpoint (C2SP tlog-checkpoint)', public: true, status: 200, answer: text('signed note') },
  { method: 'GET', path: '/v1/log/key', summary: "The log's verifier key (C2SP signed-note)", public: true, status: 200, answer: text('verifier key') },
  { method: 'GET', path: '/v1/log/entries', summary: 'Log entries [start, end), base64, at most 1000', public: true, query: s.entriesQuery, status: 200, answer: s.logEntries },
  { method: 'GET', path: '/v1/log/proof/inclusion', summary: 'RFC 9162 inclusion proof', public: true, query: s.inclusionQuery, status: 200, answer: s.inclusionProof },
  { method: 'GET', path: '/v1/log/proof/consistency', summary: 'RFC 9162 consistency proof', public: true, query: s.consistencyQuery, status: 200, answer: s.consistencyProof },
  { method: 'GET', path: '/v1/log/receipt', summary: 'C2SP tlog-proof receipt of an entry', public: true, query: s.receiptQuery, status: 200, answer: text('tlog-proof') },
  { method: 'GET', path: '/v1/log/search', summary: 'Log entries in a time window, with key names and roles (admin)', query: s.logSearchQuery, status: 200, answer: s.logSearchAnswer },
  { method: 'GET', path: '/v1/log/tile/*', summary: 'C2SP tlog-tiles', public: true, status: 200, answer: { media: ['application/octet-stream'], description: 'tile or entry bundle' } },

  { method: 'GET', path: '/v1/sys/policies', summary: 'List policies (admin)', status: 200, answer: s.policyList },
  { method: 'PUT', path: '/v1/sys/policies/:name', summary: 'Write a policy (admin; all or nothing)', params: s.policyParams, body: s.writePolicyBody, status: 200, answer: s.policyInfo },
  { method: 'GET', path: '/v1/sys/policies/:name', summary: 'Read a policy (admin)', params: s.policyParams, status: 200, answer: s.policyInfo },
  { method: 'DELETE', path: '/v1/sys/policies/:name', summary: 'Delete a policy (admin)', params: s.policyParams, status: 200, answer: s.deleted },

  { method: 'POST', path: '/v1/auth/token/create', summary: 'Create a token bound to policies (admin)', body: s.createTokenBody, status: 201, answer: s.createdToken },
  { method: 'GET', path: '/v1/auth/token', summary: 'List tokens (admin)', status: 200, answer: s.tokenList },
  { method: 'GET', path: '/v1/auth/token/lookup-self', summary: 'The presented token', status: 200, answer: s.tokenInfo },
  { method: 'GET', path: '/v1/auth/token/lookup/:accessor', summary: 'Look up a token by accessor (admin)', params: s.accessorParams, status: 200, answer: s.tokenInfo },
  { method: 'POST', path: '/v1/auth/token/revoke', summary: 'Revoke a token and its children (admin)', body: s.accessorBody, status: 200, answer: s.revoked },
  { method: 'POST', path: '/v1/auth/token/revoke-self', summary: 'Revoke the presented token and its children', status: 200, answer: s.revoked },
  { method: 'POST', path: '/v1/auth/token/renew-self', summary: 'Extend the presented renewable token, up to its max TTL', body: s.renewBody, status: 200, answer: s.renewedToken },

  { method: 'GET', path: '/v1/auth/approle/role', summary: 'List AppRoles (admin)', status: 200, answer: s.roleList },
  { method: 'POST', path: '/v1/auth/approle/role/:name', summary: 'Create an AppRole (admin)', params: s.roleParams, body: s.createRoleBody, status: 201, answer: s.roleInfo },
  { method: 'GET', path: '/v1/auth/approle/role/:name', summary: 'Show an AppRole (admin)', params: s.roleParams, status: 200, answer: s.roleInfo },
  { method: 'DELETE', path: '/v1/auth/approle/role/:name', summary: 'Delete an AppRole and revoke its tokens (admin)', params: s.roleParams, status: 200, answer: s.roleDeleted },
  { method: 'POST', path: '/v1/auth/approle/role/:name/secret-id', summary: 'Issue a secret_id, or a wrapping token for one (admin)', params: s.roleParams, body: s.secretIdBody, status: 201, answer: s.secretIdAnswer },
  { method: 'GET', path: '/v1/auth/approle/role/:name/secret-id', summary: "List a role's secret_ids (admin)", params: s.roleParams, status: 200, answer: s.secretIdList },
  { method: 'DELETE', path: '/v1/auth/approle/role/:name/secret-id/:accessor', summary: 'Destroy a secret_id (admin)', params: s.secretAccessorParams, status: 200, answer: s.secretIdDestroyed },
  { method: 'POST', path: '/v1/auth/approle/login', summary: 'Log in with role_id and secret_id', public: true, body: s.loginBody, status: 200, answer: s.loginAnswer },
  { method: 'POST', path: '/v1/sys/wrapping/unwrap', summary: 'Unwrap with the wrapping token (once)', public: true, status: 200, answer: s.unwrapped },

  { method: 'GET', path: '/v1/auth/jwt/role', summary: 'List JWT roles (admin)', status: 200, answer: s.jwtRoleList },
  { method: 'POST', path: '/v1/auth/jwt/role/:name', summary: 'Create a JWT role (admin)', params: s.roleParams, body: s.createJwtRoleBody, status: 201, answer: s.jwtRoleInfo },
  { method: 'GET', path: '/v1/auth/jwt/role/:name', summary: 'Show a JWT role (admin)', params: s.roleParams, status: 200, answer: s.jwtRoleInfo },
  { method: 'DELETE', path: '/v1/auth/jwt/role/:name', summary: 'Delete a JWT role and revoke its tokens (admin)', params: s.roleParams, status: 200, answer: s.roleDeleted },
  { method: 'POST', path: '/v1/auth/jwt/login', summary: 'Log in with a CI identity token', public: true, body: s.jwtLoginBody, status: 200, answer: s.loginAnswer },
];

export function isMedia(answer: RouteContract['answer']): answer is MediaAnswer {
  return 'media' in answer && Array.isArray((answer as MediaAnswer).media);
}

export function findRoute(method: string, path: string): RouteContract | undefined {
  return ROUTES.find((r) => r.method === method && r.path === path);
}
