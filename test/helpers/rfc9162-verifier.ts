// A second, independent verifier written straight from RFC 9162 §2.1.3.2 and §2.1.4.2 (not from
// src/tlog): numbers instead of bigints, its own hashing, the RFC's step numbers. Tests check the
// server's proofs with it so a shared misreading of the RFC cannot hide.
import { createHash } from 'node:crypto';

const sha256 = (...parts: Uint8Array[]): Buffer<ArrayBufferLike> => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
export const leafHash = (entry: Uint8Array): Buffer => sha256(Buffer.of(0x00), entry);
const node = (left: Uint8Array, right: Uint8Array): Buffer => sha256(Buffer.of(0x01), left, right);
const lsb = (n: number): boolean => n % 2 === 1;
const shr = (n: number): number => Math.floor(n / 2);

/** RFC 9162 §2.1.3.2. */
export function inclusionOk(index: number, size: number, path: readonly Uint8Array[], root: Uint8Array, hash: Uint8Array): boolean {
  if (index >= size) return false; // 1
  let fn = index; // 2
  let sn = size - 1;
  let r: Buffer<ArrayBufferLike> = Buffer.from(hash); // 3
  for (const p of path) {
    // 4
    if (sn === 0) return false; // a
    if (lsb(fn) || fn === sn) {
      // b
      r = node(p, r); // i
      // ii
      while (!lsb(fn) && fn !== 0) {
        fn = shr(fn);
        sn = shr(sn);
      }
    } else {
      r = node(r, p); // i (otherwise)
    }
    fn = shr(fn); // c
    sn = shr(sn);
  }
  return sn === 0 && r.equals(root); // 5
}

/** RFC 9162 §2.1.4.2 (0 < first < second). */
export function consistencyOk(first: number, second: number, proof: readonly Uint8Array[], firstRoot: Uint8Array, secondRoot: Uint8Array): boolean {
  if (!(0 < first && first < second)) return false;
  if (proof.length === 0) return false; // 1
  let path = [...proof];
  if ((first & (first - 1)) === 0) path = [Buffer.from(firstRoot), ...path]; // 2: exact power of 2
  let fn = first - 1; // 3
  let sn = second - 1;
  if (lsb(fn)) {
    // 4
    while (lsb(fn)) {
      fn = shr(fn);
      sn = shr(sn);
    }
  }
  let fr: Buffer<ArrayBufferLike> = Buffer.from(path[0] as Uint8Array); // 5
  let sr: Buffer<ArrayBufferLike> = Buffer.from(path[0] as Uint8Array);
  for (const c of path.slice(1)) {
    // 6
    if (sn === 0) return false; // a
    if (lsb(fn) || fn === sn) {
      // b
      fr = node(c, fr); // i
      sr = node(c, sr); // ii
      // iii
      while (!lsb(fn) && fn !== 0) {
        fn = shr(fn);
        sn = shr(sn);
      }
    } else {
      sr = node(sr, c); // i (otherwise)
    }
    fn = shr(fn); // c
    sn = shr(sn);
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0; // 7
}
