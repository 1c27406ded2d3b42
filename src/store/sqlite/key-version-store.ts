// Key versions and subkeys on SQLite (src/store/key-version-types.ts). Each method is one
// statement or one BEGIN IMMEDIATE transaction.
import type Database from 'better-sqlite3';
import { preparedStatements } from './statements.js';
import { SignetError, type ErrorCode } from '../../errors.js';
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
import { runStatement } from './sqlite-store.js';

const decoders = { int: (v: number | string) => Number(v) };
const placeholders = (columns: string): string => columns.split(',').map(() => '?').join(', ');

export class SqliteKeyVersionStore implements KeyVersionStore {
  readonly #db: Database.Database;
  readonly #stmt: (sql: string) => Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#stmt = preparedStatements(db);
  }

  #run<T>(fn: () => T, constraint?: [ErrorCode, string]): T {
    return runStatement(fn, constraint);
  }

  /** Inside insertKey's transaction. */
  insertVersionSync(version: KeyVersionRecord): void {
    this.#stmt(`INSERT INTO key_versions (${VERSION_COLUMNS}) VALUES (${placeholders(VERSION_COLUMNS)})`).run(...versionValues(version));
  }

  async list(name: string): Promise<KeyVersionRecord[]> {
    return this.#run(() =>
      (this.#stmt('SELECT * FROM key_versions WHERE key_name = ? ORDER BY created_at DESC, fingerprint').all(name) as KeyVersionRow[]).map((r) =>
        versionFromRow(r, decoders)),
    );
  }

  async get(fingerprint: string): Promise<KeyVersionRecord | undefined> {
    return this.#run(() => {
      const row = this.#stmt('SELECT * FROM key_versions WHERE fingerprint = ?').get(fingerprint) as KeyVersionRow | undefined;
      return row ? versionFromRow(row, decoders) : undefined;
    });
  }

  async rotate(name: string, next: KeyVersionRecord, previous: { fingerprint: string; exportUntil: number | null }): Promise<void> {
    this.#run(
      () =>
        this.#db.transaction(() => {
          const current = this.#stmt('SELECT fingerprint FROM keys WHERE name = ?').get(name) as { fingerprint: string } | undefined;
          if (!current) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
          if (current.fingerprint !== previous.fingerprint) throw new SignetError('KEY_VERSION_NOT_FOUND', `the key ${name} was rotated meanwhile`);
          this.#stmt("UPDATE key_versions SET state = 'retired', export_until = ? WHERE fingerprint = ? AND state = 'active'")
            .run(previous.exportUntil, previous.fingerprint);
          this.#stmt("UPDATE key_subkeys SET state = 'retired' WHERE key_name = ? AND state = 'active'").run(name);
          this.insertVersionSync(next);
          this.#stmt(
            `UPDATE keys SET fingerprint = ?, key_id = ?, algorithm = ?, key_created_at = ?, public_key = ?, sealed_secret = ?,
               wrapped_data_key = ?, backend = ?, token_ref = ? WHERE name = ?`,
          ).run(next.fingerprint, next.keyId, next.algorithm, next.keyCreatedAt, next.publicKey, next.sealedSecret ?? Buffer.alloc(0),
            next.wrappedDataKey ?? Buffer.alloc(0), next.backend, next.tokenRef, name);
        }).immediate(),
      ['KEY_EXISTS', `a key with fingerprint ${next.fingerprint} exists`],
    );
  }

  async update(fingerprint: string, changes: KeyVersionChanges): Promise<void> {
    this.#run(() =>
      this.#db.transaction(() => {
        const row = this.#stmt('SELECT * FROM key_versions WHERE fingerprint = ?').get(fingerprint) as KeyVersionRow | undefined;
        if (!row) throw new SignetError('KEY_VERSION_NOT_FOUND', `no key version ${fingerprint}`);
        const v = { ...versionFromRow(row, decoders), ...changes };
        this.#stmt(
          `UPDATE key_versions SET public_key = ?, state = ?, expires_at = ?, revocation_reason = ?, revocation_certificate = ?
           WHERE fingerprint = ?`,
        ).run(v.publicKey, v.state, v.expiresAt, v.revocationReason, v.revocationCertificate, fingerprint);
        if (changes.publicKey) this.#stmt('UPDATE keys SET public_key = ? WHERE fingerprint = ?').run(changes.publicKey, fingerprint);
      }).immediate(),
    );
  }

  async listSubkeys(name: string): Promise<SubkeyRecord[]> {
    return this.#run(() =>
      (this.#stmt('SELECT * FROM key_subkeys WHERE key_name = ? ORDER BY created_at DESC, fingerprint').all(name) as SubkeyRow[]).map((r) =>
        subkeyFromRow(r, decoders)),
    );
  }

  async addSubkey(subkey: SubkeyRecord, primaryPublicKey: Buffer): Promise<void> {
    this.#run(
      () =>
        this.#db.transaction(() => {
          this.#stmt("UPDATE key_subkeys SET state = 'retired' WHERE key_name = ? AND state = 'active'").run(subkey.keyName);
          this.#stmt(`INSERT INTO key_subkeys (${SUBKEY_COLUMNS}) VALUES (${placeholders(SUBKEY_COLUMNS)})`).run(...subkeyValues(subkey));
          this.#stmt('UPDATE key_versions SET public_key = ? WHERE fingerprint = ?').run(primaryPublicKey, subkey.primaryFingerprint);
          this.#stmt('UPDATE keys SET public_key = ? WHERE fingerprint = ?').run(primaryPublicKey, subkey.primaryFingerprint);
        }).immediate(),
      ['KEY_EXISTS', `a subkey with fingerprint ${subkey.fingerprint} exists`],
    );
  }

  async destroySecrets(name: string): Promise<void> {
    this.#run(() =>
      this.#db.transaction(() => {
        const changes = this.#stmt("UPDATE keys SET state = 'deleted', sealed_secret = ?, wrapped_data_key = ? WHERE name = ?")
          .run(Buffer.alloc(0), Buffer.alloc(0), name).changes;
        if (changes === 0) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
        this.#stmt('UPDATE key_versions SET sealed_secret = NULL, wrapped_data_key = NULL WHERE key_name = ?').run(name);
        this.#stmt('UPDATE key_subkeys SET sealed_secret = NULL, wrapped_data_key = NULL WHERE key_name = ?').run(name);
      }).immediate(),
    );
  }
}
