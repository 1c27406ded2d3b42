// Key versions and subkeys on PostgreSQL (src/store/key-version-types.ts). Changes that span
// rows are one transaction; the keys row is locked first (SELECT … FOR UPDATE) so two nodes
// rotating one name at once serialise and the second sees the first's version.
import { SignetError } from '../../errors.js';
import type { KeyVersionChanges, KeyVersionRecord, KeyVersionStore, SubkeyRecord } from '../key-version-types.js';
import {
  SUBKEY_COLUMNS,
  subkeyFromRow,
  subkeyValues,
  VERSION_COLUMNS,
  versionFromRow,
  versionValues,
  type KeyVersionRow,
  type SubkeyRow,
} from '../key-version-rows.js';
import { toSafeNumber, type PgDatabase } from './database.js';

const decoders = { int: (v: number | string) => toSafeNumber(v) };
const placeholders = (columns: string): string => columns.split(',').map((_, i) => `$${i + 1}`).join(', ');

export class PostgresKeyVersionStore implements KeyVersionStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async list(name: string): Promise<KeyVersionRecord[]> {
    const rows = await this.#db.query<KeyVersionRow>('SELECT * FROM key_versions WHERE key_name = $1 ORDER BY created_at DESC, fingerprint COLLATE "C"', [name]);
    return rows.map((r) => versionFromRow(r, decoders));
  }

  async get(fingerprint: string): Promise<KeyVersionRecord | undefined> {
    const [row] = await this.#db.query<KeyVersionRow>('SELECT * FROM key_versions WHERE fingerprint = $1', [fingerprint]);
    return row ? versionFromRow(row, decoders) : undefined;
  }

  async rotate(name: string, next: KeyVersionRecord, previous: { fingerprint: string; exportUntil: number | null }): Promise<void> {
    const constraint = { constraint: ['KEY_EXISTS', `a key with fingerprint ${next.fingerprint} exists`] as ['KEY_EXISTS', string] };
    await this.#db.transaction(async (tx) => {
      const [current] = await tx.query<{ fingerprint: string }>('SELECT fingerprint FROM keys WHERE name = $1 FOR UPDATE', [name]);
      if (!current) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
      if (current.fingerprint !== previous.fingerprint) throw new SignetError('KEY_VERSION_NOT_FOUND', `the key ${name} was rotated meanwhile`);
      await tx.query("UPDATE key_versions SET state = 'retired', export_until = $1 WHERE fingerprint = $2 AND state = 'active'", [previous.exportUntil, previous.fingerprint]);
      await tx.query("UPDATE key_subkeys SET state = 'retired' WHERE key_name = $1 AND state = 'active'", [name]);
      await tx.query(`INSERT INTO key_versions (${VERSION_COLUMNS}) VALUES (${placeholders(VERSION_COLUMNS)})`, versionValues(next), constraint);
      await tx.query(
        `UPDATE keys SET fingerprint = $1, key_id = $2, algorithm = $3, key_created_at = $4, public_key = $5, sealed_secret = $6,
           wrapped_data_key = $7, backend = $8, token_ref = $9 WHERE name = $10`,
        [next.fingerprint, next.keyId, next.algorithm, next.keyCreatedAt, next.publicKey, next.sealedSecret ?? Buffer.alloc(0),
          next.wrappedDataKey ?? Buffer.alloc(0), next.backend, next.tokenRef, name],
        constraint,
      );
    });
  }

  async update(fingerprint: string, changes: KeyVersionChanges): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const [row] = await tx.query<KeyVersionRow>('SELECT * FROM key_versions WHERE fingerprint = $1 FOR UPDATE', [fingerprint]);
      if (!row) throw new SignetError('KEY_VERSION_NOT_FOUND', `no key version ${fingerprint}`);
      const v = { ...versionFromRow(row, decoders), ...changes };
      await tx.query(
        `UPDATE key_versions SET public_key = $1, state = $2, expires_at = $3, revocation_reason = $4, revocation_certificate = $5
         WHERE fingerprint = $6`,
        [v.publicKey, v.state, v.expiresAt, v.revocationReason, v.revocationCertificate, fingerprint],
      );
      if (changes.publicKey) await tx.query('UPDATE keys SET public_key = $1 WHERE fingerprint = $2', [changes.publicKey, fingerprint]);
    });
  }

  async listSubkeys(name: string): Promise<SubkeyRecord[]> {
    const rows = await this.#db.query<SubkeyRow>('SELECT * FROM key_subkeys WHERE key_name = $1 ORDER BY created_at DESC, fingerprint COLLATE "C"', [name]);
    return rows.map((r) => subkeyFromRow(r, decoders));
  }

  async addSubkey(subkey: SubkeyRecord, primaryPublicKey: Buffer): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.query('SELECT name FROM keys WHERE name = $1 FOR UPDATE', [subkey.keyName]);
      await tx.query("UPDATE key_subkeys SET state = 'retired' WHERE key_name = $1 AND state = 'active'", [subkey.keyName]);
      await tx.query(`INSERT INTO key_subkeys (${SUBKEY_COLUMNS}) VALUES (${placeholders(SUBKEY_COLUMNS)})`, subkeyValues(subkey),
        { constraint: ['KEY_EXISTS', `a subkey with fingerprint ${subkey.fingerprint} exists`] });
      await tx.query('UPDATE key_versions SET public_key = $1 WHERE fingerprint = $2', [primaryPublicKey, subkey.primaryFingerprint]);
      await tx.query('UPDATE keys SET public_key = $1 WHERE fingerprint = $2', [primaryPublicKey, subkey.primaryFingerprint]);
    });
  }

  async destroySecrets(name: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const rows = await tx.query("UPDATE keys SET state = 'deleted', sealed_secret = $1, wrapped_data_key = $1 WHERE name = $2 RETURNING name", [Buffer.alloc(0), name]);
      if (rows.length === 0) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
      await tx.query('UPDATE key_versions SET sealed_secret = NULL, wrapped_data_key = NULL WHERE key_name = $1', [name]);
      await tx.query('UPDATE key_subkeys SET sealed_secret = NULL, wrapped_data_key = NULL WHERE key_name = $1', [name]);
    });
  }
}
