// GET /v1/log/search (admin): "who signed what, when", answered from the transparency log itself:
// signatures, key events, vetting records, approval requests and approvals.
//   ?since=ISO&until=ISO&key=NAME|FINGERPRINT&role=R&name=GLOB&kind=K&limit=N
// Entries are read newest first in pages and filtered; the scan stops once a whole page is older
// than `since` (entry times follow append order within a few minutes across nodes; the slack
// covers that). Each hit names the key by name and the requester by role: the entry's own role
// if it names one, else the role (or the display name) of the token that asked, looked up by
// its accessor. Entries are read as JSON, tolerating fields this version does not know.
import { SignetError } from '../../errors.js';
import { compileGlob, GlobError, type Glob } from '../../policy/glob.js';
import { logSearchQuery as searchQuery } from '../../api/schemas.js';
import type { RouteModule } from '../context.js';
import { parse } from '../validation.js';

const PAGE = 1000;
/** Entries older than `since` by this much end the scan (clock and append-order skew). */
const SLACK_MS = 10 * 60_000;
/** Most entries one search reads; beyond it the answer says `truncated`. */
const MAX_SCANNED = 2_000_000;


interface RawEntry {
  kind?: string;
  sig_kind?: string;
  event?: string;
  key_fingerprint?: string;
  key_name?: string;
  artifact?: { name?: string; digest_alg?: string; digest_hex?: string };
  signature_sha256?: string;
  requester?: { role?: string; token_accessor?: string; token_hmac?: string; source?: string };
  rule?: string;
  time?: string;
  correlation_id?: string;
  // vet (docs/vetting.md)
  verdict?: string;
  repository?: string;
  tag?: string;
  tag_signer?: string;
  // approval_request and approval (docs/approvals.md)
  request_id?: string;
  decision?: string;
  identity?: string;
}

/** Entry kinds a search reports as themselves; a signature entry reports its signature kind. */
const EVENT_KINDS = new Set(['key', 'vet', 'approval_request', 'approval']);

/** The key an entry is about: the signing key, or for a vetting record the tag's signer. */
function keyFingerprintOf(e: RawEntry): string | undefined {
  return e.kind === 'vet' ? e.tag_signer : e.key_fingerprint;
}

/** The name an entry is about: the artifact, or the key's name for key events (none for an
 *  approval, which names its request). */
function nameOf(e: RawEntry): string | undefined {
  return e.kind === 'key' ? e.key_name : e.kind === 'approval' ? undefined : e.artifact?.name;
}

export const logSearchRoutes: RouteModule = (app, ctx) => {
  app.get('/v1/log/search', async (request) => {
    await ctx.authorize(request, { op: 'admin', what: 'search the log' });
    const q = parse(searchQuery, request.query, 'QUERY_INVALID');
    const until = q.until ?? Number.POSITIVE_INFINITY;
    const limit = Math.min(q.limit ?? 1000, 10_000);
    let glob: Glob | undefined;
    try {
      glob = q.name === undefined ? undefined : compileGlob(q.name);
    } catch (err) {
      if (err instanceof GlobError) throw new SignetError('QUERY_INVALID', `name: ${err.message}`);
      throw err;
    }
    const keys = await ctx.store.listKeys();
    const keyName = new Map(keys.map((k) => [k.fingerprint, k.name]));
    let fingerprint: string | undefined;
    if (q.key !== undefined) {
      fingerprint = (keys.find((k) => k.name === q.key)?.fingerprint ?? (/^[0-9A-Fa-f]{40,64}$/.test(q.key) ? q.key : undefined))?.toUpperCase();
      if (fingerprint === undefined) throw new SignetError('KEY_NOT_FOUND', `no key named ${q.key}`);
    }
    const roles = new Map<string, string | null>();
    // Entries name the requester by a keyed hash of its token's accessor (docs/log-format.md);
    // the server holds the key, so it maps every token it knows to its hash once per search.
    let byHash: Map<string, string> | undefined;
    const roleOf = async (e: RawEntry): Promise<string | null> => {
      if (e.requester?.role) return e.requester.role;
      const hmac = e.requester?.token_hmac;
      if (hmac !== undefined) {
        byHash ??= new Map((await ctx.store.listTokens()).map((t) => [ctx.log.requesterHash(t.accessor), t.meta.role ?? t.displayName]));
        return byHash.get(hmac) ?? null;
      }
      const accessor = e.requester?.token_accessor;
      if (!accessor) return null;
      if (!roles.has(accessor)) {
        const t = await ctx.store.getTokenByAccessor(accessor);
        roles.set(accessor, t === undefined ? null : (t.meta.role ?? t.displayName));
      }
      return roles.get(accessor) ?? null;
    };

    const hits: Array<Record<string, unknown>> = [];
    let end = await ctx.store.log.sequencedSize();
    let scanned = 0;
    let truncated = false;
    scan: while (end > 0n) {
      const start = end > BigInt(PAGE) ? end - BigInt(PAGE) : 0n;
      const page = await ctx.store.log.readEntries(start, end);
      let newest = Number.NEGATIVE_INFINITY;
      for (let i = page.length - 1; i >= 0; i--) {
        let e: RawEntry;
        try {
          e = JSON.parse((page[i] as Buffer).toString('utf8')) as RawEntry;
        } catch {
          continue;
        }
        const at = Date.parse(e.time ?? '');
        if (Number.isNaN(at)) continue;
        newest = Math.max(newest, at);
        if (at < q.since || at >= until) continue;
        const kind = e.kind === 'signature' ? e.sig_kind : e.kind !== undefined && EVENT_KINDS.has(e.kind) ? e.kind : undefined;
        if (kind === undefined || (q.kind !== undefined && kind !== q.kind)) continue;
        const entryKey = keyFingerprintOf(e);
        if (fingerprint !== undefined && entryKey?.toUpperCase() !== fingerprint) continue;
        const name = nameOf(e);
        if (glob !== undefined && (name === undefined || !glob.matches(name))) continue;
        const role = await roleOf(e);
        if (q.role !== undefined && role !== q.role) continue;
        hits.push({
          index: Number(start) + i,
          time: e.time,
          kind,
          ...(e.kind === 'key' ? { event: e.event } : {}),
          key: (entryKey !== undefined ? keyName.get(entryKey) : undefined) ?? e.key_name ?? null,
          key_fingerprint: entryKey ?? null,
          name: name ?? null,
          ...(e.artifact?.digest_hex ? { digest: `${e.artifact.digest_alg}:${e.artifact.digest_hex}` } : {}),
          ...(e.signature_sha256 ? { signature_sha256: e.signature_sha256 } : {}),
          role,
          ...(e.rule ? { rule: e.rule } : {}),
          ...(e.kind === 'vet' ? { verdict: e.verdict, repository: e.repository, tag: e.tag } : {}),
          ...(e.request_id !== undefined ? { request_id: e.request_id } : {}),
          ...(e.kind === 'approval' ? { decision: e.decision, identity: e.identity } : {}),
          ...(e.correlation_id ? { correlation_id: e.correlation_id } : {}),
        });
        if (hits.length >= limit) {
          truncated = true;
          break scan;
        }
      }
      scanned += page.length;
      if (newest < q.since - SLACK_MS) break;
      if (scanned >= MAX_SCANNED) {
        truncated = true;
        break;
      }
      end = start;
    }
    hits.reverse();
    request.signetAudit = { event: 'log.search', hits: hits.length, scanned };
    return { entries: hits, scanned, truncated };
  });
};
