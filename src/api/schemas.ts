// The HTTP contract of signet's API: what each route accepts (params, query, body) and what it
// answers, as zod schemas. The server parses requests and checks its answers through them
// (src/server/contract.ts); the client types its calls from them (z.infer) and checks every answer
// it receives (src/client/client.ts); GET /v1/openapi.json is generated from them
// (src/api/openapi.ts). Below both server and client: imports only zod, the name rules, the kinds
// and the bounds (docs/architecture.md "Layers").
//
// Answers are open objects (z.looseObject): a server may add a field without breaking an older
// client, and a client ignores what it does not know. Requests are closed (z.strict): an unknown
// field is refused with BODY_INVALID / QUERY_INVALID, naming it.
import { z } from 'zod';
import { ARTIFACT_NAME_MAX, hasUserIdControls, NAME_PATTERN, nameRule } from '../names.js';
import { ARTIFACT_KINDS } from '../policy/kinds.js';
import { APPROLE_BOUNDS, MAX_JWT_LENGTH, MAX_POLICY_BYTES, MAX_RPM_BATCH, MAX_RPM_PREFIX_BYTES } from './limits.js';

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** Query flags: `1`/`true` or `0`/`false`. */
export const flag = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');

/** C0 controls and DEL: never valid in names, user IDs or anything echoed into logs. */
export function hasControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export const artifactName = z
  .string()
  .min(1)
  .max(ARTIFACT_NAME_MAX)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= ARTIFACT_NAME_MAX, `at most ${ARTIFACT_NAME_MAX} bytes (UTF-8)`)
  .refine((s) => !hasControlCharacters(s), 'control characters are not allowed');

export const keyName = z.string().regex(NAME_PATTERN, nameRule('key'));
export const policyName = z.string().regex(NAME_PATTERN, nameRule('policy'));
export const roleName = z.string().regex(NAME_PATTERN, nameRule('role'));

export const keyParams = z.object({ key: keyName }).strict();
export const nameParams = z.object({ name: keyName }).strict();
export const roleParams = z.object({ name: roleName }).strict();
/** The policy routes check the name's rule themselves (POLICY_INVALID, not BAD_REQUEST). */
export const policyParams = z.object({ name: z.string().max(128) }).strict();
export const accessorParams = z.object({ accessor: z.string().min(1).max(64) }).strict();
export const secretAccessorParams = z.object({ name: roleName, accessor: z.string().min(1).max(64) }).strict();

const duration = z.union([z.string().max(32), z.number().int().nonnegative()]);
const MAX_POLICY_TEXT = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Requests

/** The query of POST /v1/sign/:key (and, narrowed, of /v1/sign/:key/midstate). */
export const signQuery = z
  .object({
    kind: z.enum(ARTIFACT_KINDS).optional(),
    name: artifactName.optional(),
    armor: flag.optional(),
    clear: flag.optional(),
    hash: z.enum(['sha256', 'sha512']).optional(),
    /** Wait for the log to integrate the entry and return its receipt (C2SP tlog-proof). */
    receipt: flag.optional(),
    /** An approved request's id (docs/approvals.md): sign what it approved. */
    approval: z.string().regex(/^[0-9a-f]{32}$/, 'an approval request id (32 hex digits)').optional(),
  })
  .strict();

/** Kinds the midstate query accepts: those that route took before kinds were checked (rpm and
 *  clearsign stay QUERY_INVALID); the pipeline refuses the repository and git kinds with KIND_MISMATCH. */
const MIDSTATE_QUERY_KINDS = ['detached', 'yum', 'apt', 'pacman', 'sums', 'git'] as const;

/** The content route's query without what only whole content allows (clear, hash). */
export const midstateQuery = signQuery.omit({ clear: true, hash: true }).extend({ kind: z.enum(MIDSTATE_QUERY_KINDS).optional() });

export const midstateBody = z
  .object({
    // Shapes only: the pipeline checks the hash against the key (ALGORITHM_UNSUPPORTED) and the
    // exact sizes (MIDSTATE_INVALID); these bounds cap what is decoded.
    hash: z.string().max(16),
    /** base64 of the chaining value (big-endian words). */
    state: z.string().max(128),
    length: z.number(),
    /** base64 of the bytes after the last full block. */
    tail: z.string().max(256),
    /** v6 keys (docs/midstate.md): the token of a salt from POST /v1/sign/:key/midstate/salt, and
     *  the hash of salt ‖ file as chaining value, length and tail. */
    salt_token: z.string().max(512).optional(),
    salted_state: z.string().max(128).optional(),
    salted_length: z.number().optional(),
    salted_tail: z.string().max(256).optional(),
  })
  .strict();

/** The query of POST /v1/sign/:key/midstate/salt: as the midstate's, and the hash to salt for. */
export const midstateSaltQuery = midstateQuery.extend({ hash: z.enum(['sha256', 'sha512']).optional() });

/** The answer of POST /v1/sign/:key/midstate/salt. */
export const midstateSaltAnswer = z.looseObject({
  /** base64 of the salt to hash before the file. */
  salt: z.string(),
  /** Opaque: sent back as `salt_token` with the midstate; good for one signature. */
  token: z.string(),
  hash: z.string(),
  expires: z.string(),
});

const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4;

export const rpmBatchBody = z
  .object({
    /** base64 of each package's lead ‖ signature header ‖ main header. */
    headers: z.array(z.string().min(1).max(base64Length(MAX_RPM_PREFIX_BYTES))).min(1).max(MAX_RPM_BATCH),
    replace: z.boolean().optional(),
    /** An approved request's id (docs/approvals.md): sign the batch whose manifest it approved. */
    approval: z.string().regex(/^[0-9a-f]{32}$/, 'an approval request id (32 hex digits)').optional(),
  })
  .strict();

/** Key backends (docs/key-backends.md). */
export const KEY_BACKEND_NAMES = ['sealed', 'pkcs11'] as const;
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits');
const shortText = (max: number) => z.string().min(1).max(max).refine((s) => !hasControlCharacters(s), 'control characters are not allowed');

/** POST /v1/vet: a vetting record made by the client (docs/vetting.md). */
export const vetRecordBody = z
  .object({
    name: artifactName,
    sha256: sha256Hex,
    repository: shortText(1024),
    tag: shortText(256),
    tag_object: z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/),
    tag_signer: z.string().regex(/^(?:[0-9A-F]{40}|[0-9A-F]{64})$/).optional(),
    allowed: z.array(shortText(256)).max(256),
    verdict: z.enum(['pass', 'fail']),
    reason: shortText(1024).optional(),
  })
  .strict();

/** POST /v1/vet/mirror/:repo: the server vets the body against its mirror of the repository. */
export const vetMirrorQuery = z
  .object({
    tag: shortText(256),
    name: artifactName.optional(),
    allow: z.union([shortText(256), z.array(shortText(256)).max(256)]).optional(),
  })
  .strict();
export const vetMirrorParams = z.object({ repo: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/).refine((s) => !s.includes('..'), 'no ..') }).strict();

export const requestParams = z.object({ id: z.string().regex(/^[0-9a-f]{32}$/, 'an approval request id (32 hex digits)') }).strict();
export const decisionBody = z.object({ comment: shortText(1024).optional() }).strict();
export const requestsQuery = z.object({ pending: flag.optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }).strict();

const userId = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !hasUserIdControls(s), 'control characters are not allowed');

/** The kinds a key may ever sign (docs/policy.md "Key purposes"); default: every kind. */
const purposeList = z.array(z.string().max(32)).min(1).max(ARTIFACT_KINDS.length * 2);

/** Key types (src/openpgp/public-key.ts KeyAlgorithm; listed here because src/api imports no core):
 *  ecdsa-p256 is made in a PKCS#11 token only; ed448 and the composite post-quantum types need
 *  the rfc9580 profile. */
export const KEY_ALGORITHM_NAMES = ['rsa4096', 'ed25519', 'ecdsa-p256', 'ed448', 'mldsa65-ed25519', 'mldsa87-ed448'] as const;

export const createKeyBody = z
  .object({
    name: keyName,
    algorithm: z.enum(KEY_ALGORITHM_NAMES).default('ed25519'),
    /** OpenPGP v4 (rfc4880, the default) or v6 (rfc9580) (docs/keys.md "Profiles"). */
    profile: z.enum(['rfc4880', 'rfc9580']).default('rfc4880'),
    user_id: userId,
    purposes: purposeList.optional(),
    /** Where the key is made (docs/key-backends.md); default: the server's default backend. */
    backend: z.enum(KEY_BACKEND_NAMES).optional(),
  })
  .strict();

export const purposeBody = z.object({ purposes: purposeList }).strict();

export const importKeyBody = z
  .object({
    name: keyName,
    /** base64 of the binary export, or the armored text. */
    secret_key: z.string().min(1).max(700_000),
    passphrase: z.string().max(4096).optional(),
    purposes: purposeList.optional(),
    /** Where the imported key is kept (default sealed; pkcs11 moves it into the token). */
    backend: z.enum(KEY_BACKEND_NAMES).optional(),
  })
  .strict();

// Key lifecycle (docs/keys.md): versions, rotation, expiry, revocation, subkeys.
const fingerprintText = z.string().regex(/^[0-9A-Fa-f]{40}$/, 'a 40-hex-digit v4 fingerprint');

export const rotateKeyBody = z
  .object({
    /** How long the previous version stays in the exported keyring, in seconds; null: until revoked. */
    overlap_seconds: z.number().int().min(0).max(100 * 366 * 86400).nullable().optional(),
    algorithm: z.enum(['rsa4096', 'ed25519']).optional(),
  })
  .strict();

export const expireKeyBody = z
  .object({
    /** The new key expiration time (RFC 3339), or null for none. */
    expires: z.string().datetime().nullable(),
  })
  .strict();

export const revokeKeyBody = z
  .object({
    /** The version to revoke (default: the current one, which stops the name signing). */
    version: fingerprintText.optional(),
    reason: z.enum(['compromised', 'superseded', 'retired', 'unspecified']).default('unspecified'),
    message: z.string().max(1024).refine((s) => !hasControlCharacters(s.replace(/\n/g, '')), 'control characters are not allowed').optional(),
  })
  .strict();

export const deleteKeyBody = z.object({ force: z.boolean() }).strict();
export const emptyBody = z.object({}).strict();
export const subkeyBody = z.object({ algorithm: z.enum(['rsa4096', 'ed25519']).default('ed25519') }).strict();
export const versionQuery = z.object({ version: fingerprintText.optional() }).strict();

export const writePolicyBody = z.object({ policy: z.string().max(MAX_POLICY_BYTES * 2) }).strict();

/** A token TTL for POST /v1/auth/token/create: 1-7 digits and a unit. */
export const TOKEN_TTL = /^([1-9][0-9]{0,6})([smhd])$/;

export const createTokenBody = z
  .object({
    policies: z.array(policyName).min(1).max(32),
    ttl: z.string().regex(TOKEN_TTL, 'a duration such as 20m, 1h, 7d').default('20m'),
    display_name: z
      .string()
      .min(1)
      .max(128)
      .refine((s) => !hasControlCharacters(s), 'control characters are not allowed')
      .optional(),
    /** Not a child of the creating token: survives its revocation (an admin made to replace the first-start one). */
    orphan: z.boolean().optional(),
    /** Renewable with renew-self up to max_ttl from creation (default 32d, at most 366d). */
    renewable: z.boolean().optional(),
    max_ttl: z.string().regex(TOKEN_TTL, 'a duration such as 20m, 1h, 7d').optional(),
  })
  .strict();

/** POST /v1/auth/token/renew-self: the new expiry is now + increment (default: the token's TTL). */
export const renewBody = z.object({ increment: z.string().regex(TOKEN_TTL, 'a duration such as 20m, 1h, 7d').optional() }).strict();

const isoTime = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 time')
  .transform((s) => Date.parse(s));

/** GET /v1/log/search (admin). */
export const logSearchQuery = z
  .object({
    since: isoTime,
    until: isoTime.optional(),
    key: z.string().min(1).max(128).optional(),
    role: z.string().min(1).max(256).optional(),
    name: z.string().min(1).max(256).optional(),
    kind: z.enum([...ARTIFACT_KINDS, 'key', 'vet', 'approval_request', 'approval']).optional(),
    limit: z.string().regex(/^[1-9][0-9]{0,4}$/).transform(Number).optional(),
  })
  .strict();

export const createRoleBody = z
  .object({
    policies: z.array(policyName).max(32).optional(),
    /** A policy document (YAML text), stored as policy NAME and bound to the role. */
    policy: z.string().min(1).max(MAX_POLICY_TEXT).optional(),
    token_ttl: duration.optional(),
    secret_id_ttl: duration.optional(),
    secret_id_uses: z.number().int().min(APPROLE_BOUNDS.secretIdUses.min).max(APPROLE_BOUNDS.secretIdUses.max).optional(),
    /** Source blocks every login must come from. */
    bound_cidrs: z.array(z.string().max(64)).max(32).optional(),
  })
  .strict();

export const secretIdBody = z
  .object({
    ttl: duration.optional(),
    uses: z.number().int().min(APPROLE_BOUNDS.secretIdUses.min).max(APPROLE_BOUNDS.secretIdUses.max).optional(),
    wrap_ttl: duration.optional(),
    /** Source blocks this secret_id may log in from. */
    cidrs: z.array(z.string().max(64)).max(32).optional(),
  })
  .strict();

export const loginBody = z.object({ role_id: z.string().min(1).max(256), secret_id: z.string().min(1).max(256) }).strict();
export const accessorBody = z.object({ accessor: z.string().min(1).max(64) }).strict();

export const createJwtRoleBody = z
  .object({
    policies: z.array(policyName).max(32).optional(),
    policy: z.string().min(1).max(MAX_POLICY_TEXT).optional(),
    token_ttl: duration.optional(),
    issuer: z.string().min(1).max(512),
    audiences: z.array(z.string().min(1).max(256)).min(1).max(16),
    jwks_url: z.string().min(1).max(2048).optional(),
    /** The key set itself (from a JWKS file), for hosts that cannot reach the issuer. */
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(32) }).strict().optional(),
    bound_claims: z.record(z.string().max(64), z.union([z.string().max(512), z.array(z.string().max(512)).max(64)])),
    algorithms: z.array(z.string().max(16)).max(16).optional(),
    clock_skew: duration.optional(),
  })
  .strict();

export const jwtLoginBody = z.object({ role: z.string().min(1).max(64), jwt: z.string().min(1).max(MAX_JWT_LENGTH) }).strict();

const uint = z
  .string()
  .regex(/^(?:0|[1-9][0-9]{0,18})$/, 'a decimal integer')
  .transform((s) => BigInt(s));

export const entriesQuery = z.object({ start: uint, end: uint }).strict();
export const inclusionQuery = z.object({ index: uint, size: uint.optional() }).strict();
export const consistencyQuery = z.object({ first: uint, second: uint }).strict();
export const receiptQuery = z.object({ index: uint }).strict();

// ---------------------------------------------------------------------------------------------
// Answers

const count = z.number().int().nonnegative();
/** An ISO 8601 timestamp as the server writes it (Date#toISOString). */
const time = z.string().max(64);
const stringList = z.array(z.string());

/** Every refusal: `{"error": {"code", "message"}}` with a stable code (README "HTTP API"). */
export const errorAnswer = z.looseObject({ error: z.looseObject({ code: z.string(), message: z.string() }) });

/** Where a signature or key event sits in the transparency log; a receipt when the client waited. */
export const logReference = z.looseObject({ index: count, origin: z.string(), receipt: z.string().optional() });

export const keyInfo = z.looseObject({
  name: z.string(),
  fingerprint: z.string(),
  key_id: z.string(),
  algorithm: z.enum(KEY_ALGORITHM_NAMES),
  /** rfc4880 (v4) or rfc9580 (v6); servers before v6 send none. */
  profile: z.enum(['rfc4880', 'rfc9580']).optional(),
  user_id: z.string(),
  created: time,
  state: z.string(),
  origin: z.string(),
  /** Where the private key lives: sealed or pkcs11 (servers before backends send none). */
  backend: z.enum(KEY_BACKEND_NAMES).optional(),
  /** The kinds the key may ever sign (servers before purposes existed send none). */
  purposes: stringList.optional(),
  /** On create, import and purpose changes: advice about the purposes chosen. */
  warnings: stringList.optional(),
  /** On create, import and purpose changes: the key event's log entry. */
  log: logReference.optional(),
});
export const keyList = z.looseObject({ keys: z.array(keyInfo) });

export const keyVersionInfo = z.looseObject({
  fingerprint: z.string(),
  key_id: z.string(),
  algorithm: z.string(),
  backend: z.string(),
  state: z.string(),
  created: time,
  /** Key expiration time, or null for none. */
  expires: time.nullable(),
  /** A retired version leaves the exported keyring at this time (null: stays). */
  export_until: time.nullable(),
  revocation_reason: z.string().nullable(),
  current: z.boolean(),
});
export const subkeyInfo = z.looseObject({
  fingerprint: z.string(),
  key_id: z.string(),
  algorithm: z.string(),
  primary_fingerprint: z.string(),
  state: z.string(),
  created: time,
});
export const keyVersionsAnswer = z.looseObject({ name: z.string(), versions: z.array(keyVersionInfo), subkeys: z.array(subkeyInfo) });
/** A lifecycle change: the key after it, the version or subkey concerned, the log entry. */
export const keyChangeAnswer = z.looseObject({
  key: keyInfo,
  version: keyVersionInfo.optional(),
  previous: keyVersionInfo.optional(),
  subkey: subkeyInfo.optional(),
  log: logReference,
});
export const lintFinding = z.looseObject({ severity: z.enum(['error', 'warning']), code: z.string(), message: z.string() });
export const lintAnswer = z.looseObject({ name: z.string(), findings: z.array(lintFinding) });

export const signAnswer = z.looseObject({
  key: z.string(),
  fingerprint: z.string(),
  algorithm: z.string(),
  hash_algorithm: z.string(),
  created: z.number(),
  kind: z.string(),
  /** The artifact's digest: `sha256` from POST /v1/sign/:key; from the midstate route, the
   *  digest in the signature's hash (`sha256` or `sha512`). */
  artifact: z.looseObject({ name: z.string(), sha256: z.string().optional(), sha512: z.string().optional(), bytes: count }),
  /** base64 of the binary signature packet. */
  signature: z.string(),
  armored: z.string().optional(),
  cleartext: z.string().optional(),
  log: logReference.optional(),
});

/** 202 from a signing route whose rule needs approvals: nothing was signed yet. */
export const pendingApproval = z.looseObject({
  status: z.literal('pending_approval'),
  request: z.looseObject({ id: z.string(), digest: z.string(), required: count, approvers: stringList, expires: z.string() }),
});

/** An approval request as GET /v1/requests[/:id] shows it. */
export const approvalRequestView = z.looseObject({
  id: z.string(),
  state: z.enum(['pending', 'approved', 'rejected', 'signed', 'expired']),
  requester: z.string(),
  key: z.string(),
  kind: z.string(),
  name: z.string(),
  digest: z.string(),
  packages: count.optional(),
  required: count,
  approvers: stringList,
  approvals: z.array(z.looseObject({ identity: z.string(), decision: z.string(), comment: z.string().optional(), time: z.string(), log_index: count.optional() })),
  created: z.string(),
  expires: z.string(),
  log_index: count.optional(),
  signed_log_index: count.optional(),
});
export const approvalRequestList = z.looseObject({ requests: z.array(approvalRequestView) });

export const vetAnswer = z.looseObject({
  verdict: z.enum(['pass', 'fail']),
  sha256: z.string(),
  log: logReference,
  reason: z.string().optional(),
  problems: z.array(z.looseObject({ path: z.string(), change: z.string(), detail: z.string().optional() })).optional(),
});

export const rpmItem = z.looseObject({
  /** base64 of the v4 signature packet, when signed. */
  packet: z.string().optional(),
  error: z.looseObject({ code: z.string(), message: z.string() }).optional(),
  nevra: z.string().optional(),
  name: z.string().optional(),
  epoch: z.number().nullable().optional(),
  version: z.string().optional(),
  release: z.string().optional(),
  arch: z.string().optional(),
  payload_digest: z.string().nullable().optional(),
  payload_digest_algo: z.number().nullable().optional(),
  header_sha256: z.string().optional(),
  /** The signature's log entry, as in the sign route's answer. */
  log: logReference.optional(),
  /** Older form of `log.index` (a decimal string), kept for older clients. */
  log_index: z.union([z.string().regex(/^[0-9]{1,20}$/), count]).optional(),
});

export const rpmAnswer = z.looseObject({
  key: z.string(),
  fingerprint: z.string().optional(),
  algorithm: z.enum(KEY_ALGORITHM_NAMES).optional(),
  hash_algorithm: z.string().optional(),
  created: z.number(),
  signed: count,
  failed: count,
  signatures: z.array(rpmItem),
});

export const policyInfo = z.looseObject({
  name: z.string(),
  builtin: z.boolean(),
  rules: count,
  updated: time.optional(),
  created: time.optional(),
  /** The YAML text (read and write answers). */
  policy: z.string().optional(),
});
export const policyList = z.looseObject({ policies: z.array(policyInfo) });
export const deleted = z.looseObject({ deleted: z.string() });
export const roleDeleted = z.looseObject({ deleted: z.string(), revoked_tokens: count });

export const createdToken = z.looseObject({
  token: z.string(),
  accessor: z.string(),
  policies: stringList,
  ttl: count,
  expires: time,
  renewable: z.boolean().optional(),
  max_expires: time.optional(),
});
export const renewedToken = z.looseObject({
  accessor: z.string(),
  policies: stringList,
  ttl: count,
  expires: time,
  max_expires: time,
  warning: z.string().optional(),
});

export const logSearchHit = z.looseObject({
  index: count,
  time: time.optional(),
  kind: z.string(),
  event: z.string().optional(),
  key: z.string().nullable(),
  key_fingerprint: z.string().nullable(),
  name: z.string().nullable(),
  digest: z.string().optional(),
  signature_sha256: z.string().optional(),
  role: z.string().nullable(),
  rule: z.string().optional(),
  /** vet: the record's verdict, repository and tag. */
  verdict: z.string().optional(),
  repository: z.string().optional(),
  tag: z.string().optional(),
  /** approval_request and approval: the request; approval: the decision and who made it. */
  request_id: z.string().optional(),
  decision: z.string().optional(),
  identity: z.string().optional(),
  correlation_id: z.string().optional(),
});
export const logSearchAnswer = z.looseObject({ entries: z.array(logSearchHit), scanned: count, truncated: z.boolean() });

export const roleInfo = z.looseObject({
  name: z.string(),
  role_id: z.string(),
  policies: stringList,
  token_ttl: z.string(),
  secret_id_ttl: z.string().optional(),
  secret_id_uses: count.optional(),
  bound_cidrs: stringList.optional(),
  created: time,
});
export const roleList = z.looseObject({ roles: z.array(roleInfo) });

export const secretIdSummary = z.looseObject({ accessor: z.string(), uses_left: count, expires: time, created: time, cidrs: stringList });
export const secretIdList = z.looseObject({ secret_ids: z.array(secretIdSummary) });
export const secretIdInfo = secretIdSummary.extend({ secret_id: z.string(), secret_id_accessor: z.string() });
export const wrapInfo = z.looseObject({ token: z.string(), accessor: z.string(), ttl: count, created: time.optional(), expires: time, creation_path: z.string() });
export const wrapped = z.looseObject({ wrap_info: wrapInfo });
/** POST …/secret-id: the secret_id, or with a wrap TTL a wrapping token for it. */
export const secretIdAnswer = z.union([wrapped, secretIdInfo]);
export const secretIdDestroyed = z.looseObject({ destroyed: z.string() });

export const loginAnswer = z.looseObject({ token: z.string(), accessor: z.string(), policies: stringList, ttl: count.nullable(), expires: time.nullable() });

export const tokenInfo = z.looseObject({
  accessor: z.string(),
  display_name: z.string(),
  policies: stringList,
  created: time,
  expires: time.nullable(),
  revoked: time.nullable(),
  parent: z.string().nullable(),
  meta: z.record(z.string(), z.string()),
});
export const tokenList = z.looseObject({ tokens: z.array(tokenInfo) });
export const revoked = z.looseObject({ revoked: stringList });

export const unwrapped = z.looseObject({ creation_path: z.string(), created: time, data: z.record(z.string(), z.unknown()) });

export const jwtRoleInfo = z.looseObject({
  name: z.string(),
  policies: stringList,
  token_ttl: z.string(),
  issuer: z.string(),
  audiences: stringList,
  jwks_url: z.string().optional(),
  jwks_keys: count.optional(),
  bound_claims: z.record(z.string(), z.union([z.string(), stringList])),
  algorithms: stringList,
  clock_skew: z.string(),
  created: time,
});
export const jwtRoleList = z.looseObject({ roles: z.array(jwtRoleInfo) });

export const logEntries = z.looseObject({ start: count, entries: stringList });
export const inclusionProof = z.looseObject({ index: count, size: count, proof: stringList, checkpoint: z.string().optional() });
export const consistencyProof = z.looseObject({ first: count, second: count, proof: stringList });

export const healthAnswer = z.looseObject({ status: z.literal('ok') });
export const readyAnswer = z.looseObject({ status: z.literal('ready') });

/** GET /v1/openapi.json: the document generated from this contract (src/api/openapi.ts). */
export const openApiAnswer = z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });

// The types the client and CLI use: the answers' known fields (an open object's index signature
// dropped, so that `'wrap_info' in r` and the like still narrow).
type Known<T> = { [K in keyof T as string extends K ? never : K]: T[K] };
export type Answer<S extends z.ZodType> = Known<z.infer<S>>;
export type KeyInfo = Answer<typeof keyInfo>;
export type SignResponse = Answer<typeof signAnswer>;
export type RpmSignatureItem = Answer<typeof rpmItem>;
export type RpmSignResponse = Answer<typeof rpmAnswer>;
export type PendingApproval = Answer<typeof pendingApproval>;
export type ApprovalRequestView = Answer<typeof approvalRequestView>;
export type VetAnswer = Answer<typeof vetAnswer>;
export type PolicyInfo = Answer<typeof policyInfo>;
export type CreatedToken = Answer<typeof createdToken>;
export type RenewedToken = Answer<typeof renewedToken>;
export type LogSearchHit = Answer<typeof logSearchHit>;
export type LogSearchAnswer = Answer<typeof logSearchAnswer>;
export type RoleInfo = Answer<typeof roleInfo>;
export type SecretIdInfo = Answer<typeof secretIdInfo>;
export type WrapInfo = Answer<typeof wrapInfo>;
export type LoginResponse = Answer<typeof loginAnswer>;
export type TokenInfo = Answer<typeof tokenInfo>;
export type Unwrapped = Answer<typeof unwrapped>;
export type JwtRoleInfo = Answer<typeof jwtRoleInfo>;
/** What the client sends to the midstate route (z.input: before the server's transforms). */
export type MidstateRequest = z.input<typeof midstateBody>;
