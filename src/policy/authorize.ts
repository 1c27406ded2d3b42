// The authorisation seam every route goes through. Deny by default (design.md invariant 2): the
// admin policy may do everything; any other token is refused until a policy grants the action.
// The policy engine (roles, rules, rate limits) plugs in here as another Authorizer.
import { SignetError } from '../errors.js';
import type { TokenRecord } from '../store/types.js';

export const ARTIFACT_KINDS = ['detached', 'clearsign', 'rpm', 'yum', 'apt', 'pacman', 'sums', 'git'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export type Action =
  | { readonly op: 'sign'; readonly key: string; readonly kind: ArtifactKind; readonly name: string; readonly mode: 'content' | 'midstate' }
  | { readonly op: 'keys.read' }
  | { readonly op: 'admin' };

export interface RequestContext {
  /** Source address from the socket (never from forwarding headers unless a trusted proxy is set). */
  readonly source: string;
}

export interface Authorizer {
  /** Resolves when allowed; throws POLICY_DENIED naming the missing grant otherwise. */
  authorize(token: TokenRecord, action: Action, context: RequestContext): Promise<void>;
}

export const ADMIN_POLICY = 'admin';

export class AdminOnlyAuthorizer implements Authorizer {
  async authorize(token: TokenRecord, action: Action): Promise<void> {
    if (token.policies.includes(ADMIN_POLICY)) return;
    throw new SignetError('POLICY_DENIED', describeDenial(token, action));
  }
}

export function describeDenial(token: TokenRecord, action: Action): string {
  const who = token.meta.role !== undefined ? `role ${token.meta.role}` : `token ${token.displayName}`;
  switch (action.op) {
    case 'sign':
      return `${who} may not use key ${action.key} for ${action.kind}`;
    case 'keys.read':
      return `${who} may not read keys`;
    case 'admin':
      return `${who} may not perform admin operations`;
  }
}
