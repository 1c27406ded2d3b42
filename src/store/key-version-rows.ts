// Key versions and subkeys (migrations 3 and 4): the schema for both engines, the rows as both
// engines return them, and the one mapping to records (src/store/key-version-types.ts).
import { Buffer } from 'node:buffer';
import type { KeyRecord } from './types.js';
import type { KeyVersionRecord, KeyVersionState, SubkeyRecord, SubkeyState } from './key-version-types.js';
import type { RowDecoders } from './rows.js';

type Int = number | string;

export interface KeyVersionRow {
  fingerprint: string;
  key_name: string;
  key_id: string;
  algorithm: string;
  key_created_at: Int;
  public_key: Uint8Array;
  sealed_secret: Uint8Array | null;
  wrapped_data_key: Uint8Array | null;
  backend: string;
  token_ref: string | null;
  state: string;
  created_at: Int;
  expires_at: Int | null;
  export_until: Int | null;
  revocation_certificate: Uint8Array | null;
  revocation_reason: string | null;
}

export interface SubkeyRow {
  fingerprint: string;
  key_name: string;
  primary_fingerprint: string;
  key_id: string;
  algorithm: string;
  key_created_at: Int;
  sealed_secret: Uint8Array | null;
  wrapped_data_key: Uint8Array | null;
  backend: string;
  state: string;
  created_at: Int;
}

const bytes = (v: Uint8Array | null): Buffer | null => (v === null ? null : Buffer.from(v));

export function versionFromRow(r: KeyVersionRow, d: RowDecoders): KeyVersionRecord {
  return {
    keyName: r.key_name,
    fingerprint: r.fingerprint,
    keyId: r.key_id,
    algorithm: r.algorithm as KeyVersionRecord['algorithm'],
    keyCreatedAt: d.int(r.key_created_at),
    publicKey: Buffer.from(r.public_key),
    sealedSecret: bytes(r.sealed_secret),
    wrappedDataKey: bytes(r.wrapped_data_key),
    backend: r.backend,
    tokenRef: r.token_ref ?? null,
    state: r.state as KeyVersionState,
    createdAt: d.int(r.created_at),
    expiresAt: r.expires_at === null ? null : d.int(r.expires_at),
    exportUntil: r.export_until === null ? null : d.int(r.export_until),
    revocationCertificate: bytes(r.revocation_certificate),
    revocationReason: r.revocation_reason,
  };
}

export function subkeyFromRow(r: SubkeyRow, d: RowDecoders): SubkeyRecord {
  return {
    fingerprint: r.fingerprint,
    keyName: r.key_name,
    primaryFingerprint: r.primary_fingerprint,
    keyId: r.key_id,
    algorithm: r.algorithm as SubkeyRecord['algorithm'],
    keyCreatedAt: d.int(r.key_created_at),
    sealedSecret: bytes(r.sealed_secret),
    wrappedDataKey: bytes(r.wrapped_data_key),
    backend: r.backend,
    state: r.state as SubkeyState,
    createdAt: d.int(r.created_at),
  };
}

export const VERSION_COLUMNS = 'fingerprint, key_name, key_id, algorithm, key_created_at, public_key, sealed_secret, wrapped_data_key, backend, token_ref, state, created_at, expires_at, export_until, revocation_certificate, revocation_reason';

export function versionValues(v: KeyVersionRecord): unknown[] {
  return [v.fingerprint, v.keyName, v.keyId, v.algorithm, v.keyCreatedAt, v.publicKey, v.sealedSecret, v.wrappedDataKey, v.backend,
    v.tokenRef, v.state, v.createdAt, v.expiresAt, v.exportUntil, v.revocationCertificate, v.revocationReason];
}

export const SUBKEY_COLUMNS = 'fingerprint, key_name, primary_fingerprint, key_id, algorithm, key_created_at, sealed_secret, wrapped_data_key, backend, state, created_at';

export function subkeyValues(s: SubkeyRecord): unknown[] {
  return [s.fingerprint, s.keyName, s.primaryFingerprint, s.keyId, s.algorithm, s.keyCreatedAt, s.sealedSecret, s.wrappedDataKey, s.backend, s.state, s.createdAt];
}

/** The first version of a key, as insertKey records it (an empty sealed secret is an offline
 *  primary: a stub was imported). */
export function firstVersion(key: KeyRecord): KeyVersionRecord {
  // A token key has no sealed material either: it is not offline.
  const offline = key.backend === 'sealed' && key.sealedSecret.length === 0;
  return {
    keyName: key.name,
    fingerprint: key.fingerprint,
    keyId: key.keyId,
    algorithm: key.algorithm,
    keyCreatedAt: key.keyCreatedAt,
    publicKey: key.publicKey,
    sealedSecret: offline || key.sealedSecret.length === 0 ? null : key.sealedSecret,
    wrappedDataKey: offline || key.wrappedDataKey.length === 0 ? null : key.wrappedDataKey,
    backend: key.backend,
    tokenRef: key.tokenRef,
    state: key.state === 'revoked' ? 'revoked' : 'active',
    createdAt: key.createdAt,
    expiresAt: null,
    exportUntil: null,
    revocationCertificate: null,
    revocationReason: null,
  };
}

/** Migrations 3 and 4 for an engine: BLOB/INTEGER on SQLite, BYTEA/BIGINT on PostgreSQL. Every
 *  key of an older store becomes its own first version (same fingerprint, same sealed secret),
 *  so it signs as before. */
export function keyVersionSchemaFor(engine: 'sqlite' | 'postgres'): { version: number; description: string; sql: string }[] {
  const blob = engine === 'sqlite' ? 'BLOB' : 'BYTEA';
  const int = engine === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    {
      version: 3,
      description: 'key versions',
      sql: `
        CREATE TABLE key_versions (
          fingerprint TEXT PRIMARY KEY,
          key_name TEXT NOT NULL,
          key_id TEXT NOT NULL,
          algorithm TEXT NOT NULL,
          key_created_at ${int} NOT NULL,
          public_key ${blob} NOT NULL,
          sealed_secret ${blob},
          wrapped_data_key ${blob},
          backend TEXT NOT NULL DEFAULT 'sealed',
          state TEXT NOT NULL,
          created_at ${int} NOT NULL,
          expires_at ${int},
          export_until ${int},
          revocation_certificate ${blob},
          revocation_reason TEXT
        );
        CREATE INDEX key_versions_name ON key_versions (key_name, created_at);
        INSERT INTO key_versions (fingerprint, key_name, key_id, algorithm, key_created_at, public_key, sealed_secret,
            wrapped_data_key, backend, state, created_at)
          SELECT fingerprint, name, key_id, algorithm, key_created_at, public_key, sealed_secret, wrapped_data_key, 'sealed',
            CASE state WHEN 'revoked' THEN 'revoked' ELSE 'active' END, created_at
          FROM keys;
      `,
    },
    {
      version: 4,
      description: 'signing subkeys',
      sql: `
        CREATE TABLE key_subkeys (
          fingerprint TEXT PRIMARY KEY,
          key_name TEXT NOT NULL,
          primary_fingerprint TEXT NOT NULL,
          key_id TEXT NOT NULL,
          algorithm TEXT NOT NULL,
          key_created_at ${int} NOT NULL,
          sealed_secret ${blob},
          wrapped_data_key ${blob},
          backend TEXT NOT NULL DEFAULT 'sealed',
          state TEXT NOT NULL,
          created_at ${int} NOT NULL
        );
        CREATE INDEX key_subkeys_name ON key_subkeys (key_name, created_at);
      `,
    },
  ];
}
