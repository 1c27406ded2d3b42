// Approval requests (docs/approvals.md):
//   GET  /v1/requests[?pending=1]      requests, newest first (any token: approvers must find them)
//   GET  /v1/requests/:id              one request with its decisions
//   POST /v1/requests/:id/approve      {comment?}: a listed approver, never the requester
//   POST /v1/requests/:id/reject       {comment?}: a listed approver; the request is refused
// Every decision is recorded in the store (one decision per identity, atomically) and then in the
// transparency log, signed into the tree with the rest; the final signature's entry cites them.
import { SignetError } from '../../errors.js';
import { decisionBody, requestParams, requestsQuery } from '../../api/schemas.js';
import { decide, identityOf, requestView } from '../approvals.js';
import { ADMIN_POLICY } from '../../policy/authorize.js';
import type { ApprovalRequestRecord } from '../../store/approval-types.js';
import type { TokenRecord } from '../../store/types.js';
import type { RouteModule } from '../context.js';
import { parse } from '../validation.js';

export const requestRoutes: RouteModule = (app, ctx) => {
  // A token sees the requests it made or may decide on; the admin sees all. Another token gets
  // REQUEST_NOT_FOUND, whether the request exists or not.
  const visible = (token: TokenRecord, r: ApprovalRequestRecord): boolean =>
    token.policies.includes(ADMIN_POLICY) || r.requesterAccessor === token.accessor || r.requesterIdentity === identityOf(token) || r.approvers.includes(identityOf(token));

  app.get('/v1/requests', async (request) => {
    const token = await ctx.authenticate(request);
    const q = parse(requestsQuery, request.query, 'QUERY_INVALID');
    const now = Date.now();
    const list = await ctx.store.approvals.listRequests({ pending: q.pending ?? false, now, limit: q.limit ?? 100 });
    return { requests: list.filter((r) => visible(token, r)).map((r) => requestView(r, now)) };
  });

  app.get('/v1/requests/:id', async (request) => {
    const token = await ctx.authenticate(request);
    const { id } = parse(requestParams, request.params, 'BAD_REQUEST');
    const r = await ctx.store.approvals.getRequest(id);
    if (!r || !visible(token, r)) throw new SignetError('REQUEST_NOT_FOUND', `no approval request ${id}`);
    return requestView(r, Date.now());
  });

  for (const decision of ['approve', 'reject'] as const) {
    app.post(`/v1/requests/:id/${decision}`, async (request) => {
      const { id } = parse(requestParams, request.params, 'BAD_REQUEST');
      const body = parse(decisionBody, request.body ?? {}, 'BODY_INVALID');
      const now = Date.now();
      return requestView(await decide(ctx, request, id, decision, body.comment, now), now);
    });
  }
};
