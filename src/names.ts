// The one rule for the names users give things: signing keys, policies and roles (AppRole and
// JWT). Such a name is typed on command lines, matched by policies, written into the audit and
// transparency logs, and sits in URL paths (/v1/keys/NAME, /v1/policies/NAME, …) and could
// become a file name: so one alphabet everywhere, no separators, no upper case (no look-alike
// names that differ only in case), nothing that starts like an option or a hidden file, and no
// `..` anywhere (a URL client resolves `..` segments away, and a path component `..` climbs).
// Artifact names are another kind: they name what was signed (`repodata/repomd.xml`), are
// matched by policy globs and recorded, and never become a path on the server; their rule is
// ARTIFACT_NAME_MAX and no control characters (src/server/validation.ts).
// docs/architecture.md "Invariants" lists this rule.

/** 1-64 of [a-z0-9._-], starting with a letter or digit, never containing `..`. */
export const NAME_PATTERN = /^(?!.*\.\.)[a-z0-9][a-z0-9._-]{0,63}$/;

export type NameKind = 'key' | 'policy' | 'role';

/** Whether `name` is a valid key, policy or role name (the same rule for the three). */
export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/** The rule in words, for error messages. */
export function nameRule(kind: NameKind): string {
  return `${kind} names are 1-64 lower-case letters, digits, . _ - (starting with a letter or digit, no ..)`;
}

/** Longest artifact name (bytes of UTF-16 code units, as zod counts). */
export const ARTIFACT_NAME_MAX = 255;

/** C0 and C1 controls and DEL: never in a user ID signet stores (the API refuses them on create,
 *  the key service on import). `key list` and the gpg shim's listings print user IDs one per line,
 *  and a newline or an 8-bit control in one could plant a line of its own ("[GNUPG:] GOODSIG"). */
export function hasUserIdControls(userId: string): boolean {
  for (let i = 0; i < userId.length; i++) {
    const c = userId.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
