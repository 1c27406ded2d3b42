// The one bounds-checked reader for RPM input (docs/architecture.md, invariant 5). Positions are absolute within the
// buffer it wraps; every read checks against the end first, so no malformed length can make a
// read run past the input or wrap around (JS numbers are exact up to 2^53, far above 2^32 + 2^32).
import { Buffer } from 'node:buffer';
import { malformed } from './malformed.js';

export class ByteCursor {
  readonly bytes: Buffer;
  private pos: number;

  constructor(bytes: Uint8Array, position = 0) {
    this.bytes = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = position;
    this.require(0, 'start');
  }

  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throws unless `count` more bytes are available; `what` names the thing being read. */
  require(count: number, what: string): void {
    if (!Number.isSafeInteger(count) || count < 0 || this.pos < 0 || this.pos + count > this.bytes.length) {
      throw malformed(`truncated: ${what} needs ${count} bytes at ${this.pos}, input has ${this.bytes.length}`);
    }
  }

  seek(position: number, what: string): this {
    this.pos = position;
    this.require(0, what);
    return this;
  }

  skip(count: number, what: string): this {
    this.require(count, what);
    this.pos += count;
    return this;
  }

  uint8(what: string): number {
    this.require(1, what);
    return this.bytes.readUInt8(this.pos++);
  }

  uint16(what: string): number {
    this.require(2, what);
    const v = this.bytes.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint32(what: string): number {
    this.require(4, what);
    const v = this.bytes.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int32(what: string): number {
    this.require(4, what);
    const v = this.bytes.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Zero-copy view of the next `count` bytes. */
  block(count: number, what: string): Buffer {
    this.require(count, what);
    const view = this.bytes.subarray(this.pos, this.pos + count);
    this.pos += count;
    return view;
  }
}
