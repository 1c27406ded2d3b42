// A tiny WebAssembly binary encoder: exactly what the SHA-2 compression modules (compress.ts)
// need, nothing more. Names follow the WebAssembly Core Specification 2.0, chapter 5 "Binary
// Format"; a reviewer can check every byte against §5.2 (values), §5.3 (types), §5.4
// (instructions) and §5.5 (modules). There is no text-format parser: code is built by calling
// one method per instruction, which keeps the generator readable and the encoder small.

export const ValType = { i32: 0x7f, i64: 0x7e } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** §5.2.2 unsigned LEB128 of a u32. */
export function unsignedLeb128(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError('u32 out of range');
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** §5.2.2 signed LEB128 (i32 and i64 immediates are signed, whatever they mean to the code). */
export function signedLeb128(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n; // arithmetic shift on bigint
    const signBit = (byte & 0x40) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** The integer instructions the generator uses, per word type (§5.4.7 numeric instructions). */
const NUMERIC = {
  i32: { load: 0x28, store: 0x36, const: 0x41, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72, xor: 0x73, shl: 0x74, shrU: 0x76, rotl: 0x77, rotr: 0x78, eqz: 0x45 },
  i64: { load: 0x29, store: 0x37, const: 0x42, add: 0x7c, sub: 0x7d, and: 0x83, or: 0x84, xor: 0x85, shl: 0x86, shrU: 0x88, rotl: 0x89, rotr: 0x8a, eqz: 0x50 },
} as const;

export type WordType = keyof typeof NUMERIC;
type BinaryOp = 'add' | 'sub' | 'and' | 'or' | 'xor' | 'shl' | 'shrU' | 'rotl' | 'rotr';

/** A function body under construction: one method per instruction. */
export class CodeBuilder {
  readonly #bytes: number[] = [];

  get bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }

  // §5.4.1 control instructions; blocks here never yield values (blocktype 0x40).
  block(): this {
    this.#bytes.push(0x02, 0x40);
    return this;
  }

  loop(): this {
    this.#bytes.push(0x03, 0x40);
    return this;
  }

  br(depth: number): this {
    this.#bytes.push(0x0c, ...unsignedLeb128(depth));
    return this;
  }

  brIf(depth: number): this {
    this.#bytes.push(0x0d, ...unsignedLeb128(depth));
    return this;
  }

  end(): this {
    this.#bytes.push(0x0b);
    return this;
  }

  // §5.4.4 variable instructions.
  localGet(index: number): this {
    this.#bytes.push(0x20, ...unsignedLeb128(index));
    return this;
  }

  localSet(index: number): this {
    this.#bytes.push(0x21, ...unsignedLeb128(index));
    return this;
  }

  localTee(index: number): this {
    this.#bytes.push(0x22, ...unsignedLeb128(index));
    return this;
  }

  // §5.4.6 memory instructions: memarg = alignment exponent, then offset.
  load(type: WordType, offset: number): this {
    this.#bytes.push(NUMERIC[type].load, ...unsignedLeb128(type === 'i64' ? 3 : 2), ...unsignedLeb128(offset));
    return this;
  }

  store(type: WordType, offset: number): this {
    this.#bytes.push(NUMERIC[type].store, ...unsignedLeb128(type === 'i64' ? 3 : 2), ...unsignedLeb128(offset));
    return this;
  }

  /** A constant given as its unsigned bit pattern (e.g. a SHA-512 round constant). */
  const(type: WordType, unsignedValue: bigint): this {
    const width = type === 'i64' ? 64 : 32;
    this.#bytes.push(NUMERIC[type].const, ...signedLeb128(BigInt.asIntN(width, unsignedValue)));
    return this;
  }

  op(type: WordType, name: BinaryOp): this {
    this.#bytes.push(NUMERIC[type][name]);
    return this;
  }

  eqz(type: WordType): this {
    this.#bytes.push(NUMERIC[type].eqz);
    return this;
  }
}

export interface FunctionDefinition {
  readonly exportName: string;
  readonly params: readonly ValType[];
  /** Locals after the parameters, in order. */
  readonly locals: readonly ValType[];
  /** The instructions, without the final `end` (added here). */
  readonly code: CodeBuilder;
}

function vector(items: readonly number[][]): number[] {
  return [...unsignedLeb128(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...unsignedLeb128(bytes.length), ...bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb128(content.length), ...content];
}

/** Runs of equal local types, as the code section declares them (§5.5.13). */
function localRuns(locals: readonly ValType[]): number[][] {
  const runs: number[][] = [];
  let i = 0;
  while (i < locals.length) {
    let j = i;
    while (j < locals.length && locals[j] === locals[i]) j++;
    runs.push([...unsignedLeb128(j - i), locals[i] as number]);
    i = j;
  }
  return runs;
}

/**
 * A module that imports one memory (`env.memory`, at least `minPages` pages) and exports the
 * given functions, none of which returns a value.
 */
export function encodeModule(minPages: number, functions: readonly FunctionDefinition[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((p) => [p])), ...vector([])]);
  const imports = [[...name('env'), ...name('memory'), 0x02, 0x00, ...unsignedLeb128(minPages)]];
  const funcs = functions.map((_, i) => unsignedLeb128(i));
  const exports = functions.map((f, i) => [...name(f.exportName), 0x00, ...unsignedLeb128(i)]);
  const bodies = functions.map((f) => {
    const body = [...vector(localRuns(f.locals)), ...f.code.bytes, 0x0b];
    return [...unsignedLeb128(body.length), ...body];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, // magic "\0asm"
    0x01, 0x00, 0x00, 0x00, // version 1
    ...section(1, vector(types)),
    ...section(2, vector(imports)),
    ...section(3, vector(funcs)),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies)),
  ]);
}
