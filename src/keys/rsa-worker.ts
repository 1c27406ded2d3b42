// Worker thread body for RSA signatures over a precomputed digest. node:crypto has no asynchronous
// call that takes a digest for RSA (crypto.sign hashes its input), and privateEncrypt is
// synchronous, so the pool runs it here, off the event loop.
import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

interface Job {
  readonly id: number;
  /** The pool's number for the key; the KeyObject itself comes only with the first job. */
  readonly keyRef: number;
  readonly key?: KeyObject;
  /** DigestInfo ‖ digest: the EMSA-PKCS1-v1_5 input. */
  readonly input: Uint8Array;
}

// Keys stay here once received: a transferred KeyObject is a fresh copy whose first use pays
// OpenSSL's per-key setup (Montgomery contexts), so sending it with every job would cost that
// on every signature.
const keys = new Map<number, KeyObject>();

parentPort?.on('message', (job: Job) => {
  try {
    if (job.key) keys.set(job.keyRef, job.key);
    const key = keys.get(job.keyRef);
    if (!key) throw new Error('unknown key');
    const signature = privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, job.input);
    parentPort?.postMessage({ id: job.id, signature });
  } catch {
    // No detail: the error could only concern the key.
    parentPort?.postMessage({ id: job.id, error: 'RSA signing failed' });
  }
});
