// RPM file I/O next to the pure RPM core (src/rpm does no I/O; docs/architecture.md "Layers"):
// read a package's lead and headers (never its payload), and write a signature into a package
// on disk, in place when the rebuilt signature header keeps its length (as rpmsign does),
// otherwise through a temp file + fsync + rename. Shared by `signet rpm sign`, `signet rpm
// verify`, `signet pulp` and the publish gate (src/repo/gate.ts). Crash behaviour:
// docs/formats.md "Rebuilding the signature header in place"; the file is either the old one or the signed one.
import { closeSync, fchmodSync, fdatasync, fstatSync, fsync, openSync, read, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignetError } from '../errors.js';
import { syncDirectory } from '../fsutil.js';
// The parser and the signature-header rewrite only (not src/rpm/index.ts, which also carries
// the fuzz harness).
import { LEAD_SIZE, parseRpmPrefix, rpmPrefixLength, type RpmPackageLayout } from '../rpm/package.js';
import { rebuildSignatureHeaderWith, type HeaderSignature, type SignatureAlgorithm } from '../rpm/signature-header.js';

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

const RPM_LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);

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
    // A package starts with the lead's magic (rpm's lib/rpmlead.c: ed ab ee db); a text file or
    // an archive given by mistake is named as what it is not, before any length arithmetic.
    if (bytes.length < RPM_LEAD_MAGIC.length || !bytes.subarray(0, RPM_LEAD_MAGIC.length).equals(RPM_LEAD_MAGIC)) {
      throw new SignetError('RPM_MALFORMED', 'not an RPM package (no RPM lead magic)');
    }
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
  return writeSignatures(pkg, [{ packet, algorithm }], replace, false);
}

/** writeSignature for one or more signatures: the rpm 6 layout (tag 278) when there are several,
 *  a v6 one, or `rpmv6` (src/rpm/signature-header.ts rebuildSignatureHeaderWith). */
export async function writeSignatures(pkg: PackageOnDisk, signatures: readonly HeaderSignature[], replace: boolean, rpmv6: boolean): Promise<boolean> {
  const rebuilt = rebuildSignatureHeaderWith(pkg.layout, signatures, { replace, rpmv6 });
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

/** A failure as the JSON results report it: stable code and message. */
export function asError(err: unknown): { code: string; message: string } {
  if (err instanceof SignetError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
}
