// SHA-256 and SHA-512 compression functions (FIPS 180-4 §6.2.2, §6.4.2), generated as
// WebAssembly at load time by wasm-encoder.ts. Why WebAssembly: node:crypto cannot export a hash's
// internal state, and midstate signing needs exactly that; plain JavaScript has no 64-bit
// integers, so SHA-512 in JS runs on pairs of 32-bit halves and is several times slower, while
// WebAssembly's i64 and rotate instructions map one to one onto the spec's operations.
//
// The generated function is `blocks(ptr, count)`: it compresses `count` consecutive blocks at
// `ptr` into the chaining value H0..H7 kept at address 0 (each word in WebAssembly's native
// little-endian order). All 64 or 80 rounds are unrolled, with the working variables a..h renamed
// round by round instead of moved, and the message schedule W kept as a 16-word ring (§6.2.2 /
// §6.4.2 step 1 computed just before each round needs it).

import { CodeBuilder, encodeModule, ValType, type WordType } from './wasm-encoder.js';

export type Sha2Algorithm = 'sha256' | 'sha512';

export interface Sha2Variant {
  readonly algorithm: Sha2Algorithm;
  readonly word: WordType;
  readonly wordBytes: 4 | 8;
  readonly blockBytes: 64 | 128;
  /** Bytes of the message length field in the final padding (§5.1.1, §5.1.2). */
  readonly lengthFieldBytes: 8 | 16;
  readonly rounds: 64 | 80;
  /** Rotation amounts of Σ0, Σ1 and, for σ0 and σ1, two rotations then a right shift (§4.1.2, §4.1.3). */
  readonly bigSigma0: readonly [number, number, number];
  readonly bigSigma1: readonly [number, number, number];
  readonly smallSigma0: readonly [number, number, number];
  readonly smallSigma1: readonly [number, number, number];
  /** Round constants K (§4.2.2, §4.2.3). */
  readonly k: readonly bigint[];
  /** Initial hash value H(0) (§5.3.3, §5.3.5). */
  readonly iv: readonly bigint[];
}

function firstPrimes(count: number): bigint[] {
  const primes: bigint[] = [];
  for (let n = 2; primes.length < count; n++) {
    if (primes.every((p) => BigInt(n) % p !== 0n)) primes.push(BigInt(n));
  }
  return primes;
}

/** floor(n^(1/k)) by Newton's method from above. */
function integerRoot(n: bigint, k: bigint): bigint {
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / Number(k)) + 1);
  for (;;) {
    const y = ((k - 1n) * x + n / x ** (k - 1n)) / k;
    if (y >= x) return x;
    x = y;
  }
}

// FIPS 180-4 derives the constants instead of listing arbitrary numbers: K are the first 64 bits
// of the fractional parts of the cube roots of the first 80 primes (§4.2.3), H(0) of SHA-512 the
// first 64 bits of the fractional parts of the square roots of the first 8 primes (§5.3.5); the
// SHA-256 values are the first 32 bits of the same fractions (§4.2.2, §5.3.3). Computed here the
// same way; the test vectors against node:crypto catch any slip.
const MASK64 = (1n << 64n) - 1n;
const PRIMES = firstPrimes(80);
const K64 = PRIMES.map((p) => integerRoot(p << 192n, 3n) & MASK64);
const IV64 = PRIMES.slice(0, 8).map((p) => integerRoot(p << 128n, 2n) & MASK64);

export const SHA2_VARIANTS: Readonly<Record<Sha2Algorithm, Sha2Variant>> = {
  sha256: {
    algorithm: 'sha256',
    word: 'i32',
    wordBytes: 4,
    blockBytes: 64,
    lengthFieldBytes: 8,
    rounds: 64,
    bigSigma0: [2, 13, 22],
    bigSigma1: [6, 11, 25],
    smallSigma0: [7, 18, 3],
    smallSigma1: [17, 19, 10],
    k: K64.slice(0, 64).map((k) => k >> 32n),
    iv: IV64.map((h) => h >> 32n),
  },
  sha512: {
    algorithm: 'sha512',
    word: 'i64',
    wordBytes: 8,
    blockBytes: 128,
    lengthFieldBytes: 16,
    rounds: 80,
    bigSigma0: [28, 34, 39],
    bigSigma1: [14, 18, 41],
    smallSigma0: [1, 8, 7],
    smallSigma1: [19, 61, 6],
    k: K64,
    iv: IV64,
  },
};

// Local indices of `blocks(ptr, count)`.
const PTR = 0;
const COUNT = 1;
const VARS = 2; // a..h live in locals 2..9, renamed each round
const W = 10; // W ring in locals 10..25
const T1 = 26;

/** The local holding working variable `role` (0 = a … 7 = h) in round `t`. */
function working(role: number, t: number): number {
  return VARS + ((((role - t) % 8) + 8) % 8);
}

function generateBlocks(v: Sha2Variant): CodeBuilder {
  const c = new CodeBuilder();
  const w = v.word;
  const rotr3 = (local: number, [r1, r2, r3]: readonly [number, number, number], lastIsShift: boolean): void => {
    c.localGet(local).const(w, BigInt(r1)).op(w, 'rotr');
    c.localGet(local).const(w, BigInt(r2)).op(w, 'rotr').op(w, 'xor');
    c.localGet(local).const(w, BigInt(r3)).op(w, lastIsShift ? 'shrU' : 'rotr').op(w, 'xor');
  };
  /** Reverses the bytes of the word in `local` (message words are big-endian, §3.1). */
  const byteSwap = (local: number): void => {
    if (w === 'i32') {
      c.localGet(local).const(w, 8n).op(w, 'rotl').const(w, 0x00ff00ffn).op(w, 'and');
      c.localGet(local).const(w, 8n).op(w, 'rotr').const(w, 0xff00ff00n).op(w, 'and');
      c.op(w, 'or').localSet(local);
      return;
    }
    const swapAdjacent = (bits: bigint, mask: bigint): void => {
      c.localGet(local).const(w, mask).op(w, 'and').const(w, bits).op(w, 'shl');
      c.localGet(local).const(w, bits).op(w, 'shrU').const(w, mask).op(w, 'and');
      c.op(w, 'or').localSet(local);
    };
    swapAdjacent(8n, 0x00ff00ff00ff00ffn);
    swapAdjacent(16n, 0x0000ffff0000ffffn);
    c.localGet(local).const(w, 32n).op(w, 'rotl').localSet(local);
  };

  c.block().loop();
  c.localGet(COUNT).eqz('i32').brIf(1);

  for (let i = 0; i < 8; i++) c.const('i32', 0n).load(w, i * v.wordBytes).localSet(VARS + i);
  for (let i = 0; i < 16; i++) {
    c.localGet(PTR).load(w, i * v.wordBytes).localSet(W + i);
    byteSwap(W + i);
  }

  for (let t = 0; t < v.rounds; t++) {
    const wt = W + (t % 16);
    if (t >= 16) {
      // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]
      rotr3(W + ((t - 2) % 16), v.smallSigma1, true);
      c.localGet(W + ((t - 7) % 16)).op(w, 'add');
      rotr3(W + ((t - 15) % 16), v.smallSigma0, true);
      c.op(w, 'add').localGet(wt).op(w, 'add').localSet(wt);
    }
    const [a, b, cc, d, e, f, g, h] = [0, 1, 2, 3, 4, 5, 6, 7].map((role) => working(role, t)) as [
      number, number, number, number, number, number, number, number,
    ];
    // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t]; Ch(e, f, g) = g ^ (e & (f ^ g))
    c.localGet(h);
    rotr3(e, v.bigSigma1, false);
    c.op(w, 'add');
    c.localGet(g).localGet(e).localGet(f).localGet(g).op(w, 'xor').op(w, 'and').op(w, 'xor').op(w, 'add');
    c.const(w, v.k[t] as bigint).op(w, 'add');
    c.localGet(wt).op(w, 'add').localSet(T1);
    // d = d + T1 becomes the next round's e.
    c.localGet(d).localGet(T1).op(w, 'add').localSet(d);
    // h = T1 + Σ0(a) + Maj(a, b, c) becomes the next round's a; Maj = ((a ^ b) & (b ^ c)) ^ b
    c.localGet(T1);
    rotr3(a, v.bigSigma0, false);
    c.op(w, 'add');
    c.localGet(a).localGet(b).op(w, 'xor').localGet(b).localGet(cc).op(w, 'xor').op(w, 'and').localGet(b).op(w, 'xor');
    c.op(w, 'add').localSet(h);
  }

  // 64 and 80 are multiples of 8: after the last round, a..h are back in locals 2..9.
  for (let i = 0; i < 8; i++) {
    c.const('i32', 0n).const('i32', 0n).load(w, i * v.wordBytes).localGet(VARS + i).op(w, 'add').store(w, i * v.wordBytes);
  }
  c.localGet(PTR).const('i32', BigInt(v.blockBytes)).op('i32', 'add').localSet(PTR);
  c.localGet(COUNT).const('i32', 1n).op('i32', 'sub').localSet(COUNT);
  c.br(0).end().end();
  return c;
}

/** The module's bytes for one variant: imports `env.memory`, exports `blocks(ptr, count)`. */
export function compressionModuleBytes(v: Sha2Variant): Uint8Array {
  const word = ValType[v.word];
  return encodeModule(1, [
    {
      exportName: 'blocks',
      params: [ValType.i32, ValType.i32],
      locals: [...Array<ValType>(8 + 16 + 1).fill(word)],
      code: generateBlocks(v),
    },
  ]);
}

/** The part of the WebAssembly JS API used here. The project's type libraries (ES2023 and
 *  @types/node 20) do not declare the `WebAssembly` global, so it is typed locally. */
export interface WasmModule {
  readonly kind?: never;
}
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
}
export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const compiled = new Map<Sha2Algorithm, WasmModule>();

/** Compiled once per process, on first use. */
export function compressionModule(algorithm: Sha2Algorithm): WasmModule {
  let module = compiled.get(algorithm);
  if (!module) {
    module = new webAssembly.Module(compressionModuleBytes(SHA2_VARIANTS[algorithm]));
    compiled.set(algorithm, module);
  }
  return module;
}
