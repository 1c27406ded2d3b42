// Policy documents (docs/policy.md), YAML:
//   rules:
//     - keys: [rel]                  # key names or globs (required)
//       kinds: [rpm, detached]       # artifact kinds (required)
//       names: ['pkg-*']             # globs on the artifact / RPM package name (default: any)
//       cidrs: [10.0.0.0/8]          # source address blocks, IPv4 or IPv6 (default: any)
//       rate: 600/1h                 # at most N signatures per window (default: unlimited)
//       mode: [content]              # content and/or midstate (default: [content])
//       requires: [vetted]           # only a digest with a passing vetting record (docs/vetting.md)
//       approvals: {required: 2, from: [alice, bob, carol], ttl: 24h}   # M-of-N (docs/approvals.md)
// Parsing is all or nothing: the first problem throws POLICY_INVALID naming its path
// (`rules.2.cidrs.0: …`), and nothing is stored. Unknown fields are refused, so a typo can never
// turn into a grant.
import { createHash } from 'node:crypto';
import { hasControlCharacter } from '../tlog/encoding.js';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { SignetError } from '../errors.js';
import { POLICY_KINDS, type PolicyKind } from './kinds.js';
import { CidrError, CidrSet, parseCidr } from './cidr.js';
import { compileGlob, GlobError, type Glob } from './glob.js';
import { NAME_PATTERN, isValidName, nameRule } from '../names.js';

/** Largest policy document accepted (bytes of YAML text). */
import { MAX_POLICY_BYTES } from '../api/limits.js';
export { MAX_POLICY_BYTES };
export const MAX_RULES = 256;
const MAX_LIST = 256;

export const SIGN_MODES = ['content', 'midstate'] as const;
export type SignMode = (typeof SIGN_MODES)[number];

/** Policy names: the one name rule (src/names.ts; a role's policy has the role's name). */
export const POLICY_NAME = NAME_PATTERN;

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** Longest rate window: a year. */
const MAX_WINDOW_MS = 366 * 86_400_000;

export interface Rate {
  readonly source: string;
  readonly limit: number;
  readonly windowMs: number;
}

/** `N/<duration>`: N a positive integer, duration an integer and a unit s, m, h, d or w (`600/1h`, `1/30d`). */
export function parseRate(text: string): Rate {
  const m = /^([1-9][0-9]{0,8})\/([1-9][0-9]{0,5})([smhdw])$/.exec(text);
  if (!m) throw new Error('rate must look like N/<duration>, e.g. 600/1h or 1/30d (units s, m, h, d, w)');
  const windowMs = Number(m[2]) * DURATION_UNITS[m[3]!]!;
  if (windowMs > MAX_WINDOW_MS) throw new Error('rate window must be at most 366d');
  return { source: text, limit: Number(m[1]), windowMs };
}

const globList = z.array(z.string()).min(1).max(MAX_LIST);

/** An approver: an AppRole or JWT role name, a JWT subject, or an admin token's display name. */
const identity = z.string().min(1).max(256).refine((s) => !hasControlCharacter(s), 'control characters are not allowed');

const approvalsSchema = z
  .object({
    required: z.number().int().min(1).max(64),
    from: z.array(identity).min(1).max(MAX_LIST),
    ttl: z.string().optional(),
  })
  .strict()
  .refine((a) => new Set(a.from).size === a.from.length, 'approvals.from lists an approver twice')
  .refine((a) => a.required <= a.from.length, 'approvals.required is more than the approvers listed');

const ruleSchema = z
  .object({
    // Optional only for a rule that grants `vet` alone (vetting records name no key).
    keys: globList.optional(),
    kinds: z.array(z.enum(POLICY_KINDS)).min(1).max(POLICY_KINDS.length),
    names: globList.optional(),
    cidrs: z.array(z.string()).min(1).max(MAX_LIST).optional(),
    rate: z.string().optional(),
    mode: z.array(z.enum(SIGN_MODES)).min(1).max(SIGN_MODES.length).optional(),
    requires: z.array(z.enum(['vetted'])).min(1).max(1).optional(),
    approvals: approvalsSchema.optional(),
  })
  .strict()
  .refine((r) => r.keys !== undefined || r.kinds.every((k) => k === 'vet'), { message: 'keys is required (only a rule granting vet alone may leave it out)', path: ['keys'] });

const documentSchema = z
  .object({
    rules: z.array(ruleSchema).min(1).max(MAX_RULES),
  })
  .strict();

/** One compiled rule, ready for the authorizer (globs and CIDRs compiled once). */
export interface Rule {
  /** `policy#index`, for audit; stable while the document is unchanged. */
  readonly id: string;
  /** Rate-limit bucket: policy name and a hash of the rule's content (editing the rule starts a new window). */
  readonly bucket: string;
  readonly keys: readonly Glob[];
  readonly kinds: ReadonlySet<PolicyKind>;
  /** undefined: any name. */
  readonly names: readonly Glob[] | undefined;
  /** undefined: any source. */
  readonly cidrs: CidrSet | undefined;
  readonly rate: Rate | undefined;
  readonly modes: ReadonlySet<SignMode>;
  /** `requires: [vetted]`: a signature only for a digest with a passing vetting record. */
  readonly vetted: boolean;
  /** `approvals:`: the signature waits for `required` distinct approvers of `from`. */
  readonly approvals: ApprovalRule | undefined;
}

export interface ApprovalRule {
  readonly required: number;
  readonly from: readonly string[];
  /** How long a request waits for its approvals (default 24 hours). */
  readonly ttlMs: number;
}

/** How long an approval request waits when the rule names no ttl. */
export const DEFAULT_APPROVAL_TTL_MS = 86_400_000;

export interface PolicyDocument {
  readonly name: string;
  readonly rules: readonly Rule[];
}

export function invalid(path: string, what: string): SignetError {
  return new SignetError('POLICY_INVALID', `${path ? `${path}: ` : ''}${what}`);
}

export function checkPolicyName(name: string): void {
  if (!isValidName(name)) throw invalid('name', nameRule('policy'));
}

/** Parse and validate a policy's YAML text completely; throws POLICY_INVALID with the failing path. */
export function parsePolicy(name: string, text: string): PolicyDocument {
  checkPolicyName(name);
  if (typeof text !== 'string' || text.trim() === '') throw invalid('', 'the policy is empty');
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) throw invalid('', `the policy is larger than ${MAX_POLICY_BYTES} bytes`);
  let raw: unknown;
  try {
    // No aliases (billion laughs), unique keys, one document.
    raw = parseYaml(text, { maxAliasCount: 0, uniqueKeys: true, prettyErrors: false, schema: 'core' });
  } catch (err) {
    const line = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    const first = ((err as Error).message ?? 'parse error').split('\n')[0]!.slice(0, 160);
    throw invalid('', `not valid YAML${line}: ${first}`);
  }
  const r = documentSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    const what = issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
    throw invalid(path, what);
  }
  const rules = r.data.rules.map((rule, i): Rule => {
    const at = `rules.${i}`;
    const globs = (list: readonly string[], field: string): Glob[] =>
      list.map((g, j) => {
        try {
          return compileGlob(g);
        } catch (err) {
          if (err instanceof GlobError) throw invalid(`${at}.${field}.${j}`, `invalid glob ${JSON.stringify(g.slice(0, 80))}: ${err.message}`);
          throw err;
        }
      });
    let cidrs: CidrSet | undefined;
    if (rule.cidrs) {
      cidrs = new CidrSet(
        rule.cidrs.map((c, j) => {
          try {
            return parseCidr(c);
          } catch (err) {
            if (err instanceof CidrError) throw invalid(`${at}.cidrs.${j}`, `invalid CIDR ${JSON.stringify(c.slice(0, 80))}: ${err.message}`);
            throw err;
          }
        }),
      );
    }
    let rate: Rate | undefined;
    if (rule.rate !== undefined) {
      try {
        rate = parseRate(rule.rate);
      } catch (err) {
        throw invalid(`${at}.rate`, (err as Error).message);
      }
    }
    let approvals: ApprovalRule | undefined;
    if (rule.approvals) {
      let ttlMs = DEFAULT_APPROVAL_TTL_MS;
      if (rule.approvals.ttl !== undefined) {
        try {
          ttlMs = parseRate(`1/${rule.approvals.ttl}`).windowMs;
        } catch {
          throw invalid(`${at}.approvals.ttl`, 'ttl must be an integer and a unit s, m, h, d or w, at most 366d (e.g. 24h)');
        }
      }
      approvals = { required: rule.approvals.required, from: rule.approvals.from, ttlMs };
    }
    const canonical = JSON.stringify(rule, Object.keys(rule).sort());
    return {
      id: `${name}#${i}`,
      bucket: `${name}#${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`,
      keys: globs(rule.keys ?? [], 'keys'),
      kinds: new Set(rule.kinds),
      names: rule.names ? globs(rule.names, 'names') : undefined,
      cidrs,
      rate,
      modes: new Set(rule.mode ?? ['content']),
      vetted: rule.requires?.includes('vetted') ?? false,
      approvals,
    };
  });
  return { name, rules };
}
