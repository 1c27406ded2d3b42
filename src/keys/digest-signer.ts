// The sealed backend's private-key operation, off the event loop: Ed25519 runs on libuv's
// threadpool (signDigest uses crypto.sign with a callback); RSA runs in a small pool of worker
// threads, because its only digest-taking primitive (privateEncrypt) is synchronous.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { isCompositeKey, rsaDigestInfo, signDigest, type HashAlgorithm, type KeyAlgorithm, type SigningKey } from '../openpgp/index.js';

interface Pending {
  resolve(signature: Buffer): void;
  reject(err: Error): void;
}

class RsaPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #load: number[] = [];
  /** Which keys each worker already holds, by the pool's number for the key. */
  readonly #sent: Array<Set<number>> = [];
  readonly #keyRefs = new WeakMap<KeyObject, number>();
  #nextKeyRef = 1;
  #nextId = 1;

  constructor(size: number) {
    const url = new URL('./rsa-worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      worker.unref();
      const index = i;
      this.#load.push(0);
      this.#sent.push(new Set());
      worker.on('message', (msg: { id: number; signature?: Uint8Array; error?: string }) => {
        this.#load[index] = (this.#load[index] ?? 1) - 1;
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        if (msg.signature) p.resolve(Buffer.from(msg.signature));
        else p.reject(new Error(msg.error ?? 'RSA signing failed'));
      });
      worker.on('error', () => {
        // A dead worker fails what it had; signing stays fail-closed.
        for (const [id, p] of this.#pending) {
          p.reject(new Error('RSA worker stopped'));
          this.#pending.delete(id);
        }
      });
      this.#workers.push(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  sign(key: KeyObject, input: Buffer): Promise<Buffer> {
    const id = this.#nextId++;
    let best = 0;
    for (let i = 1; i < this.#load.length; i++) if ((this.#load[i] ?? 0) < (this.#load[best] ?? 0)) best = i;
    this.#load[best] = (this.#load[best] ?? 0) + 1;
    let keyRef = this.#keyRefs.get(key);
    if (keyRef === undefined) {
      keyRef = this.#nextKeyRef++;
      this.#keyRefs.set(key, keyRef);
    }
    const sent = this.#sent[best] as Set<number>;
    const first = !sent.has(keyRef);
    sent.add(keyRef);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#workers[best]?.postMessage({ id, keyRef, ...(first ? { key } : {}), input });
    });
  }
}

let pool: RsaPool | undefined;

/** RSA worker threads: SIGNET_SIGNING_THREADS, else two per core (at most 16). Two per core keep
 *  every core busy while a worker waits for its next job message: +3-4% RSA-4096 throughput on
 *  2 cores in interleaved runs (bench/run.mjs load), and a queued job never waits on one thread. */
export function signingThreads(env: NodeJS.ProcessEnv = process.env): number {
  const configured = env.SIGNET_SIGNING_THREADS;
  if (configured !== undefined && configured !== '') {
    const n = Number(configured);
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new SignetError('CONFIG_INVALID', 'SIGNET_SIGNING_THREADS must be an integer from 1 to 64');
    }
    return n;
  }
  return Math.max(1, Math.min(availableParallelism() * 2, 16));
}

function rsaPool(): RsaPool {
  pool ??= new RsaPool(signingThreads());
  return pool;
}

/** Stop the RSA workers (server shutdown). A later signature starts a new pool. */
export async function closeSigningPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}

/** Is the worker module present (it is not when running TypeScript sources directly)? */
function workersAvailable(): boolean {
  return import.meta.url.endsWith('.js');
}

export async function signDigestOffThread(
  privateKey: SigningKey,
  algorithm: KeyAlgorithm,
  hashAlgorithm: HashAlgorithm,
  digest: Buffer,
): Promise<Buffer> {
  // Ed25519/Ed448 run on libuv's threadpool; composite ML-DSA signs in JavaScript on this thread
  // (a few milliseconds: experimental keys, docs/keys.md).
  if (algorithm !== 'rsa4096' || isCompositeKey(privateKey) || !workersAvailable()) return signDigest(privateKey, algorithm, hashAlgorithm, digest);
  const input = rsaDigestInfo(hashAlgorithm, digest);
  try {
    return await rsaPool().sign(privateKey, input);
  } catch (cause) {
    throw new SignetError('SIGNER_UNAVAILABLE', 'the signing operation failed', { cause });
  }
}
