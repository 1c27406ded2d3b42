// `signet log search` (admin; GET /v1/log/search) and `signet log verify-receipt` (offline: a
// C2SP tlog-proof receipt checked against a pinned log key, and optionally the signature and the
// artifact it is about). log.ts registers them; this module is imported when one runs.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SignetError } from '../errors.js';
import { dearmor } from '../openpgp/armor.js';
import { parseVerifierKey } from '../tlog/note.js';
import { parseReceipt, verifyReceipt } from '../tlog/receipt.js';
import { hashLeaf } from '../tlog/rfc6962.js';
import { printJson, printLine, readInputFile, withClient, type GlobalOptions } from './common.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `24h`, `7d`, `90m` (that long ago) or an ISO 8601 time; returned as ISO. */
export function parseWhen(value: string, what: string, now = Date.now()): string {
  const m = /^([1-9][0-9]{0,6})([smhdw])$/.exec(value);
  if (m) return new Date(now - Number(m[1]) * (UNIT_MS[m[2] as string] as number)).toISOString();
  const t = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(t)) return new Date(t).toISOString();
  throw new SignetError('USAGE', `${what} wants a duration ago (24h, 7d) or an ISO 8601 time, got ${JSON.stringify(value)}`);
}

interface SearchHit {
  index: number;
  time: string;
  kind: string;
  event?: string;
  key: string | null;
  key_fingerprint: string | null;
  name: string | null;
  digest?: string;
  role: string | null;
  verdict?: string;
  request_id?: string;
  decision?: string;
  correlation_id?: string;
}

export async function logSearchAction(
  opts: { since: string; until?: string; key?: string; role?: string; name?: string; kind?: string; limit?: string },
  cmd: Command,
): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const q = new URLSearchParams({ since: parseWhen(opts.since, '--since') });
  if (opts.until !== undefined) q.set('until', parseWhen(opts.until, '--until'));
  for (const k of ['key', 'role', 'name', 'kind', 'limit'] as const) if (opts[k] !== undefined) q.set(k, opts[k] as string);
  const r = await withClient(g, (c) => c.requestJson<{ entries: SearchHit[]; scanned: number; truncated: boolean }>('GET', `/v1/log/search?${q}`));
  if (g.json) {
    printJson(r);
    return;
  }
  for (const e of r.entries) {
    const what = e.kind === 'key' ? `key ${e.event ?? ''}` : e.kind === 'vet' ? `vet ${e.verdict ?? ''}` : e.kind === 'approval' ? `approval ${e.decision ?? ''}` : e.kind;
    printLine([e.time, String(e.index), e.key ?? e.key_fingerprint ?? '-', what, e.role ?? '-', e.name ?? e.request_id ?? '-', e.correlation_id ?? ''].join('\t').trimEnd());
  }
  if (r.truncated) process.stderr.write(`signet: more entries match; narrow the search or raise --limit\n`);
}

export async function logVerifyReceiptAction(
  file: string,
  opts: { logKey?: string; signature?: string; artifact?: string },
  cmd: Command,
): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const pinned = opts.logKey ?? process.env.SIGNET_LOG_KEY;
  if (pinned === undefined || pinned.trim() === '') {
    throw new SignetError('USAGE', 'offline verification needs the log key you trust: --log-key VKEY|FILE (or SIGNET_LOG_KEY; `signet log key` prints it)');
  }
  const verifier = parseVerifierKey(existsSync(pinned) ? readFileSync(pinned, 'utf8').trim() : pinned.trim());
  const receipt = parseReceipt(readInputFile(file));
  if (receipt.extra === undefined) throw new SignetError('TLOG_PROOF_INVALID', 'the receipt carries no entry (its extra line)');
  // The entry is proven by its leaf hash: the proof leads from it to the signed checkpoint.
  const verified = verifyReceipt(receipt, hashLeaf(receipt.extra), verifier);
  let entry: { kind?: string; sig_kind?: string; key_fingerprint?: string; artifact?: { name?: string; digest_alg?: string; digest_hex?: string }; signature_sha256?: string; time?: string };
  try {
    entry = JSON.parse(receipt.extra.toString('utf8')) as typeof entry;
  } catch {
    throw new SignetError('TLOG_ENTRY_MALFORMED', 'the receipt\'s entry is not JSON');
  }
  const result: Record<string, unknown> = {
    index: Number(receipt.index),
    origin: verified.checkpoint.origin,
    checkpoint_size: Number(verified.checkpoint.size),
    kind: entry.kind === 'signature' ? entry.sig_kind : entry.kind,
    key_fingerprint: entry.key_fingerprint ?? null,
    name: entry.artifact?.name ?? null,
    time: entry.time ?? null,
  };
  if (opts.signature !== undefined) {
    if (entry.signature_sha256 === undefined) throw new SignetError('RECEIPT_MISMATCH', 'the receipt\'s entry is not a signature');
    const digest = createHash('sha256').update(signatureBytes(readInputFile(opts.signature))).digest('hex');
    if (digest !== entry.signature_sha256) throw new SignetError('RECEIPT_MISMATCH', `${opts.signature} is not the signature this receipt logs`);
    result.signature = 'matches';
  }
  if (opts.artifact !== undefined) {
    const alg = entry.artifact?.digest_alg;
    if (alg === undefined || entry.artifact?.digest_hex === undefined) throw new SignetError('RECEIPT_MISMATCH', 'the receipt\'s entry names no artifact digest');
    const digest = await fileDigest(opts.artifact, alg);
    if (digest !== entry.artifact.digest_hex) throw new SignetError('RECEIPT_MISMATCH', `${opts.artifact} is not the artifact this receipt logs (${alg} differs)`);
    result.artifact = 'matches';
  }
  if (g.json) printJson(result);
  else {
    printLine(`receipt verified: entry ${result.index} of ${result.origin} (checkpoint size ${result.checkpoint_size}), ${result.kind} by ${result.key_fingerprint ?? '-'}, ${result.name ?? '-'} at ${result.time ?? '-'}`);
    if (result.signature) printLine('signature matches the logged one');
    if (result.artifact) printLine('artifact matches the logged digest');
  }
}

/** A detached signature file: binary packets, or ASCII armor around them (RFC 9580 §6.2). */
function signatureBytes(file: Buffer): Buffer {
  const text = file.subarray(0, 64).toString('latin1');
  if (text.includes('-----BEGIN PGP SIGNATURE-----')) return dearmor(file.toString('utf8')).bytes;
  return file;
}

function fileDigest(path: string, alg: string): Promise<string> {
  if (alg !== 'sha256' && alg !== 'sha384' && alg !== 'sha512') throw new SignetError('RECEIPT_MISMATCH', `unknown digest ${alg}`);
  return new Promise((resolve, reject) => {
    const h = createHash(alg);
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', (err: NodeJS.ErrnoException) => reject(new SignetError('FILE_UNREADABLE', `cannot read ${path}: ${err.code ?? 'error'}`)))
      .on('end', () => resolve(h.digest('hex')));
  });
}
