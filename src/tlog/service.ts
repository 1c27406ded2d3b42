// The log's I/O side (the rest of src/tlog is pure): group-committed appends, the integrator that
// extends the tree and signs checkpoints, proofs, receipts and tiles read through the LogStore.
//
// Durability (docs/architecture.md, invariant 4): `append` resolves only after the store committed the entry,
// so a route that awaits it before responding never hands out an unlogged signature. Appends made
// while a commit is in flight (or in the same event-loop turn) share the next transaction, so many
// requests pay for one fsync (SQLite) or one round of statements (PostgreSQL).
//
// Checkpoints: signed by the dedicated Ed25519 log key (generated on first start, sealed under the
// master key like signing keys, never a release key). Before signing, the integrator checks that
// the stored hashes still produce the last signed root and that the new tree is consistent with it
// (RFC 9162 §2.1.4.2): the log never signs a checkpoint inconsistent with an earlier one.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { SignetError } from '../errors.js';
import { sealPrivateKey, unsealPrivateKey, type DataKeyWrapper } from '../keys/seal.js';
import type { Secret } from '../secret.js';
import type { LogIntegrationInput, LogIntegrationOutput, LogTreeState } from '../store/log-types.js';
import type { Store } from '../store/types.js';
import { openCheckpoint, signCheckpoint } from './checkpoint.js';
import { encodeEntry, type LogEntry } from './entry.js';
import { extendTree } from './integrate.js';
import { externalEd25519Signer, generateSignerKey, parseSignerKey, parseVerifierKey, type NoteSigner, type NoteVerifier } from './note.js';
import { formatReceipt } from './receipt.js';
import { encodeEntryBundle, encodeTile, parseTilePath, tileHashIndices, TILE_HEIGHT, TILE_WIDTH } from './tiles.js';
import { proveRecordAsync, proveTreeAsync, storedHashCount, treeHashFrom } from './tree.js';
import { verifyConsistency } from './verify.js';

/**
 * The origin of logs made before origins were unique per deployment; such logs keep it (the
 * origin is stored with the log key and never changes).
 */
export const DEFAULT_LOG_ORIGIN = 'signet.local/log';

/**
 * The origin a new log gets when the operator configured none: unique per deployment, because
 * witnesses and monitors key their state by origin (C2SP tlog-checkpoint: the origin "should be
 * a schema-less URL"; `.local` says it resolves nowhere public). 64 random bits.
 */
export function generateLogOrigin(): string {
  return `signet-${randomBytes(8).toString('hex')}.local/log`;
}
/** Entries one /v1/log/entries request returns at most. */
export const MAX_ENTRIES_PER_READ = 1000;

export interface LogServiceOptions {
  /**
   * Checkpoint origin line and log key name (settings `tlog.origin` or derived from `public_url`).
   * Absent: an existing log keeps its stored origin, a new one gets `generateLogOrigin()`.
   */
  readonly origin?: string;
  /** Most entries one append transaction carries (Tessera's default batch is 256). */
  readonly batchMaxEntries?: number;
  /** How often the integrator looks for new entries. */
  readonly integrateIntervalMs?: number;
  /** Most entries one integration transaction covers. */
  readonly integrateMaxEntries?: number;
  /** Integrator failures (the loop retries on the next tick). */
  readonly onError?: (err: unknown) => void;
  /**
   * A larger signed tree than this service had seen (its own step or another node's): serve keeps
   * the latest in DATA/published-checkpoint, which `signet restore` compares a backup against.
   */
  readonly onCheckpoint?: (tree: LogTreeState) => void;
  /** A token that opens a log key kept in it (settings keys.pkcs11). */
  readonly keyToken?: LogKeyToken;
  /** Make a new log's key in `keyToken` instead of sealing it (settings tlog.key_backend). An
   *  existing log keeps the key it has: verifiers pinned it. */
  readonly newKeyInToken?: boolean;
}

interface PendingAppend {
  readonly entry: Buffer;
  resolve(index: bigint): void;
  reject(err: unknown): void;
}

// ---- the log key ----

const LOG_KEY_META = 'tlog_key';
/** Seal binding of the log key (seal.ts binds name and fingerprint; the vkey is the fingerprint). */
const LOG_KEY_BINDING_NAME = 'tlog';

const storedLogKey = z.union([
  z.strictObject({
    v: z.literal(1),
    origin: z.string(),
    verifier_key: z.string(),
    sealed_secret: z.string(),
    wrapped_data_key: z.string(),
  }),
  // A log key in a PKCS#11 token: only the token's reference is stored.
  z.strictObject({
    v: z.literal(2),
    origin: z.string(),
    verifier_key: z.string(),
    backend: z.literal('pkcs11'),
    token_ref: z.string(),
  }),
]);

/** Where a new log key is made when it is not sealed in the store: a token that holds Ed25519
 *  keys and signs with them (src/keys/pkcs11-backend.ts). */
export interface LogKeyToken {
  generateLogKey(label: string): Promise<{ publicKey: Buffer; tokenRef: string }>;
  openLogKey(tokenRef: string): Promise<{ publicKey: Buffer; sign(message: Buffer): Buffer }>;
}

/**
 * The log's note signer: generated and stored (sealed) on first start; several nodes starting
 * together agree on one through putMetaIfAbsent. The origin of an existing log cannot change.
 * `origin` undefined: the stored one, or a generated one for a new log.
 */
export async function loadLogSigner(store: Store, master: Secret | DataKeyWrapper, origin: string | undefined,
  token?: LogKeyToken, newKeyInToken = false): Promise<NoteSigner & { readonly verifierKey: string }> {
  let stored = await store.getMeta(LOG_KEY_META);
  if (stored === undefined && newKeyInToken) {
    if (token === undefined) throw new SignetError('CONFIG_INVALID', 'tlog.key_backend pkcs11 needs keys.pkcs11 in the settings');
    const name = origin ?? generateLogOrigin();
    const made = await token.generateLogKey('tlog');
    const verifierKey = externalEd25519Signer(name, made.publicKey, () => Buffer.alloc(0)).verifierKey;
    stored = await store.putMetaIfAbsent(
      LOG_KEY_META,
      JSON.stringify({ v: 2, origin: parseVerifierKey(verifierKey).name, verifier_key: verifierKey, backend: 'pkcs11', token_ref: made.tokenRef }),
    );
  }
  if (stored === undefined) {
    const { signerKey, verifierKey } = generateSignerKey(origin ?? generateLogOrigin());
    const sealed = sealPrivateKey(master, { name: LOG_KEY_BINDING_NAME, fingerprint: verifierKey }, signerKey.reveal());
    signerKey.wipe();
    stored = await store.putMetaIfAbsent(
      LOG_KEY_META,
      JSON.stringify({
        v: 1,
        origin: parseVerifierKey(verifierKey).name,
        verifier_key: verifierKey,
        sealed_secret: sealed.sealedSecret.toString('base64'),
        wrapped_data_key: sealed.wrappedDataKey.toString('base64'),
      }),
    );
  }
  let record: z.infer<typeof storedLogKey>;
  try {
    record = storedLogKey.parse(JSON.parse(stored));
  } catch {
    throw new SignetError('KEY_DECRYPT_FAILED', 'the stored log key is malformed');
  }
  // A node that configured no origin takes the stored one (several nodes starting together may
  // each have generated one: putMetaIfAbsent kept the first).
  if (origin !== undefined && record.origin !== origin) {
    throw new SignetError(
      'CONFIG_INVALID',
      `this log's origin is ${record.origin}, the settings say ${origin}; a log's origin cannot change (set tlog.origin: ${record.origin})`,
    );
  }
  if (record.v === 2) {
    if (token === undefined) {
      throw new SignetError('KEY_BACKEND_UNAVAILABLE', 'the log key is in a PKCS#11 token; configure keys.pkcs11 in the settings');
    }
    const opened = await token.openLogKey(record.token_ref);
    const signer = externalEd25519Signer(record.origin, opened.publicKey, opened.sign);
    if (signer.verifierKey !== record.verifier_key) throw new SignetError('KEY_DECRYPT_FAILED', 'the log key in the token does not match its verifier key');
    return signer;
  }
  const secret = unsealPrivateKey(
    master,
    { name: LOG_KEY_BINDING_NAME, fingerprint: record.verifier_key },
    { sealedSecret: Buffer.from(record.sealed_secret, 'base64'), wrappedDataKey: Buffer.from(record.wrapped_data_key, 'base64') },
  );
  try {
    const signer = parseSignerKey(secret);
    if (signer.verifierKey !== record.verifier_key) throw new SignetError('KEY_DECRYPT_FAILED', 'the stored log key does not match its verifier key');
    return signer;
  } finally {
    secret.wipe();
  }
}

// ---- the service ----

export class LogService {
  readonly origin: string;
  /** `origin+hex8+base64(0x01 || pub)`: what verifiers pin (GET /v1/log/key). */
  readonly verifierKey: string;
  readonly verifier: NoteVerifier;
  readonly #store: Store;
  readonly #signer: NoteSigner;
  readonly #batchMaxEntries: number;
  readonly #integrateIntervalMs: number;
  readonly #integrateMaxEntries: number;
  readonly #onError: (err: unknown) => void;
  readonly #onCheckpoint: ((tree: LogTreeState) => void) | undefined;
  #queue: PendingAppend[] = [];
  #flushScheduled = false;
  #flushing: Promise<void> | undefined;
  #integrating: Promise<LogTreeState | undefined> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #kickTimer: NodeJS.Timeout | undefined;
  #tree: LogTreeState | undefined;
  #closed = false;

  private constructor(store: Store, signer: NoteSigner & { readonly verifierKey: string }, options: LogServiceOptions) {
    this.#store = store;
    this.#signer = signer;
    this.origin = signer.name;
    this.verifierKey = signer.verifierKey;
    this.verifier = parseVerifierKey(signer.verifierKey);
    this.#batchMaxEntries = options.batchMaxEntries ?? 256;
    this.#integrateIntervalMs = options.integrateIntervalMs ?? 500;
    this.#integrateMaxEntries = options.integrateMaxEntries ?? 4096;
    this.#onError = options.onError ?? (() => undefined);
    this.#onCheckpoint = options.onCheckpoint;
  }

  /** Loads (or creates) the log key and signs the first checkpoint if the log has none. */
  static async open(store: Store, master: Secret | DataKeyWrapper, options: LogServiceOptions = {}): Promise<LogService> {
    const signer = await loadLogSigner(store, master, options.origin, options.keyToken, options.newKeyInToken);
    const service = new LogService(store, signer, options);
    await service.integrate();
    return service;
  }

  /** Starts the periodic integrator (serve does; tests may drive `integrate` themselves). */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => this.#tick(), this.#integrateIntervalMs);
    this.#timer.unref();
  }

  // ---- sequencing ----

  /** Durably appends an entry; resolves with its index after the commit. */
  append(entry: LogEntry): Promise<bigint> {
    return this.appendEncoded(encodeEntry(entry));
  }

  appendEncoded(entry: Buffer): Promise<bigint> {
    if (this.#closed) return Promise.reject(new SignetError('NOT_READY', 'the log is shutting down'));
    return new Promise<bigint>((resolve, reject) => {
      this.#queue.push({ entry, resolve, reject });
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing) return;
    this.#flushScheduled = true;
    // setImmediate: every append made in this event-loop turn joins the batch.
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0) this.#scheduleFlush();
      });
    });
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#batchMaxEntries);
      try {
        const first = await this.#store.log.append(
          batch.map((p) => p.entry),
          Date.now(),
        );
        batch.forEach((p, i) => p.resolve(first + BigInt(i)));
      } catch (err) {
        // Fail closed: nobody in the batch gets an index, so no route hands out its signature.
        for (const p of batch) p.reject(err);
      }
    }
  }

  // ---- integration ----

  #tick(): void {
    if (this.#closed) return;
    this.integrate().catch((err: unknown) => this.#onError(err));
  }

  /** Integrates until every entry sequenced so far is in a signed checkpoint (or another node does it). */
  integrate(): Promise<LogTreeState | undefined> {
    this.#integrating ??= this.#integrateAll().finally(() => {
      this.#integrating = undefined;
    });
    return this.#integrating;
  }

  async #integrateAll(): Promise<LogTreeState | undefined> {
    for (;;) {
      const before = this.#tree?.size;
      const tree = await this.#store.log.integrate(this.#integrateMaxEntries, (input) => this.#step(input));
      if (tree === undefined) {
        // Another node holds the integrator lock: read what it published.
        this.#seen(await this.#store.log.treeState());
        return this.#tree;
      }
      this.#seen(tree);
      if (tree.size === before || tree.size - (before ?? 0n) < BigInt(this.#integrateMaxEntries)) return tree;
    }
  }

  #seen(tree: LogTreeState | undefined): void {
    const grew = tree !== undefined && (this.#tree === undefined || tree.size > this.#tree.size);
    this.#tree = tree;
    if (grew && this.#onCheckpoint) {
      try {
        this.#onCheckpoint(tree);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  #step(input: LogIntegrationInput): LogIntegrationOutput | undefined {
    const { tree, edge, entries } = input;
    const size = tree?.size ?? 0n;
    if (input.extended !== undefined && input.extended.size < size) throw new SignetError('INTERNAL', 'an extension smaller than the tree');
    const added = input.extended !== undefined ? input.extended.size - size : BigInt(entries.length);
    if (tree !== undefined && added === 0n) return undefined;
    if (tree !== undefined) {
      // The signed state, the stored hashes and the previous checkpoint must agree before the
      // tree is extended: otherwise the store was altered and nothing more gets signed.
      const previous = openCheckpoint(tree.checkpoint, this.verifier, this.origin).checkpoint;
      if (previous.size !== size || !previous.root.equals(tree.root) || !treeHashFrom(size, edge).equals(tree.root)) {
        throw new SignetError('TLOG_INCONSISTENT', `the stored log does not match its signed checkpoint at size ${size}; refusing to sign`);
      }
    }
    const extended = input.extended ?? extendTree(size, edge, entries);
    if (BigInt(extended.hashes.length) !== storedHashCount(extended.size) - storedHashCount(size)) {
      throw new SignetError('INTERNAL', 'an extension with the wrong number of stored hashes');
    }
    if (tree !== undefined && size > 0n) {
      try {
        verifyConsistency(size, extended.size, extended.consistencyProof, tree.root, extended.root);
      } catch (cause) {
        throw new SignetError('TLOG_INCONSISTENT', 'a new checkpoint would be inconsistent with the last one; refusing to sign', { cause });
      }
    }
    const checkpoint = signCheckpoint({ origin: this.origin, size: extended.size, root: extended.root }, this.#signer);
    return { tree: { size: extended.size, root: extended.root, checkpoint }, hashes: extended.hashes };
  }

  /** Integrate soon (a client waits for a receipt), without a transaction per request. */
  #kick(): void {
    if (this.#kickTimer || this.#closed) return;
    this.#kickTimer = setTimeout(() => {
      this.#kickTimer = undefined;
      this.#tick();
    }, 20);
  }

  /** Resolves with a signed tree that contains `index`; NOT_READY after `timeoutMs`. */
  async awaitIntegration(index: bigint, timeoutMs = 5_000): Promise<LogTreeState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tree = this.#tree;
      if (tree !== undefined && tree.size > index) return tree;
      if (Date.now() > deadline) throw new SignetError('NOT_READY', `log entry ${index} is not integrated yet`);
      this.#kick();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  // ---- reading ----

  /** The latest signed tree, as the store (shared by all nodes) has it. */
  async tree(): Promise<LogTreeState> {
    const tree = await this.#store.log.treeState();
    if (tree === undefined) throw new SignetError('NOT_READY', 'the log has no checkpoint yet');
    return tree;
  }

  async inclusionProof(index: bigint, size: bigint): Promise<Buffer[]> {
    const tree = await this.tree();
    if (size > tree.size) throw new SignetError('BAD_REQUEST', `size ${size} is beyond the signed tree (${tree.size})`);
    if (index < 0n || index >= size) throw new SignetError('BAD_REQUEST', 'index must be below size');
    return proveRecordAsync(size, index, (indices) => this.#store.log.readHashes(indices));
  }

  async consistencyProof(first: bigint, second: bigint): Promise<Buffer[]> {
    const tree = await this.tree();
    if (second > tree.size) throw new SignetError('BAD_REQUEST', `size ${second} is beyond the signed tree (${tree.size})`);
    if (first < 0n || first > second) throw new SignetError('BAD_REQUEST', 'first must be between 0 and second');
    if (first === 0n || first === second) return [];
    return proveTreeAsync(second, first, (indices) => this.#store.log.readHashes(indices));
  }

  /** Integrated entries [start, end), at most MAX_ENTRIES_PER_READ, clamped to the signed tree. */
  async entries(start: bigint, end: bigint): Promise<{ start: bigint; entries: Buffer[] }> {
    const tree = await this.tree();
    if (start < 0n || end < start) throw new SignetError('BAD_REQUEST', 'need 0 <= start <= end');
    let stop = end < tree.size ? end : tree.size;
    if (stop - start > BigInt(MAX_ENTRIES_PER_READ)) stop = start + BigInt(MAX_ENTRIES_PER_READ);
    return { start, entries: stop > start ? await this.#store.log.readEntries(start, stop) : [] };
  }

  /**
   * A C2SP tlog-proof receipt for the entry at `index` against the latest signed checkpoint; the
   * entry itself rides in the `extra` line so the receipt is self-contained.
   */
  async receipt(index: bigint, tree?: LogTreeState): Promise<{ receipt: string; entry: Buffer; tree: LogTreeState }> {
    const signed = tree ?? (await this.tree());
    if (index < 0n || index >= signed.size) {
      // An entry that was never sequenced will never be integrated: NOT_FOUND, so a client does
      // not retry for ever; one that is sequenced but not yet under a checkpoint is NOT_READY
      // (integration follows within a tick).
      if (index < 0n || index >= (await this.#store.log.sequencedSize())) throw new SignetError('NOT_FOUND', `log entry ${index} does not exist`);
      throw new SignetError('NOT_READY', `log entry ${index} is not integrated yet`);
    }
    const [entry] = await this.#store.log.readEntries(index, index + 1n);
    const proof = await proveRecordAsync(signed.size, index, (indices) => this.#store.log.readHashes(indices));
    return { receipt: formatReceipt({ index, proof, checkpoint: signed.checkpoint, extra: entry as Buffer }), entry: entry as Buffer, tree: signed };
  }

  /** A C2SP tlog-tiles resource below the signed tree (`tile/…`), or NOT_FOUND. */
  async tile(path: string): Promise<Buffer> {
    const parsed = parseTilePath(path);
    const tree = await this.tree();
    const first = parsed.index * BigInt(TILE_WIDTH);
    if (parsed.kind === 'entries') {
      if (first + BigInt(parsed.width) > tree.size) throw new SignetError('NOT_FOUND', 'no such entry bundle');
      return encodeEntryBundle(await this.#store.log.readEntries(first, first + BigInt(parsed.width)));
    }
    const nodes = tree.size >> BigInt(TILE_HEIGHT * parsed.level);
    if (first + BigInt(parsed.width) > nodes) throw new SignetError('NOT_FOUND', 'no such tile');
    return encodeTile(await this.#store.log.readHashes(tileHashIndices(parsed)));
  }

  /** Commits queued appends, integrates them, stops the loop. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#kickTimer) clearTimeout(this.#kickTimer);
    this.#timer = undefined;
    this.#kickTimer = undefined;
    while (this.#flushScheduled || this.#flushing || this.#queue.length > 0) {
      await (this.#flushing ?? new Promise((resolve) => setImmediate(resolve)));
    }
    this.#closed = true;
    await this.#integrating?.catch(() => undefined);
    await this.#integrateAll().catch((err: unknown) => this.#onError(err));
  }
}
