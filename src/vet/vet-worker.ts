// Server-side vetting off the event loop: vetTarball runs git and unpacks the tarball
// synchronously (seconds for a large release), which would stall every other request.
import { parentPort, workerData } from 'node:worker_threads';
import { publicKeysFromArmor } from '../openpgp/index.js';
import { vetTarball } from './vet.js';

const input = workerData as { tarball: Uint8Array; repo: string; tag: string; keyring: string; allow: string[] };
try {
  const result = vetTarball({ tarball: Buffer.from(input.tarball), repo: input.repo, tag: input.tag, keyring: publicKeysFromArmor(input.keyring), allowGenerated: input.allow });
  parentPort!.postMessage({ result });
} catch (err) {
  const e = err as { code?: string; message?: string };
  parentPort!.postMessage({ error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } });
}
