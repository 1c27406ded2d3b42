// The approval commands and the wait of `signet sign` / `signet rpm sign` (docs/approvals.md).
import type { Command } from 'commander';
import type { ApprovalRequestView, PendingRequest } from '../client/client.js';
import { SignetError } from '../errors.js';
import { printJson, printLine, withClient, type GlobalOptions } from './common.js';

function describe(r: ApprovalRequestView): string {
  const approvals = r.approvals.filter((a) => a.decision === 'approve').map((a) => a.identity);
  return `${r.id}\t${r.state}\t${r.kind} ${r.name} ${r.digest}\tkey ${r.key}\tby ${r.requester}\t${approvals.length}/${r.required}${approvals.length ? ` (${approvals.join(', ')})` : ''}\texpires ${r.expires}`;
}

export function decideAction(decision: 'approve' | 'reject') {
  return async (id: string, opts: { comment?: string }, cmd: Command): Promise<void> => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const r = await withClient(g, (c) => c.decide(id, decision, opts.comment));
    if (g.json) printJson(r);
    else printLine(describe(r));
  };
}

export async function requestsAction(opts: { pending?: boolean }, cmd: Command): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const { requests } = await withClient(g, (c) => c.listRequests(Boolean(opts.pending)));
  if (g.json) printJson({ requests });
  else for (const r of requests) printLine(describe(r));
}

/** How often the waiting CLI asks (SIGNET_APPROVAL_POLL, milliseconds; default 2 s). */
function pollMs(): number {
  const v = Number(process.env.SIGNET_APPROVAL_POLL ?? '2000');
  return Number.isFinite(v) && v >= 50 ? v : 2000;
}

/**
 * Wait until the request is approved (resolve), rejected or expired (throw), with one progress
 * line on stderr each time the count changes.
 */
export async function waitForApproval(g: GlobalOptions, pending: PendingRequest): Promise<void> {
  let shown = -1;
  process.stderr.write(`signet: request ${pending.id} (${pending.digest}) needs ${pending.required} approval${pending.required === 1 ? '' : 's'} from ${pending.approvers.join(', ')}; waiting (signet approve ${pending.id})\n`);
  for (;;) {
    const r = await withClient(g, (c) => c.getRequest(pending.id));
    const approved = r.approvals.filter((a) => a.decision === 'approve');
    if (approved.length !== shown) {
      shown = approved.length;
      process.stderr.write(`signet: request ${r.id}: ${approved.length} of ${r.required} approvals${approved.length ? ` (${approved.map((a) => a.identity).join(', ')})` : ''}\n`);
    }
    if (r.state === 'approved') return;
    if (r.state === 'rejected') {
      const by = r.approvals.find((a) => a.decision === 'reject');
      throw new SignetError('REQUEST_REJECTED', `request ${r.id} was rejected by ${by?.identity ?? 'an approver'}${by?.comment ? `: ${by.comment}` : ''}`);
    }
    if (r.state === 'expired') throw new SignetError('REQUEST_EXPIRED', `request ${r.id} expired at ${r.expires} without its approvals`);
    if (r.state === 'signed') throw new SignetError('REQUEST_CLOSED', `request ${r.id} has already been signed`);
    await new Promise((resolve) => setTimeout(resolve, pollMs()));
  }
}

/** `--no-wait`: the id on stdout (or the JSON), the rest on stderr. */
export function reportPending(g: GlobalOptions, pending: PendingRequest): void {
  if (g.json) printJson({ status: 'pending_approval', request: pending });
  else {
    printLine(pending.id);
    process.stderr.write(`signet: request ${pending.id} needs ${pending.required} approval${pending.required === 1 ? '' : 's'} from ${pending.approvers.join(', ')}; once approved, run the same command with --approval ${pending.id}\n`);
  }
}
