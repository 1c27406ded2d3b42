// Secrets are a type that cannot be logged or serialised by accident (docs/architecture.md, invariant 6).
import { hash, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: Buffer;

  constructor(value: Buffer | string) {
    this.#value = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  }

  /** The secret bytes. Call only where the value must be used (crypto, a file written 0600). */
  reveal(): Buffer {
    return this.#value;
  }

  revealString(): string {
    return this.#value.toString('utf8');
  }

  get length(): number {
    return this.#value.length;
  }

  /** Overwrite the bytes in memory once the secret is no longer needed. */
  wipe(): void {
    this.#value.fill(0);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Constant-time equality; a length mismatch is `false`, never an exception. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length === b.length) return timingSafeEqual(a, b);
  // Different lengths (not secret): still compare equal-length digests, so that the work done
  // does not depend on where the inputs differ.
  timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
  return false;
}
