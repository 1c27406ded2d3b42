// The audit log's tamper evidence (docs/security.md "Threat model"). Each line of DATA/audit.log is
// chained to the one before it by an HMAC under a key derived from the master key:
//
//   body = {"time":…, …the decision…, "seq":N, "prev":"<mac of line N-1, or 64 zeros>"}
//   line = body without its closing brace + ,"mac":"<hex HMAC-SHA256(key, body)>"}
//
// The first record (seq 1) also carries "genesis":{"unchained":N,"sha256":"<hex>"} before its seq:
// the number and SHA-256 of the lines before it (an audit log written before chaining existed;
// usually none). Lines put in front of the chain, or a file replaced by unchained lines, then fail.
//
// Editing, deleting, reordering or inserting a line breaks the chain at that line, and without
// the master key nobody can compute a new one. Cutting lines off the end leaves a valid, shorter
// chain: that is caught against a head saved by an earlier verification (`signet audit verify
// --save-head F`, then `--from-head F`), as `log verify --from-checkpoint` does for the log.
import { createHash, createHmac, hkdfSync, type Hash } from 'node:crypto';
import { SignetError } from '../errors.js';
import type { Secret } from '../secret.js';

const INFO = 'signet audit chain v1';
export const GENESIS_MAC = '0'.repeat(64);
const MAC_SUFFIX = /,"mac":"([0-9a-f]{64})"\}$/;

/** The chain key: HKDF-SHA256 of the master key (never the master key itself). */
export type AuditChainKey = Buffer;

export function auditChainKey(master: Secret): AuditChainKey {
  return Buffer.from(hkdfSync('sha256', master.reveal(), Buffer.alloc(0), Buffer.from(INFO, 'utf8'), 32));
}

/** Where a chain stands: the last line's number and MAC. */
export interface ChainHead {
  readonly seq: number;
  readonly mac: string;
}

export const EMPTY_HEAD: ChainHead = { seq: 0, mac: GENESIS_MAC };

function mac(key: AuditChainKey, body: string): string {
  return createHmac('sha256', key).update(body, 'utf8').digest('hex');
}

/** What the first record says about the unchained lines before it. */
export interface Genesis {
  readonly unchained: number;
  /** SHA-256 (hex) of those lines, each with its newline. */
  readonly sha256: string;
}

export const EMPTY_GENESIS: Genesis = { unchained: 0, sha256: createHash('sha256').digest('hex') };

/** The line (without its newline) for `record` after `head`, and the new head. The first record
 *  (after EMPTY_HEAD) carries `genesis`. */
export function chainLine(
  key: AuditChainKey,
  record: Readonly<Record<string, unknown>>,
  head: ChainHead,
  genesis: Genesis = EMPTY_GENESIS,
): { line: string; head: ChainHead } {
  const seq = head.seq + 1;
  // The record's JSON with seq and prev appended (what JSON.stringify({...record, seq, prev})
  // gives, at a third of the cost: one audit line is chained per request).
  const json = JSON.stringify(record);
  const mark = seq === 1 ? `"genesis":{"unchained":${genesis.unchained},"sha256":"${genesis.sha256}"},` : '';
  const body = `${json.length > 2 ? `${json.slice(0, -1)},` : '{'}${mark}"seq":${seq},"prev":"${head.mac}"}`;
  const m = mac(key, body);
  return { line: `${body.slice(0, -1)},"mac":"${m}"}`, head: { seq, mac: m } };
}

/** A chained line's number and MAC as written, without checking them (to resume a chain). */
export function headOf(line: string): ChainHead | undefined {
  const m = MAC_SUFFIX.exec(line);
  if (!m) return undefined;
  const seq = /"seq":(\d+),"prev":"[0-9a-f]{64}","mac":"[0-9a-f]{64}"\}$/.exec(line);
  return seq ? { seq: Number(seq[1]), mac: m[1] as string } : undefined;
}

export interface ChainVerification {
  /** Lines before the chain began (written before chaining existed), as its first record counts them. */
  readonly unchained: number;
  /** The chain began without a genesis mark (written by a build before the mark existed). */
  readonly unmarked: boolean;
  readonly lines: number;
  readonly head: ChainHead;
}

function broken(lineNumber: number, why: string): never {
  throw new SignetError('AUDIT_CHAIN_BROKEN', `audit log line ${lineNumber}: ${why}`);
}

/**
 * Checks an audit log line by line (1-based numbers in every message), so a large log is read as a
 * stream. With `saved`, the chain must still contain that head: a shorter or rewritten log fails.
 */
export class AuditChainVerifier {
  readonly #key: AuditChainKey;
  readonly #saved: ChainHead | undefined;
  #head: ChainHead = EMPTY_HEAD;
  #unchained = 0;
  #unchainedHash: Hash = createHash('sha256');
  #unmarked = false;
  #lines = 0;
  #savedSeen: boolean;

  constructor(key: AuditChainKey, saved?: ChainHead) {
    this.#key = key;
    this.#saved = saved;
    this.#savedSeen = saved === undefined || saved.seq === 0;
  }

  /** One line, without its newline. */
  line(line: string): void {
    const n = ++this.#lines;
    const m = MAC_SUFFIX.exec(line);
    if (!m) {
      // Lines from before chaining may only come first.
      if (this.#head.seq === 0 && isJsonObject(line)) {
        this.#unchained++;
        this.#unchainedHash.update(`${line}\n`, 'utf8');
        return;
      }
      broken(n, this.#head.seq === 0 ? 'not an audit record' : 'not a chained audit record (edited, inserted, or cut short)');
    }
    const body = `${line.slice(0, m.index)}}`;
    if (mac(this.#key, body) !== m[1]) broken(n, 'its MAC does not match (edited, or written with another master key)');
    let parsed: { seq?: unknown; prev?: unknown; genesis?: { unchained?: unknown; sha256?: unknown } };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      broken(n, 'not JSON');
    }
    if (this.#head.seq === 0) this.#checkGenesis(n, parsed.genesis);
    else if (parsed.genesis !== undefined) broken(n, 'a second first record (genesis) inside the chain');
    if (parsed.seq !== this.#head.seq + 1 || parsed.prev !== this.#head.mac) {
      broken(n, `it does not follow the record before it (expected record ${this.#head.seq + 1}: a line was deleted, reordered or inserted)`);
    }
    this.#head = { seq: this.#head.seq + 1, mac: m[1] as string };
    const saved = this.#saved;
    if (saved !== undefined && this.#head.seq === saved.seq) {
      if (this.#head.mac !== saved.mac) broken(n, `record ${saved.seq} is not the one the saved head names (the log was rewritten)`);
      this.#savedSeen = true;
    }
  }

  /**
   * The first record must account for every line before it. A chain begun by an older build has
   * no mark: it is accepted only with nothing in front of it.
   */
  #checkGenesis(n: number, genesis: { unchained?: unknown; sha256?: unknown } | undefined): void {
    if (genesis === undefined) {
      if (this.#unchained > 0) broken(n, `${this.#unchained} unchained lines come before a chain whose first record does not count them (lines were put in front)`);
      this.#unmarked = true;
      return;
    }
    const digest = this.#unchainedHash.digest('hex');
    if (genesis.unchained !== this.#unchained || genesis.sha256 !== digest) {
      broken(n, `the first record counts ${String(genesis.unchained)} unchained lines before it, the file has ${this.#unchained} other ones (lines were put in front or changed)`);
    }
  }

  /** After the last line; `complete` is false when the text did not end with a newline. */
  finish(complete = true): ChainVerification {
    if (!complete) broken(this.#lines, 'the last line is incomplete (no newline)');
    if (this.#head.seq === 0 && this.#unchained > 0) {
      throw new SignetError('AUDIT_CHAIN_BROKEN', `the audit log has ${this.#unchained} lines and no chained record (replaced by unchained lines)`);
    }
    if (!this.#savedSeen) {
      throw new SignetError('AUDIT_CHAIN_BROKEN', `the audit log ends at record ${this.#head.seq}, before record ${this.#saved?.seq} of the saved head: lines were cut off the end`);
    }
    return { unchained: this.#unchained, unmarked: this.#unmarked, lines: this.#lines, head: this.#head };
  }
}

/** The same over a whole text. */
export function verifyAuditChain(key: AuditChainKey, text: string, saved?: ChainHead): ChainVerification {
  const verifier = new AuditChainVerifier(key, saved);
  const lines = text.split('\n');
  const last = lines.pop();
  for (const line of lines) verifier.line(line);
  if (last !== undefined && last !== '') {
    verifier.line(last);
    return verifier.finish(false);
  }
  return verifier.finish();
}

/** A saved head (`--save-head`): {"seq":N,"mac":"<64 hex>"}. */
export function parseChainHead(text: string): ChainHead {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const h = v as { seq?: unknown; mac?: unknown } | undefined;
  if (typeof h !== 'object' || h === null || !Number.isSafeInteger(h.seq) || (h.seq as number) < 0 || typeof h.mac !== 'string' || !/^[0-9a-f]{64}$/.test(h.mac)) {
    throw new SignetError('BAD_REQUEST', 'the saved audit head is not {"seq":N,"mac":"<64 hex digits>"}');
  }
  return { seq: h.seq as number, mac: h.mac };
}

function isJsonObject(line: string): boolean {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
