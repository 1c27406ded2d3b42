// One error type with stable codes, and the one table that maps each code to an HTTP status and a
// CLI exit code (docs/architecture.md "Data flow of a signature", errors). Tests assert on `code`, never on message text.
// Security-relevant failures (auth, decryption) carry fixed messages that reveal nothing.

interface ErrorSpec {
  readonly status: number;
  /** CLI exit code: 1 refused/failed operation, 2 usage error. */
  readonly exit: 1 | 2;
}

export const ERROR_TABLE = {
  // Usage and input
  USAGE: { status: 400, exit: 2 },
  BAD_REQUEST: { status: 400, exit: 1 },
  QUERY_INVALID: { status: 400, exit: 1 },
  BODY_INVALID: { status: 400, exit: 1 },
  BODY_EMPTY: { status: 400, exit: 1 },
  BODY_TOO_LARGE: { status: 413, exit: 1 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 1 },
  NAME_INVALID: { status: 400, exit: 1 },
  ALGORITHM_UNSUPPORTED: { status: 400, exit: 1 },
  FILE_UNREADABLE: { status: 400, exit: 1 },
  FILE_CHANGED: { status: 409, exit: 1 },
  FILE_WRITE_FAILED: { status: 500, exit: 1 },
  /** An output path that is a symbolic link, directory, socket or block device (`-o`). */
  OUTPUT_REFUSED: { status: 400, exit: 1 },
  DISK_FULL: { status: 507, exit: 1 },
  NOT_FOUND: { status: 404, exit: 1 },
  METHOD_NOT_ALLOWED: { status: 405, exit: 1 },
  CONFIG_INVALID: { status: 500, exit: 2 },

  // Authentication and authorisation
  TOKEN_MISSING: { status: 401, exit: 1 },
  TOKEN_INVALID: { status: 401, exit: 1 },
  TOKEN_EXPIRED: { status: 401, exit: 1 },
  TOKEN_REVOKED: { status: 401, exit: 1 },
  LOGIN_FAILED: { status: 401, exit: 1 },
  WRAPPING_TOKEN_USED: { status: 400, exit: 1 },
  WRAPPING_TOKEN_INVALID: { status: 400, exit: 1 },
  WRAPPING_TOKEN_EXPIRED: { status: 400, exit: 1 },
  /** The wrapped response is not what the client asked for (wrap substitution). */
  WRAPPING_PATH_MISMATCH: { status: 400, exit: 1 },
  TOKEN_NOT_FOUND: { status: 404, exit: 1 },
  TOKEN_NOT_RENEWABLE: { status: 400, exit: 1 },
  LAST_ADMIN_TOKEN: { status: 409, exit: 1 },
  LOGIN_RATE_LIMITED: { status: 429, exit: 1 },
  JWT_INVALID: { status: 401, exit: 1 },
  JWT_EXPIRED: { status: 401, exit: 1 },
  JWT_NOT_YET_VALID: { status: 401, exit: 1 },
  JWT_CLAIMS_MISMATCH: { status: 401, exit: 1 },
  JWKS_UNAVAILABLE: { status: 503, exit: 1 },
  POLICY_DENIED: { status: 403, exit: 1 },
  POLICY_INVALID: { status: 400, exit: 1 },
  POLICY_NOT_FOUND: { status: 404, exit: 1 },
  ROLE_NOT_FOUND: { status: 404, exit: 1 },
  ROLE_EXISTS: { status: 409, exit: 1 },
  RATE_LIMITED: { status: 429, exit: 1 },
  /** The key's purposes (the kinds it may ever sign) do not include the request's kind or mode. */
  KEY_PURPOSE: { status: 403, exit: 1 },

  // Keys
  KEY_NOT_FOUND: { status: 404, exit: 1 },
  KEY_EXISTS: { status: 409, exit: 1 },
  KEY_REVOKED: { status: 409, exit: 1 },
  KEY_IMPORT_FAILED: { status: 400, exit: 1 },
  /** Lifecycle refusals (docs/keys.md): a disabled or deleted key, an expired key, a version
   *  that is not the name's, an operation that needs the primary secret when it is offline,
   *  a certificate that today's verifiers refuse, a delete without --force. */
  KEY_DISABLED: { status: 409, exit: 1 },
  KEY_DELETED: { status: 409, exit: 1 },
  KEY_EXPIRED: { status: 409, exit: 1 },
  KEY_VERSION_NOT_FOUND: { status: 404, exit: 1 },
  KEY_PRIMARY_OFFLINE: { status: 409, exit: 1 },
  KEY_LINT_FAILED: { status: 400, exit: 1 },
  KEY_FORCE_REQUIRED: { status: 400, exit: 1 },
  KEY_PASSPHRASE_REQUIRED: { status: 400, exit: 1 },
  KEY_PASSPHRASE_WRONG: { status: 400, exit: 1 },
  KEY_DECRYPT_FAILED: { status: 500, exit: 1 },
  /** A v6 (rfc9580) key asked for an output whose verifiers read only v4 (docs/keys.md "Profiles"). */
  KEY_PROFILE_UNSUPPORTED: { status: 400, exit: 1 },
  /** A new key or a signature that a current verifier's policy refuses (`signet verify-policy`). */
  POLICY_REJECTED: { status: 400, exit: 1 },
  MASTER_KEY_MISMATCH: { status: 500, exit: 1 },
  MASTER_KEY_UNREADABLE: { status: 500, exit: 1 },
  /** A PKCS#11 token (module, token, PIN or the key in it) cannot be reached or used. */
  KEY_TOKEN_UNAVAILABLE: { status: 503, exit: 1 },
  /** A key needs a backend this server is not configured for (e.g. pkcs11 without settings). */
  KEY_BACKEND_UNAVAILABLE: { status: 503, exit: 1 },

  // Formats
  OPENPGP_MALFORMED: { status: 400, exit: 1 },
  ARMOR_MALFORMED: { status: 400, exit: 1 },
  SIGNATURE_INVALID: { status: 400, exit: 1 },
  RPM_MALFORMED: { status: 400, exit: 1 },
  RPM_ALREADY_SIGNED: { status: 409, exit: 1 },
  RPM_FILE_CHANGED: { status: 409, exit: 1 },
  RPM_VERIFY_FAILED: { status: 400, exit: 1 },
  MIDSTATE_INVALID: { status: 400, exit: 1 },
  /** The kind cannot be signed this way (route, clear or midstate mode): docs/security.md. */
  KIND_MISMATCH: { status: 400, exit: 1 },
  /** The body is not what the kind says (a Release file for apt, repomd.xml for yum, …). */
  CONTENT_INVALID: { status: 400, exit: 1 },
  GATE_REFUSED: { status: 409, exit: 1 },
  PUBLISH_FAILED: { status: 409, exit: 1 },

  // Transparency log
  TLOG_ENTRY_MALFORMED: { status: 400, exit: 1 },
  TLOG_PROOF_INVALID: { status: 400, exit: 1 },
  TLOG_CHECKPOINT_INVALID: { status: 400, exit: 1 },
  TLOG_INCONSISTENT: { status: 409, exit: 1 },
  TLOG_VERIFY_FAILED: { status: 500, exit: 1 },
  /** `signet log verify-receipt`: the signature or artifact given is not the one the receipt logs. */
  RECEIPT_MISMATCH: { status: 400, exit: 1 },

  // Vetting and approvals (docs/vetting.md, docs/approvals.md)
  /** A tarball does not match its signed tag (or the tag's signature does not verify): the reason names it. */
  VET_FAILED: { status: 422, exit: 1 },
  /** A tarball holds what a strict unpacker refuses: a path leaving the tree, a link, a device, too much. */
  ARCHIVE_UNSAFE: { status: 400, exit: 1 },
  /** The rule requires a passing vetting record for this exact digest, and the log holds none. */
  VETTING_REQUIRED: { status: 403, exit: 1 },
  REQUEST_NOT_FOUND: { status: 404, exit: 1 },
  /** This identity may not approve or reject the request (not an approver, or its requester). */
  APPROVAL_DENIED: { status: 403, exit: 1 },
  /** This identity has already approved or rejected the request. */
  APPROVAL_DUPLICATE: { status: 409, exit: 1 },
  /** The request is not (or no longer) pending: approved, rejected, expired or used. */
  REQUEST_CLOSED: { status: 409, exit: 1 },
  REQUEST_REJECTED: { status: 403, exit: 1 },
  REQUEST_EXPIRED: { status: 410, exit: 1 },
  /** The request is still waiting for approvals. */
  REQUEST_PENDING: { status: 409, exit: 1 },
  /** The artifact sent with an approved request is not the one that was approved. */
  APPROVAL_MISMATCH: { status: 409, exit: 1 },

  // Infrastructure
  STORE_UNAVAILABLE: { status: 503, exit: 1 },
  STORE_NOT_EMPTY: { status: 409, exit: 1 },
  STORE_MIGRATE_MISMATCH: { status: 500, exit: 1 },
  /** `signet restore`: the backup's log is behind a checkpoint already published (a fork). */
  BACKUP_BEHIND: { status: 409, exit: 1 },
  BACKUP_INVALID: { status: 400, exit: 1 },
  AUDIT_UNAVAILABLE: { status: 503, exit: 1 },
  AUDIT_CHAIN_BROKEN: { status: 500, exit: 1 },
  SIGNER_UNAVAILABLE: { status: 503, exit: 1 },
  SERVER_UNREACHABLE: { status: 503, exit: 1 },
  /** Something answers at the address, but not as a signet server (HTML, another API, plain HTTP to https://). */
  SERVER_NOT_SIGNET: { status: 502, exit: 1 },
  /** A signet server's answer that does not fit the API contract (src/api/schemas.ts): a broken or hostile server. */
  BAD_RESPONSE: { status: 502, exit: 1 },
  /** `signet serve`: the listen address is taken or not allowed. */
  LISTEN_FAILED: { status: 500, exit: 1 },
  NOT_READY: { status: 503, exit: 1 },
  // Pull mode (docs/pull-mode.md)
  /** The relay has no signer connected at all. */
  RELAY_NO_SIGNER: { status: 503, exit: 1 },
  /** Every signer connection is busy and the relay's queue is full, or the wait ran out. */
  RELAY_BUSY: { status: 503, exit: 1 },
  /** A peer's certificate is not from the pull CA, has expired, or has another role. */
  PEER_REFUSED: { status: 403, exit: 1 },
  /** X-Signet-Request-Id given again with another request (or another token). */
  REQUEST_ID_REUSED: { status: 409, exit: 1 },
  INTERNAL: { status: 500, exit: 1 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export class SignetError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignetError';
    this.code = code;
  }

  get status(): number {
    return ERROR_TABLE[this.code].status;
  }

  get exitCode(): 1 | 2 {
    return ERROR_TABLE[this.code].exit;
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_TABLE, value);
}

export function isSignetError(err: unknown, code?: ErrorCode): err is SignetError {
  return err instanceof SignetError && (code === undefined || err.code === code);
}
