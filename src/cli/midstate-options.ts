// Midstate defaults, apart from midstate.ts so that `signet sign --help` (which shows the default
// hash) does not load the hashing code.
import type { Sha2Algorithm } from '../sha2/resumable.js';

/** Files larger than this are signed in midstate mode by default. */
export const DEFAULT_MIDSTATE_THRESHOLD = 8 * 1024 * 1024;
/** Hash of midstate signatures unless --hash says otherwise: SHA-512 is the stronger and, with
 *  64-bit WebAssembly arithmetic, also the faster of the two here (about twice SHA-256's speed). */
export const DEFAULT_MIDSTATE_HASH: Sha2Algorithm = 'sha512';
