// A Merkle tree over an append-only store of hashes, in the stored-hash layout of Go's
// golang.org/x/mod/sumdb/tlog (Crosby & Wallach, "Efficient Data Structures for Tamper-Evident
// Logging", §3.3): the hashes of all complete subtrees, in post-order, in one dense array. Record n
// appends `storedHashes(n)`, i.e. its leaf hash plus the 0.. subtrees it completes
// (1 + trailingZeros(n + 1) hashes, fewer than 2 per record on average). Any root or proof then
// needs O(log n) stored hashes.
//
// Shape of the API: reading hashes is I/O and the store is async (SQL), this module is pure. So
// every operation comes in two phases: `…Indices()` says which stored hashes are needed, the
// caller reads them (one batched SELECT … WHERE idx IN (…)), and `…From(hashes)` combines them.
// `treeHash`/`proveRecord`/`proveTree`/`storedHashes` wrap both phases around a sync `HashReader`,
// and the `…Async` variants around an async one.
import { SignetError } from '../errors.js';
import { HASH_SIZE, bitLength, emptyRoot, hashChildren, hashLeaf, trailingZeros } from './rfc6962.js';

export type HashReader = (indices: readonly bigint[]) => Buffer[];
export type AsyncHashReader = (indices: readonly bigint[]) => Promise<Buffer[]>;

function badRange(message: string): never {
  throw new SignetError('BAD_REQUEST', message);
}

// ---- index arithmetic (tlog.go StoredHashIndex / SplitStoredHashIndex / StoredHashCount) ----

/** Position in the stored-hash array of the level-`level` subtree hash number `n`. */
export function storedHashIndex(level: number, n: bigint): bigint {
  if (level < 0 || n < 0n) badRange('negative stored hash coordinates');
  // The subtree is completed by its last record m = (n << level) + 2^level - 1. Record m's leaf
  // hash sits at Σ_j ⌊m / 2^j⌋ (one hash per complete subtree of records 0..m-1), followed by the
  // hashes it completes: level 1, 2, …, level.
  for (let l = level; l > 0; l--) n = 2n * n + 1n;
  let index = 0n;
  for (; n > 0n; n >>= 1n) index += n;
  return index + BigInt(level);
}

/** Inverse of storedHashIndex. */
export function splitStoredHashIndex(index: bigint): { level: number; n: bigint } {
  if (index < 0n) badRange('negative stored hash index');
  // storedHashIndex(0, n) < 2n, so the record owning `index` is in [index/2, index/2 + log2(index)].
  let n = index / 2n;
  let indexN = storedHashIndex(0, n);
  for (;;) {
    const next = indexN + 1n + BigInt(trailingZeros(n + 1n));
    if (next > index) break;
    n++;
    indexN = next;
  }
  const level = Number(index - indexN);
  return { level, n: n >> BigInt(level) };
}

/** Number of stored hashes for a tree of `size` records. */
export function storedHashCount(size: bigint): bigint {
  if (size < 0n) badRange('negative tree size');
  if (size === 0n) return 0n;
  let count = storedHashIndex(0, size - 1n) + 1n;
  for (let i = size - 1n; (i & 1n) === 1n; i >>= 1n) count++;
  return count;
}

/** Largest power of two strictly below n (n >= 2), with its exponent (tlog.go maxpow2). */
function maxPow2(n: bigint): { k: bigint; level: number } {
  const level = bitLength(n - 1n) - 1;
  return { k: 1n << BigInt(level), level };
}

// ---- appending a record ----

/** Stored hashes needed to append record n: the left siblings of the subtrees it completes. */
export function storedHashesIndices(n: bigint): bigint[] {
  if (n < 0n) badRange('negative record index');
  const completed = trailingZeros(n + 1n);
  const indices: bigint[] = new Array<bigint>(completed);
  for (let i = 0; i < completed; i++) {
    indices[completed - 1 - i] = storedHashIndex(i, (n >> BigInt(i)) - 1n);
  }
  return indices;
}

/** The hashes to append for record n, in order, given `storedHashesIndices(n)`'s hashes. */
export function storedHashesFrom(n: bigint, leafHash: Buffer, siblings: readonly Buffer[]): Buffer[] {
  const completed = storedHashesIndices(n).length;
  checkHashes(siblings, completed);
  const hashes = [leafHash];
  let h = leafHash;
  for (let i = 0; i < completed; i++) {
    h = hashChildren(siblings[completed - 1 - i] as Buffer, h);
    hashes.push(h);
  }
  return hashes;
}

export function storedHashes(n: bigint, leafHash: Buffer, readHashes: HashReader): Buffer[] {
  return storedHashesFrom(n, leafHash, readChecked(readHashes, storedHashesIndices(n)));
}

export async function storedHashesAsync(n: bigint, leafHash: Buffer, readHashes: AsyncHashReader): Promise<Buffer[]> {
  return storedHashesFrom(n, leafHash, await readCheckedAsync(readHashes, storedHashesIndices(n)));
}

// ---- tree hash ----

/** Indices of the complete subtrees that tile [lo, hi), left to right (tlog.go subTreeIndex). */
function subTreeIndex(lo: bigint, hi: bigint, need: bigint[]): void {
  while (lo < hi) {
    const { k, level } = maxPow2(hi - lo + 1n);
    need.push(storedHashIndex(level, lo >> BigInt(level)));
    lo += k;
  }
}

/** Combines the subtree hashes consumed from `cursor` into MTH(D[lo:hi]) (tlog.go subTreeHash). */
function subTreeHash(lo: bigint, hi: bigint, cursor: HashCursor): Buffer {
  const parts: Buffer[] = [];
  while (lo < hi) {
    const { k } = maxPow2(hi - lo + 1n);
    parts.push(cursor.next());
    lo += k;
  }
  let h = parts[parts.length - 1] as Buffer;
  for (let i = parts.length - 2; i >= 0; i--) h = hashChildren(parts[i] as Buffer, h);
  return h;
}

export function treeHashIndices(size: bigint): bigint[] {
  if (size < 0n) badRange('negative tree size');
  const need: bigint[] = [];
  subTreeIndex(0n, size, need);
  return need;
}

/** MTH(D[0:size]); the empty tree is SHA-256() per RFC 9162 (not Go's zero hash). */
export function treeHashFrom(size: bigint, hashes: readonly Buffer[]): Buffer {
  if (size === 0n) {
    checkHashes(hashes, 0);
    return emptyRoot();
  }
  const cursor = new HashCursor(hashes, treeHashIndices(size).length);
  const h = subTreeHash(0n, size, cursor);
  cursor.done();
  return h;
}

export function treeHash(size: bigint, readHashes: HashReader): Buffer {
  return treeHashFrom(size, readChecked(readHashes, treeHashIndices(size)));
}

export async function treeHashAsync(size: bigint, readHashes: AsyncHashReader): Promise<Buffer> {
  return treeHashFrom(size, await readCheckedAsync(readHashes, treeHashIndices(size)));
}

// ---- inclusion proofs (RFC 9162 §2.1.3.1 PATH) ----

function leafProofIndex(lo: bigint, hi: bigint, n: bigint, need: bigint[]): void {
  if (lo + 1n === hi) return;
  const { k } = maxPow2(hi - lo);
  if (n < lo + k) {
    leafProofIndex(lo, lo + k, n, need);
    subTreeIndex(lo + k, hi, need);
  } else {
    subTreeIndex(lo, lo + k, need);
    leafProofIndex(lo + k, hi, n, need);
  }
}

function leafProof(lo: bigint, hi: bigint, n: bigint, cursor: HashCursor): Buffer[] {
  if (lo + 1n === hi) return [];
  const { k } = maxPow2(hi - lo);
  let proof: Buffer[];
  let sibling: Buffer;
  if (n < lo + k) {
    proof = leafProof(lo, lo + k, n, cursor);
    sibling = subTreeHash(lo + k, hi, cursor);
  } else {
    sibling = subTreeHash(lo, lo + k, cursor);
    proof = leafProof(lo + k, hi, n, cursor);
  }
  proof.push(sibling);
  return proof;
}

function checkRecordRange(size: bigint, index: bigint): void {
  if (index < 0n || index >= size) badRange('index must be below the tree size');
}

export function inclusionProofIndices(size: bigint, index: bigint): bigint[] {
  checkRecordRange(size, index);
  const need: bigint[] = [];
  leafProofIndex(0n, size, index, need);
  return need;
}

/** PATH(index, D[0:size]), leaf sibling first. */
export function inclusionProofFrom(size: bigint, index: bigint, hashes: readonly Buffer[]): Buffer[] {
  const cursor = new HashCursor(hashes, inclusionProofIndices(size, index).length);
  const proof = leafProof(0n, size, index, cursor);
  cursor.done();
  return proof;
}

export function proveRecord(size: bigint, index: bigint, readHashes: HashReader): Buffer[] {
  return inclusionProofFrom(size, index, readChecked(readHashes, inclusionProofIndices(size, index)));
}

export async function proveRecordAsync(size: bigint, index: bigint, readHashes: AsyncHashReader): Promise<Buffer[]> {
  return inclusionProofFrom(size, index, await readCheckedAsync(readHashes, inclusionProofIndices(size, index)));
}

// ---- consistency proofs (RFC 9162 §2.1.4.1 PROOF/SUBPROOF) ----

function treeProofIndex(lo: bigint, hi: bigint, n: bigint, need: bigint[]): void {
  if (n === hi) {
    // SUBPROOF(m, D_m, true) = {} — only at the left edge does the verifier already hold this hash.
    if (lo !== 0n) subTreeIndex(lo, hi, need);
    return;
  }
  const { k } = maxPow2(hi - lo);
  if (n <= lo + k) {
    treeProofIndex(lo, lo + k, n, need);
    subTreeIndex(lo + k, hi, need);
  } else {
    subTreeIndex(lo, lo + k, need);
    treeProofIndex(lo + k, hi, n, need);
  }
}

function treeProof(lo: bigint, hi: bigint, n: bigint, cursor: HashCursor): Buffer[] {
  if (n === hi) return lo === 0n ? [] : [subTreeHash(lo, hi, cursor)];
  const { k } = maxPow2(hi - lo);
  let proof: Buffer[];
  let sibling: Buffer;
  if (n <= lo + k) {
    proof = treeProof(lo, lo + k, n, cursor);
    sibling = subTreeHash(lo + k, hi, cursor);
  } else {
    sibling = subTreeHash(lo, lo + k, cursor);
    proof = treeProof(lo + k, hi, n, cursor);
  }
  proof.push(sibling);
  return proof;
}

function checkTreeRange(size2: bigint, size1: bigint): void {
  if (size1 < 0n || size1 > size2) badRange('size1 must be between 0 and size2');
}

/** Indices for PROOF(size1, D[0:size2]); empty when size1 is 0 or equals size2. */
export function consistencyProofIndices(size2: bigint, size1: bigint): bigint[] {
  checkTreeRange(size2, size1);
  const need: bigint[] = [];
  if (size1 > 0n && size1 < size2) treeProofIndex(0n, size2, size1, need);
  return need;
}

export function consistencyProofFrom(size2: bigint, size1: bigint, hashes: readonly Buffer[]): Buffer[] {
  const count = consistencyProofIndices(size2, size1).length;
  const cursor = new HashCursor(hashes, count);
  const proof = count === 0 ? [] : treeProof(0n, size2, size1, cursor);
  cursor.done();
  return proof;
}

export function proveTree(size2: bigint, size1: bigint, readHashes: HashReader): Buffer[] {
  return consistencyProofFrom(size2, size1, readChecked(readHashes, consistencyProofIndices(size2, size1)));
}

export async function proveTreeAsync(size2: bigint, size1: bigint, readHashes: AsyncHashReader): Promise<Buffer[]> {
  return consistencyProofFrom(size2, size1, await readCheckedAsync(readHashes, consistencyProofIndices(size2, size1)));
}

// ---- reading stored hashes ----

// A store that returns the wrong number or size of hashes is corrupt; never compute a root or
// proof from it.
function checkHashes(hashes: readonly Buffer[], count: number): void {
  if (hashes.length !== count) {
    throw new SignetError('INTERNAL', `hash store returned ${hashes.length} hashes, expected ${count}`);
  }
  for (const h of hashes) {
    if (h.length !== HASH_SIZE) throw new SignetError('INTERNAL', 'hash store returned a hash of the wrong size');
  }
}

function readChecked(readHashes: HashReader, indices: bigint[]): Buffer[] {
  if (indices.length === 0) return [];
  const hashes = readHashes(indices);
  checkHashes(hashes, indices.length);
  return hashes;
}

async function readCheckedAsync(readHashes: AsyncHashReader, indices: bigint[]): Promise<Buffer[]> {
  if (indices.length === 0) return [];
  const hashes = await readHashes(indices);
  checkHashes(hashes, indices.length);
  return hashes;
}

/** Hands out the hashes of the index phase in order, and checks that all were used. */
class HashCursor {
  #position = 0;

  constructor(
    private readonly hashes: readonly Buffer[],
    count: number,
  ) {
    checkHashes(hashes, count);
  }

  next(): Buffer {
    const h = this.hashes[this.#position++];
    if (h === undefined) throw new SignetError('INTERNAL', 'ran out of stored hashes');
    return h;
  }

  done(): void {
    if (this.#position !== this.hashes.length) throw new SignetError('INTERNAL', 'unused stored hashes');
  }
}

// ---- in-memory tree ----

/** Growable array of 32-byte hashes in one contiguous buffer (no per-hash object). */
class HashColumn {
  #buffer = Buffer.alloc(HASH_SIZE * 64);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.#buffer.length) {
      const grown = Buffer.alloc(this.#buffer.length * 2);
      this.#buffer.copy(grown, 0, 0, this.length * HASH_SIZE);
      this.#buffer = grown;
    }
    this.#buffer.set(hash, this.length * HASH_SIZE);
    this.length++;
  }

  /** A view; callers that keep it beyond the next push must copy (the buffer may be replaced). */
  at(i: number): Buffer {
    return this.#buffer.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/**
 * A whole tree in memory: column l holds the hashes of all complete subtrees of 2^l leaves. Roots
 * and proofs of any earlier size go through the same stored-hash code as a database-backed tree,
 * with this as the hash reader. Used by tests and by verifiers that rebuild a log from its entries.
 */
export class MemoryTree {
  readonly #columns: HashColumn[] = [new HashColumn()];

  get size(): bigint {
    return BigInt((this.#columns[0] as HashColumn).length);
  }

  /** Appends an entry; returns its index. */
  append(entry: Uint8Array): bigint {
    return this.appendLeafHash(hashLeaf(entry));
  }

  appendLeafHash(leafHash: Uint8Array): bigint {
    if (leafHash.length !== HASH_SIZE) throw new SignetError('INTERNAL', 'leaf hash must be 32 bytes');
    const index = (this.#columns[0] as HashColumn).length;
    let hash: Uint8Array = leafHash;
    // Record `index` completes one subtree per trailing one bit of index (tlog StoredHashes).
    for (let level = 0, n = index; ; level++, n = Math.floor(n / 2)) {
      const column = this.#columns[level] ?? new HashColumn();
      this.#columns[level] = column;
      column.push(hash);
      if (n % 2 === 0) break;
      hash = hashChildren(column.at(n - 1), column.at(n));
    }
    return BigInt(index);
  }

  leafHash(index: bigint): Buffer {
    checkRecordRange(this.size, index);
    return Buffer.from((this.#columns[0] as HashColumn).at(Number(index)));
  }

  /** MTH of the first `size` leaves (default: all). */
  root(size: bigint = this.size): Buffer {
    this.#checkSize(size);
    return treeHash(size, this.readHashes);
  }

  inclusionProof(index: bigint, size: bigint = this.size): Buffer[] {
    this.#checkSize(size);
    return proveRecord(size, index, this.readHashes);
  }

  consistencyProof(size1: bigint, size2: bigint = this.size): Buffer[] {
    this.#checkSize(size2);
    return proveTree(size2, size1, this.readHashes);
  }

  /** A HashReader over this tree, addressed in the stored-hash layout. */
  readonly readHashes: HashReader = (indices) =>
    indices.map((index) => {
      const { level, n } = splitStoredHashIndex(index);
      const column = this.#columns[level];
      if (column === undefined || n >= BigInt(column.length)) {
        throw new SignetError('INTERNAL', 'stored hash index beyond the tree');
      }
      return Buffer.from(column.at(Number(n)));
    });

  #checkSize(size: bigint): void {
    if (size < 0n || size > this.size) badRange('tree size is beyond the tree');
  }
}
