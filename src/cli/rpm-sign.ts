// `signet rpm sign` (design.md CLI contract; docs/rpm.md), loaded when the command runs.
//
// Reads only each package's lead and headers (rpmPrefixLength says how many bytes; the
// payload is never read), sends them (less the signature header's RESERVEDSPACE padding) in
// batches to POST /v1/sign/:key/rpm, and writes each
// returned signature into its file. When the rebuilt signature header has the old length (the
// usual case: RESERVEDSPACE absorbs the signature, as rpmsign does), only bytes 96…(96+n) change,
// written with one pwrite and fsync; the file size and payload offset stay. Otherwise the file is
// rewritten through a temp file + fsync + rename. Crash behaviour: docs/rpm.md "Crash safety".
import { closeSync, fchmodSync, fdatasync, fstatSync, fsync, openSync, read, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { SignetError, isErrorCode } from '../errors.js';
import { syncDirectory } from '../fsutil.js';
// The parser and the signature-header rewrite only (not src/rpm/index.ts, which also carries
// the fuzz harness).
import { LEAD_SIZE, parseRpmPrefix, rpmPrefixLength, type RpmPackageLayout } from '../rpm/package.js';
import { headerDigests } from '../rpm/identity.js';
import { checkSignable, compactPrefix, rebuildSignatureHeader, type SignatureAlgorithm } from '../rpm/signature-header.js';
import type { RpmSignResponse, SignetClient } from '../client/client.js';
import { printJson, wantProgress, withClient, type GlobalOptions } from './common.js';

/** Client-side batch bounds, below the server's (256 headers, 64 MiB of JSON per request). */
const MAX_BATCH_HEADERS = 128;
const MAX_BATCH_PREFIX_BYTES = 16 * 1024 * 1024;
/** Requests in flight: the next batch is sent as soon as one is answered, and the answered one
 *  is written meanwhile, so the server always has batches to sign. Small batches (about three
 *  rounds per request slot) let the writes and fsyncs of early batches overlap the signing of
 *  later ones and keep the last batch (signed while nothing else overlaps) short; the server's
 *  worker pool takes jobs first come, first served, so batches come back in order. */
const REQUESTS_IN_FLIGHT = 4;
const ROUNDS_PER_SLOT = 3;
const MIN_BATCH_HEADERS = 4;
/** One read covers lead and headers of most packages (about 6 KiB; a package with a thousand
 *  files has tens of KiB); larger headers take one more read. */
const FIRST_READ_BYTES = 16 * 1024;
/** Reused for every first read: the prefix is copied out, so nothing keeps a view of it. */
let scratch: Buffer | undefined;

/** A package as read from disk: its prefix and what must still hold when the signature is written. */
export interface PackageOnDisk {
  readonly path: string;
  readonly prefix: Buffer;
  readonly layout: RpmPackageLayout;
  readonly size: number;
  readonly ino: number;
  readonly mtimeMs: number;
}

export function fileError(path: string, err: unknown): SignetError {
  if (err instanceof SignetError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SignetError('DISK_FULL', `no space left to write ${path}`, { cause: err });
  return new SignetError('FILE_UNREADABLE', `cannot read ${path}: ${code ?? (err as Error).message}`, { cause: err });
}

function readExactly(fd: number, into: Buffer, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new SignetError('RPM_MALFORMED', 'rpm: file ends inside its headers');
    done += n;
  }
}

/** Lead + signature header + main header, read with at most three reads; never the payload. */
export function readPackagePrefix(path: string): PackageOnDisk {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw fileError(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SignetError('FILE_UNREADABLE', `${path} is not a regular file`);
    scratch ??= Buffer.allocUnsafe(FIRST_READ_BYTES);
    let bytes = scratch.subarray(0, Math.min(st.size, FIRST_READ_BYTES));
    readExactly(fd, bytes, 0);
    for (;;) {
      const progress = rpmPrefixLength(bytes);
      const want = progress.complete ? progress.length : progress.needBytes;
      if (want > st.size) throw new SignetError('RPM_MALFORMED', 'rpm: file ends inside its headers');
      if (want > bytes.length) {
        const more = Buffer.allocUnsafe(want);
        bytes.copy(more);
        readExactly(fd, more.subarray(bytes.length), bytes.length);
        bytes = more;
        continue;
      }
      if (!progress.complete) continue;
      // An own copy of exactly the prefix (the scratch buffer is reused by the next read).
      const prefix = Buffer.allocUnsafe(progress.length);
      bytes.copy(prefix, 0, 0, progress.length);
      return { path, prefix, layout: parseRpmPrefix(prefix), size: st.size, ino: st.ino, mtimeMs: st.mtimeMs };
    }
  } catch (err) {
    throw fileError(path, err);
  } finally {
    closeSync(fd);
  }
}

function writeAllSync(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

/** Refuse to write over a file that changed since its headers were read (size, inode, bytes). */
function checkUnchanged(fd: number, pkg: PackageOnDisk): void {
  const st = fstatSync(fd);
  const current = pkg.prefix.length <= FIRST_READ_BYTES ? (scratch ??= Buffer.allocUnsafe(FIRST_READ_BYTES)).subarray(0, pkg.prefix.length) : Buffer.allocUnsafe(pkg.prefix.length);
  let got = 0;
  while (got < current.length) {
    const n = readSync(fd, current, got, current.length - got, got);
    if (n === 0) break;
    got += n;
  }
  if (st.size !== pkg.size || st.ino !== pkg.ino || st.mtimeMs !== pkg.mtimeMs || got !== current.length || !current.equals(pkg.prefix)) {
    throw new SignetError('RPM_FILE_CHANGED', `${pkg.path} changed while it was being signed; not written`);
  }
}

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const readAsync = promisify(read);

/** The new prefix and the unchanged payload into a temp file next to the package, then rename. */
async function rewriteThroughTemp(fd: number, pkg: PackageOnDisk, newPrefix: Buffer): Promise<void> {
  const dir = dirname(pkg.path);
  const tmp = join(dir, `.${basename(pkg.path)}.${randomBytes(6).toString('hex')}.signet.tmp`);
  const st = fstatSync(fd);
  // The package's permission bits exactly (fchmod: the umask must not change them), without
  // set-user-ID, set-group-ID or sticky: the new file belongs to the signing user, so a root
  // signer would otherwise turn a staging user's 4755 file into a root-owned set-user-ID one.
  const mode = st.mode & 0o777;
  const out = openSync(tmp, 'wx', mode);
  let closed = false;
  try {
    fchmodSync(out, mode);
    writeAllSync(out, newPrefix, 0);
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    let from = pkg.layout.payloadOffset;
    let to = newPrefix.length;
    for (;;) {
      // Payload reads run on the thread pool: other packages' writes go on meanwhile.
      const { bytesRead } = await readAsync(fd, chunk, 0, chunk.length, from);
      if (bytesRead === 0) break;
      writeAllSync(out, chunk.subarray(0, bytesRead), to);
      from += bytesRead;
      to += bytesRead;
    }
    await fsyncAsync(out);
    closed = true;
    closeSync(out);
    renameSync(tmp, pkg.path);
    syncDirectory(dir);
  } catch (err) {
    if (!closed) {
      try {
        closeSync(out);
      } catch {
        // already closed
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
    throw err;
  }
}

/**
 * Put `packet` into the package on disk. Returns whether it was written in place. The small
 * operations (open, stat, re-read of the prefix, one write of a few KiB, close) are synchronous:
 * each takes microseconds, less than a round trip through the thread pool; only the fdatasync,
 * which waits for the disk, runs there, so the syncs of a batch overlap.
 */
export async function writeSignature(pkg: PackageOnDisk, packet: Buffer, algorithm: SignatureAlgorithm, replace: boolean): Promise<boolean> {
  const rebuilt = rebuildSignatureHeader(pkg.layout, packet, algorithm, { replace });
  let fd: number;
  try {
    fd = openSync(pkg.path, 'r+');
  } catch (err) {
    throw fileError(pkg.path, err);
  }
  try {
    checkUnchanged(fd, pkg);
    if (rebuilt.inPlace) {
      // Same length as the old signature header + padding: lead, main header and payload stay.
      writeAllSync(fd, rebuilt.signatureHeader, LEAD_SIZE);
      // Size and layout are unchanged: the data (and what is needed to read it back) suffices.
      await fdatasyncAsync(fd);
    } else {
      await rewriteThroughTemp(fd, pkg, Buffer.concat([pkg.layout.lead, rebuilt.signatureHeader, pkg.layout.header.bytes]));
    }
    return rebuilt.inPlace;
  } catch (err) {
    if (err instanceof SignetError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new SignetError('DISK_FULL', `no space left to write ${pkg.path}`, { cause: err });
    throw new SignetError('FILE_WRITE_FAILED', `cannot write ${pkg.path}: ${code ?? 'error'}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

export interface RpmFileResult {
  file: string;
  status: 'signed' | 'failed';
  nevra?: string;
  in_place?: boolean;
  error?: { code: string; message: string };
}

export interface RpmSignSummary {
  key: string;
  fingerprint?: string;
  signed: number;
  failed: number;
  bytes_sent: number;
  seconds: number;
  files: RpmFileResult[];
}

export function asError(err: unknown): { code: string; message: string } {
  if (err instanceof SignetError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
}

export async function signRpmFiles(
  client: SignetClient,
  key: string,
  files: readonly string[],
  options: { replace: boolean; onDone?: (result: RpmFileResult) => void },
): Promise<RpmSignSummary> {
  const started = performance.now();
  const results: RpmFileResult[] = new Array<RpmFileResult>(files.length);
  let fingerprint: string | undefined;
  const finish = (index: number, result: RpmFileResult) => {
    results[index] = result;
    options.onDone?.(result);
  };
  const fail = (index: number, err: unknown, nevra?: string) =>
    finish(index, { file: files[index]!, status: 'failed', ...(nevra ? { nevra } : {}), error: asError(err) });

  // Batches of about equal size, several rounds per request slot (84 packages: 12 × 7).
  const perBatch = Math.min(MAX_BATCH_HEADERS, Math.max(MIN_BATCH_HEADERS, Math.ceil(files.length / (REQUESTS_IN_FLIGHT * ROUNDS_PER_SLOT))));
  let next = 0;
  const readBatch = (): { index: number; pkg: PackageOnDisk }[] => {
    const batch: { index: number; pkg: PackageOnDisk }[] = [];
    let bytes = 0;
    while (next < files.length && batch.length < perBatch && bytes < MAX_BATCH_PREFIX_BYTES) {
      const index = next++;
      try {
        const pkg = readPackagePrefix(files[index]!);
        // Refuse locally what the server would refuse, without sending it.
        checkSignable(pkg.layout, { replace: options.replace });
        batch.push({ index, pkg });
        bytes += pkg.prefix.length;
      } catch (err) {
        fail(index, err);
      }
    }
    return batch;
  };

  const writeBatch = (batch: { index: number; pkg: PackageOnDisk }[], response: RpmSignResponse): Promise<unknown> =>
    Promise.all(
      batch.map(async ({ index, pkg }, i) => {
        const item = response.signatures[i];
        const nevra = item?.nevra;
        try {
          if (item === undefined) throw new SignetError('INTERNAL', 'the server returned fewer signatures than headers sent');
          if (item.error !== undefined) {
            throw new SignetError(isErrorCode(item.error.code) ? item.error.code : 'INTERNAL', item.error.message);
          }
          if (item.packet === undefined || response.algorithm === undefined) throw new SignetError('INTERNAL', 'the server returned no signature');
          // The server signed what we sent: its digest of the main header must be ours.
          if (item.header_sha256 !== headerDigests(pkg.layout.header).sha256) {
            throw new SignetError('INTERNAL', 'the server signed a different header');
          }
          const inPlace = await writeSignature(pkg, Buffer.from(item.packet, 'base64'), response.algorithm, options.replace);
          finish(index, { file: pkg.path, status: 'signed', ...(nevra ? { nevra } : {}), in_place: inPlace });
        } catch (err) {
          fail(index, err, nevra);
        }
      }),
    );

  // Writes of answered batches (they never reject: each file's failure is its own result).
  const writes: Promise<unknown>[] = [];
  const worker = async (): Promise<void> => {
    for (;;) {
      if (next >= files.length) return;
      const batch = readBatch();
      if (batch.length === 0) continue;
      let response: RpmSignResponse;
      try {
        // Without RESERVEDSPACE: a third of the bytes to encode, send and parse (compactPrefix).
        response = await client.signRpm(key, batch.map((b) => compactPrefix(b.pkg.layout)), options.replace);
      } catch (err) {
        // Authentication, key or server failures apply to the whole batch; later batches would
        // fail the same way, but each file is still reported.
        for (const b of batch) fail(b.index, err);
        continue;
      }
      fingerprint ??= response.fingerprint;
      // The next batch goes out first (this loop runs on into readBatch and its request), then
      // these packages are written and synced while the server signs it: the server always has
      // REQUESTS_IN_FLIGHT batches to sign, never waits for our disk.
      writes.push(new Promise((resolve) => setImmediate(resolve)).then(() => writeBatch(batch, response)));
    }
  };
  await Promise.all(Array.from({ length: REQUESTS_IN_FLIGHT }, worker));
  await Promise.all(writes);
  const signed = results.filter((r) => r.status === 'signed').length;
  return {
    key,
    ...(fingerprint ? { fingerprint } : {}),
    signed,
    failed: results.length - signed,
    bytes_sent: client.bytesSent,
    seconds: Math.round(performance.now() - started) / 1000,
    files: results,
  };
}

// ---- command --------------------------------------------------------------------------------

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export async function rpmSignAction(files: string[], opts: { key: string; replace?: boolean }, cmd: Command): Promise<void> {
  const g = globals(cmd);
  // cli-progress is loaded only when a bar is drawn (stderr is a terminal).
  const cliProgress = wantProgress(g) ? (await import('cli-progress')).default : undefined;
  const bar = cliProgress
    ? new cliProgress.SingleBar({ format: 'signing [{bar}] {value}/{total} packages', hideCursor: true }, cliProgress.Presets.legacy)
    : undefined;
  bar?.start(files.length, 0);
  let summary: RpmSignSummary;
  try {
    summary = await withClient(g, (c) =>
      signRpmFiles(c, opts.key, files, {
        replace: Boolean(opts.replace),
        onDone: () => bar?.increment(),
      }),
    );
  } finally {
    bar?.stop();
  }
  if (g.json) printJson(summary);
  else {
    for (const f of summary.files) {
      if (f.status === 'failed') process.stderr.write(`signet: ${f.file}: ${f.error?.message} (${f.error?.code})\n`);
    }
    process.stderr.write(
      `signet: signed ${summary.signed} of ${summary.files.length} packages with ${opts.key}${summary.fingerprint ? ` (${summary.fingerprint})` : ''} in ${summary.seconds} s\n`,
    );
  }
  if (summary.failed > 0) process.exitCode = 1;
}
