// The authorisation seam every route goes through (docs/architecture.md, invariant 2: deny by default).
// A token carries policy names; what it may do is the union of those policies' rules. The
// built-in `admin` policy may do everything. Anything no rule grants is refused with
// POLICY_DENIED naming the grant that was missing for THIS request (key, kind, name, mode or
// source), never the rules that exist; an exhausted rate limit is RATE_LIMITED.
import { SignetError } from '../errors.js';
import type { PolicyStore } from '../store/policy-types.js';
import type { TokenRecord } from '../store/types.js';
import { parseAddress, type Address } from './cidr.js';
import type { ApprovalRule, PolicyDocument, Rule, SignMode } from './document.js';
import type { ArtifactKind } from './kinds.js';
import { ADMIN_POLICY, type PolicyService } from './service.js';

export { ARTIFACT_KINDS, type ArtifactKind } from './kinds.js';
export { ADMIN_POLICY } from './service.js';

export type Action =
  | { readonly op: 'sign'; readonly key: string; readonly kind: ArtifactKind; readonly name: string; readonly mode: SignMode }
  /** Submit a vetting record for a tarball (`kinds: [vet]`; keys play no part). */
  | { readonly op: 'vet'; readonly name: string }
  /** Read one key's public information (a rule granting the key grants this). */
  | { readonly op: 'keys.read'; readonly key: string }
  /** List keys: any valid token; the route shows only the keys the token may read. */
  | { readonly op: 'keys.list' }
  /** Key, role, policy and token management: the admin policy only. `what` names it in denials. */
  | { readonly op: 'admin'; readonly what?: string };

export interface RequestContext {
  /** Source address from the socket (never from forwarding headers unless a trusted proxy is set). */
  readonly source: string;
}

/** Why a request was allowed: `admin`, or the rule (`policy#index`). */
export interface Grant {
  readonly rule: string;
  /** The rule's `requires: [vetted]` (docs/vetting.md). */
  readonly vetted?: boolean;
  /** The rule's `approvals:` (docs/approvals.md). */
  readonly approvals?: ApprovalRule;
}

/** What a granting rule asks beyond itself, for the grant. */
function conditions(rule: Rule): Omit<Grant, 'rule'> {
  return { ...(rule.vetted ? { vetted: true } : {}), ...(rule.approvals ? { approvals: rule.approvals } : {}) };
}

/** Rules asking fewer conditions first (a token is granted what its least demanding rule allows),
 *  in document order otherwise. */
function byConditions(rules: readonly Rule[]): Rule[] {
  const weight = (r: Rule): number => (r.vetted ? 1 : 0) + (r.approvals ? 1 : 0);
  return [...rules].sort((a, b) => weight(a) - weight(b));
}

export interface Authorizer {
  /** Resolves with the grant when allowed (counting a rate-limited use); throws POLICY_DENIED / RATE_LIMITED otherwise. */
  authorize(token: TokenRecord, action: Action, context: RequestContext): Promise<Grant>;
  /** Whether the action would be allowed, without counting a use (for filtering lists). */
  permits(token: TokenRecord, action: Action, context: RequestContext): Promise<boolean>;
}

export function who(token: TokenRecord): string {
  return token.meta.role !== undefined ? `role ${token.meta.role}` : `token ${token.displayName}`;
}

/** The foundation's authorizer: admin may do everything, nothing else is allowed. */
export class AdminOnlyAuthorizer implements Authorizer {
  async authorize(token: TokenRecord, action: Action): Promise<Grant> {
    if (token.policies.includes(ADMIN_POLICY) || action.op === 'keys.list') return { rule: ADMIN_POLICY };
    throw new SignetError('POLICY_DENIED', describeDenial(token, action));
  }
  async permits(token: TokenRecord): Promise<boolean> {
    return token.policies.includes(ADMIN_POLICY);
  }
}

export function describeDenial(token: TokenRecord, action: Action): string {
  switch (action.op) {
    case 'sign':
      return `${who(token)} may not use key ${action.key}`;
    case 'keys.read':
      return `${who(token)} may not read key ${action.key}`;
    case 'keys.list':
      return `${who(token)} may not list keys`;
    case 'vet':
      return `${who(token)} may not submit vetting records for ${JSON.stringify(action.name)}`;
    case 'admin':
      return `${who(token)} may not ${action.what ?? 'perform admin operations'} (admin policy required)`;
  }
}

type SignAction = Extract<Action, { op: 'sign' }>;

/** The longest name a sign request may carry, in UTF-8 bytes: the query's `name` and an RPM's name
 *  tag alike (rpm names are far shorter; a 20,000-character tag is an attack on the matcher). */
export const MAX_NAME_BYTES = 255;

function nameWithinLimit(name: string): boolean {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: the exact count only for the long ones.
  return name.length * 3 <= MAX_NAME_BYTES || Buffer.byteLength(name, 'utf8') <= MAX_NAME_BYTES;
}

/** Refuse an over-long name before any glob sees it (NAME_INVALID), whoever asks. */
export function checkName(name: string): void {
  if (!nameWithinLimit(name)) throw new SignetError('NAME_INVALID', `the name is longer than ${MAX_NAME_BYTES} bytes`);
}

/** How far the best rule got for a sign request; the first dimension it failed on is reported. */
const Reach = { None: 0, Key: 1, Kind: 2, Name: 3, Mode: 4, Source: 5 } as const;
type Reach = (typeof Reach)[keyof typeof Reach];

export class PolicyAuthorizer implements Authorizer {
  readonly #policies: PolicyService;
  readonly #rates: PolicyStore;
  readonly #now: () => number;

  constructor(policies: PolicyService, rates: PolicyStore, now: () => number = Date.now) {
    this.#policies = policies;
    this.#rates = rates;
    this.#now = now;
  }

  /** The union of the token's policies' rules; reused while the same compiled documents are cached. */
  #union = new Map<string, { documents: Array<PolicyDocument | undefined>; rules: Rule[] }>();

  async #rules(token: TokenRecord): Promise<readonly Rule[]> {
    const documents: Array<PolicyDocument | undefined> = [];
    for (const name of token.policies) {
      if (name === ADMIN_POLICY) continue;
      const fresh = this.#policies.fresh(name);
      documents.push(fresh ? fresh.document : await this.#policies.compiled(name));
    }
    const key = token.policies.join('\n');
    const cached = this.#union.get(key);
    if (cached && cached.documents.length === documents.length && cached.documents.every((d, i) => d === documents[i])) return cached.rules;
    const rules = documents.flatMap((d) => d?.rules ?? []);
    if (this.#union.size > 1000) this.#union.clear();
    this.#union.set(key, { documents, rules });
    return rules;
  }

  async permits(token: TokenRecord, action: Action, context: RequestContext): Promise<boolean> {
    if (action.op === 'sign' && !nameWithinLimit(action.name)) return false;
    if (token.policies.includes(ADMIN_POLICY)) return true;
    const rules = await this.#rules(token);
    switch (action.op) {
      case 'admin':
        return false;
      case 'keys.list':
        return true;
      case 'keys.read':
        return rules.some((r) => r.keys.some((g) => g.matches(action.key)));
      case 'sign':
        return matching(rules, action, context.source).rules.length > 0;
      case 'vet':
        return vetRule(rules, action, context.source) !== undefined;
    }
  }

  async authorize(token: TokenRecord, action: Action, context: RequestContext): Promise<Grant> {
    if (action.op === 'sign') checkName(action.name);
    if (token.policies.includes(ADMIN_POLICY)) return { rule: ADMIN_POLICY };
    if (action.op === 'keys.list') return { rule: 'any-token' };
    if (action.op === 'admin') throw new SignetError('POLICY_DENIED', describeDenial(token, action));
    const rules = await this.#rules(token);
    if (action.op === 'keys.read') {
      const rule = rules.find((r) => r.keys.some((g) => g.matches(action.key)));
      if (!rule) throw new SignetError('POLICY_DENIED', describeDenial(token, action));
      return { rule: rule.id };
    }
    if (action.op === 'vet') {
      checkName(action.name);
      const rule = vetRule(rules, action, context.source);
      if (!rule) throw new SignetError('POLICY_DENIED', describeDenial(token, action));
      return { rule: rule.id };
    }
    const found = matching(rules, action, context.source);
    const reach = found.reach;
    const granted = byConditions(found.rules);
    if (granted.length === 0) throw new SignetError('POLICY_DENIED', signDenial(token, action, reach, context.source));
    // An unlimited rule first; otherwise the first rule whose window still has room.
    const unlimited = granted.find((r) => r.rate === undefined);
    if (unlimited) return { rule: unlimited.id, ...conditions(unlimited) };
    let last: { rule: Rule; resetAt: number } | undefined;
    for (const rule of granted) {
      const rate = rule.rate!;
      const decision = await this.#rates.consumeRate(rule.bucket, rate.limit, rate.windowMs, this.#now());
      if (decision.allowed) return { rule: rule.id, ...conditions(rule) };
      last = { rule, resetAt: decision.windowStart + rate.windowMs };
    }
    throw new SignetError(
      'RATE_LIMITED',
      `${who(token)} has used its rate ${last!.rule.rate!.source} for key ${action.key}; the window closes at ${new Date(last!.resetAt).toISOString()}`,
    );
  }
}

/** The first rule granting `vet` for this name from this source. */
function vetRule(rules: readonly Rule[], action: Extract<Action, { op: 'vet' }>, source: string): Rule | undefined {
  let address: Address | undefined | null = null;
  for (const rule of rules) {
    if (!rule.kinds.has('vet')) continue;
    if (rule.names !== undefined && !rule.names.some((g) => g.matches(action.name))) continue;
    if (rule.cidrs !== undefined) {
      if (address === null) address = parseAddress(source);
      if (address === undefined || !rule.cidrs.contains(address)) continue;
    }
    return rule;
  }
  return undefined;
}

function matching(rules: readonly Rule[], action: SignAction, source: string): { rules: Rule[]; reach: Reach } {
  const granted: Rule[] = [];
  let reach: Reach = Reach.None;
  let address: Address | undefined | null = null;
  for (const rule of rules) {
    if (!rule.keys.some((g) => g.matches(action.key))) continue;
    reach = Math.max(reach, Reach.Key) as Reach;
    if (!rule.kinds.has(action.kind)) continue;
    reach = Math.max(reach, Reach.Kind) as Reach;
    if (rule.names !== undefined && !rule.names.some((g) => g.matches(action.name))) continue;
    reach = Math.max(reach, Reach.Name) as Reach;
    if (!rule.modes.has(action.mode)) continue;
    reach = Math.max(reach, Reach.Mode) as Reach;
    if (rule.cidrs !== undefined) {
      if (address === null) address = parseAddress(source);
      if (address === undefined || !rule.cidrs.contains(address)) continue;
    }
    reach = Reach.Source;
    granted.push(rule);
  }
  return { rules: granted, reach };
}

function signDenial(token: TokenRecord, action: SignAction, reach: Reach, source: string): string {
  const w = who(token);
  switch (reach) {
    case Reach.None:
      return `${w} may not use key ${action.key}`;
    case Reach.Key:
      return `${w} may not use key ${action.key} for ${action.kind}`;
    case Reach.Kind:
      return `${w} may not sign ${JSON.stringify(action.name)} with key ${action.key} for ${action.kind}`;
    case Reach.Name:
      return `${w} may not use ${action.mode} mode with key ${action.key}`;
    default:
      return `${w} may not use key ${action.key} from ${source}`;
  }
}
