// The one bounds-checked reader for every OpenPGP parse (docs/architecture.md, invariant 5). Reads past the end throw
// OPENPGP_MALFORMED; slices are zero-copy views of the input.
import { Buffer } from 'node:buffer';
import { SignetError } from '../errors.js';

export function malformed(what: string): SignetError {
  return new SignetError('OPENPGP_MALFORMED', `malformed OpenPGP data: ${what}`);
}

export class ByteReader {
  readonly #bytes: Buffer;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  get done(): boolean {
    return this.remaining === 0;
  }

  #take(n: number, what: string): number {
    if (!Number.isInteger(n) || n < 0 || n > this.remaining) throw malformed(`${what} runs past the end`);
    const at = this.#offset;
    this.#offset += n;
    return at;
  }

  u8(what = 'byte'): number {
    return this.#bytes[this.#take(1, what)]!;
  }

  u16(what = 'u16'): number {
    return this.#bytes.readUInt16BE(this.#take(2, what));
  }

  u32(what = 'u32'): number {
    return this.#bytes.readUInt32BE(this.#take(4, what));
  }

  bytes(n: number, what = 'field'): Buffer {
    const at = this.#take(n, what);
    return this.#bytes.subarray(at, at + n);
  }

  /** The bytes from an earlier offset up to the current position. */
  bytesFrom(start: number): Buffer {
    if (start < 0 || start > this.#offset) throw malformed('reader rewound past its start');
    return this.#bytes.subarray(start, this.#offset);
  }

  /** The next n bytes without consuming them. */
  peek(n: number): Buffer {
    if (n > this.remaining) throw malformed('peek runs past the end');
    return this.#bytes.subarray(this.#offset, this.#offset + n);
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** RFC 4880 §3.2: 2-byte bit count, then ceil(bits/8) bytes, most significant bit set exactly
   *  at the stated position (a mismatched bit count is a non-canonical encoding: refused). */
  mpi(what = 'MPI'): Buffer {
    const bits = this.u16(`${what} length`);
    const value = this.bytes((bits + 7) >> 3, what);
    if (bitLength(value) !== bits) throw malformed(`${what} bit count does not match its value`);
    return value;
  }

  /** Throws unless every byte was consumed: strict parsers refuse trailing data. */
  end(what: string): void {
    if (!this.done) throw malformed(`${this.remaining} unexpected trailing bytes after ${what}`);
  }
}

export function bitLength(value: Uint8Array): number {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  if (i === value.length) return 0;
  return (value.length - i - 1) * 8 + (32 - Math.clz32(value[i]!));
}

/** MPI encoding of an unsigned big-endian integer, leading zero bytes dropped (RFC 4880 §3.2). */
export function encodeMpi(value: Uint8Array): Buffer {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  const magnitude = value.subarray(i);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(bitLength(magnitude));
  return Buffer.concat([head, magnitude]);
}
