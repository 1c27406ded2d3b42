// Bounds the HTTP contract states (src/api/schemas.ts) and the services enforce. They live here,
// below both the server and the client, so each side reads the same number; the services
// re-export them where they were first defined.

/** Largest RPM header prefix (lead ‖ signature header ‖ main header) the rpm route takes. */
export const MAX_RPM_PREFIX_BYTES = 32 * 1024 * 1024;
/** Headers per request: enough to amortise the round trip, small enough to bound a batch. */
export const MAX_RPM_BATCH = 256;

export const APPROLE_BOUNDS = {
  tokenTtlMs: { minMs: 1000, maxMs: 24 * 3_600_000 },
  secretIdTtlMs: { minMs: 1000, maxMs: 30 * 86_400_000 },
  secretIdUses: { min: 1, max: 10_000 },
} as const;

/** Longest JWT we even parse (GitLab and GitHub tokens are ~1-2 KB). */
export const MAX_JWT_LENGTH = 16 * 1024;

/** Largest policy document (YAML text), in bytes. */
export const MAX_POLICY_BYTES = 64 * 1024;
