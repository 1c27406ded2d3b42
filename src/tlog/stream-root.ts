// RFC 9162 §2.1.2 "Verifying a tree head given all entries": a stack of at most log2(n)+1 subtree
// hashes, so recomputing the root of a million-entry log needs constant memory and one pass.
import { HASH_SIZE, emptyRoot, hashChildren, hashLeaf } from './rfc6962.js';

export class StreamingRoot {
  readonly #stack: Buffer[] = [];
  // A number, not a bigint: this runs once per entry, and an in-memory pass over more than
  // 2^53 entries is not a concern.
  #size = 0;

  get size(): bigint {
    return BigInt(this.#size);
  }

  push(entry: Uint8Array): void {
    this.pushLeafHash(hashLeaf(entry));
  }

  pushLeafHash(leafHash: Buffer): void {
    if (leafHash.length !== HASH_SIZE) throw new RangeError('leaf hash must be 32 bytes');
    // Steps 2.1-2.3: push, then merge once per trailing one bit of the index i.
    let merged = leafHash;
    for (let i = this.#size; i % 2 === 1; i = (i - 1) / 2) {
      merged = hashChildren(this.#stack.pop() as Buffer, merged);
    }
    this.#stack.push(merged);
    this.#size++;
  }

  /** Step 3, without disturbing the stack: the root of the entries pushed so far. */
  root(): Buffer {
    if (this.#stack.length === 0) return emptyRoot();
    let root = this.#stack[this.#stack.length - 1] as Buffer;
    for (let i = this.#stack.length - 2; i >= 0; i--) root = hashChildren(this.#stack[i] as Buffer, root);
    return root;
  }
}

export function streamRoot(entries: Iterable<Uint8Array>): { size: bigint; root: Buffer } {
  const stream = new StreamingRoot();
  for (const entry of entries) stream.push(entry);
  return { size: stream.size, root: stream.root() };
}
