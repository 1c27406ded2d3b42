// The rows of the base tables as both engines return them, and the one mapping to records.
// The engines differ only in representation: PostgreSQL returns BIGINT as strings and JSONB
// parsed; SQLite returns numbers and JSON text. Each engine passes its decoders.
import { Buffer } from 'node:buffer';
import { SignetError } from '../errors.js';
import type { KeyRecord, KeyState, TokenRecord } from './types.js';

type Int = number | string;
type Json<T> = T | string;

export interface KeyRow {
  name: string;
  fingerprint: string;
  key_id: string;
  algorithm: string;
  user_id: string;
  key_created_at: Int;
  public_key: Uint8Array;
  sealed_secret: Uint8Array;
  wrapped_data_key: Uint8Array;
  origin: string;
  state: string;
  created_at: Int;
  /** Comma-separated kinds (migration 2 gave older keys every kind). */
  purposes: string;
  /** 'sealed' or 'pkcs11' (migration 5 gave older keys 'sealed'). */
  backend: string;
  token_ref: string | null;
}

export interface TokenRow {
  accessor: string;
  token_hash: Uint8Array;
  policies: Json<string[]>;
  display_name: string;
  created_at: Int;
  expires_at: Int | null;
  revoked_at: Int | null;
  parent_accessor: string | null;
  meta: Json<Record<string, string>>;
}

export interface RowDecoders {
  /** An integer column as a JS number (throws past 2^53). */
  int(value: Int): number;
}

const nullableInt = (d: RowDecoders, v: Int | null): number | null => (v === null ? null : d.int(v));
const json = <T>(v: Json<T>): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export function keyFromRow(r: KeyRow | undefined, d: RowDecoders): KeyRecord | undefined {
  if (!r) return undefined;
  return {
    name: r.name,
    fingerprint: r.fingerprint,
    keyId: r.key_id,
    algorithm: r.algorithm as KeyRecord['algorithm'],
    userId: r.user_id,
    keyCreatedAt: d.int(r.key_created_at),
    publicKey: Buffer.from(r.public_key),
    sealedSecret: Buffer.from(r.sealed_secret),
    wrappedDataKey: Buffer.from(r.wrapped_data_key),
    origin: r.origin as KeyRecord['origin'],
    state: r.state as KeyState,
    purposes: r.purposes.split(','),
    createdAt: d.int(r.created_at),
    backend: r.backend as KeyRecord['backend'],
    tokenRef: r.token_ref,
  };
}

export function tokenFromRow(r: TokenRow | undefined, d: RowDecoders): TokenRecord | undefined {
  if (!r) return undefined;
  return {
    accessor: r.accessor,
    tokenHash: Buffer.from(r.token_hash),
    policies: json(r.policies),
    displayName: r.display_name,
    createdAt: d.int(r.created_at),
    expiresAt: nullableInt(d, r.expires_at),
    revokedAt: nullableInt(d, r.revoked_at),
    parentAccessor: r.parent_accessor,
    meta: json(r.meta),
  };
}

/** Column values in table order (purposes, then backend and token_ref: migrations 2 and 5 added
 *  them), for INSERT … VALUES. */
export function keyValues(key: KeyRecord): unknown[] {
  return [
    key.name,
    key.fingerprint,
    key.keyId,
    key.algorithm,
    key.userId,
    key.keyCreatedAt,
    key.publicKey,
    key.sealedSecret,
    key.wrappedDataKey,
    key.origin,
    key.state,
    key.createdAt,
    key.purposes.join(','),
    key.backend,
    key.tokenRef,
  ];
}

/** Log entry rows (both engines): rows must be exactly start, start+1, …, end-1: a gap means a deleted (tampered) entry. */
export function denseEntries(start: bigint, end: bigint, rows: ReadonlyArray<{ idx: number | string | bigint; entry: Buffer }>): Buffer[] {
  const entries: Buffer[] = [];
  let expected = start;
  for (const row of rows) {
    if (BigInt(row.idx) !== expected) break;
    entries.push(row.entry);
    expected++;
  }
  if (expected !== end) throw new SignetError('TLOG_VERIFY_FAILED', `log entry ${expected} is missing from the store`);
  return entries;
}

/** Every kind, in ARTIFACT_KINDS order (src/policy/kinds.ts): the purposes migration 2 gives keys
 *  made before purposes existed (docs/policy.md "Key purposes"). */
export const ALL_PURPOSES_COLUMN = 'detached,clearsign,rpm,yum,apt,pacman,sums,git';
