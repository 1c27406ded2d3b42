// Worker thread body for RSA signatures over a precomputed digest. node:crypto has no asynchronous
// call that takes a digest for RSA (crypto.sign hashes its input), and privateEncrypt is
// synchronous, so the pool runs it here, off the event loop.
import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

interface Job {
  readonly id: number;
  readonly key: KeyObject;
  /** DigestInfo ‖ digest: the EMSA-PKCS1-v1_5 input. */
  readonly input: Uint8Array;
}

parentPort?.on('message', (job: Job) => {
  try {
    const signature = privateEncrypt({ key: job.key, padding: constants.RSA_PKCS1_PADDING }, job.input);
    parentPort?.postMessage({ id: job.id, signature });
  } catch {
    // No detail: the error could only concern the key.
    parentPort?.postMessage({ id: job.id, error: 'RSA signing failed' });
  }
});
