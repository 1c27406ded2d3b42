// The publish gate: every RPM, repository signature and detached signature under a directory is
// checked against the allowed keys. Nothing is trusted for being present: an unsigned, wrongly
// signed, stale (Valid-Until passed) or inconsistent artifact (metadata whose listed checksums do
// not match, a Release that is not the text InRelease signs) is a finding, and any finding
// refuses the tree. Signatures are checked with src/openpgp (node:crypto); the interop tests
// prove the same files against dnf, apt, pacman and gpgv.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { createReadStream, lstatSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { SignetError } from '../errors.js';
import { canonicalText, verifyClearsigned, verifyDetached, verifyDetachedStream, type PublicKeyInfo, type VerifyResult } from '../openpgp/index.js';
import { verifyRpmFile } from '../rpm-io/verify.js';
import { parseReleaseDate, releaseField } from './apt.js';
import { pacmanDbName } from './pacman.js';
import { repomdEntries } from './yum.js';

export type GateProblem =
  | 'UNSIGNED'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_KEY'
  | 'EXPIRED'
  | 'MISMATCH'
  | 'MALFORMED'
  | 'ORPHAN_SIGNATURE'
  | 'UNSAFE_MODE';

export type GateKind = 'rpm' | 'yum' | 'apt' | 'pacman' | 'detached';

export interface GateFinding {
  /** Path relative to the gated directory, '/'-separated. */
  readonly path: string;
  readonly kind: GateKind;
  readonly problem: GateProblem;
  readonly detail: string;
}

export interface GateChecked {
  readonly path: string;
  readonly kind: GateKind;
  /** Fingerprint of the key that made the good signature. */
  readonly signer: string;
}

export interface GateReport {
  readonly ok: boolean;
  readonly checked: GateChecked[];
  readonly findings: GateFinding[];
}

export interface GateOptions {
  /** "Now" for Valid-Until checks (tests). */
  readonly now?: Date;
  /** Every file must be covered by a signature: its own (RPM header, detached .sig/.asc/.gpg),
   *  signed repository metadata that lists it with a checksum, or a signed SHA256SUMS/SHA512SUMS
   *  entry. Without it, files no rule covers (a README) pass unchecked. */
  readonly requireSigned?: boolean;
}

/** Largest metadata or signature file the gate reads into memory. */
const METADATA_MAX_BYTES = 256 * 1024 * 1024;
const SIGNATURE_MAX_BYTES = 64 * 1024;
const SIGNATURE_SUFFIXES = ['.sig', '.asc', '.gpg'] as const;
const HASH_NAMES: Record<string, string> = { sha: 'sha1', sha1: 'sha1', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

class Gate {
  readonly checked: GateChecked[] = [];
  readonly findings: GateFinding[] = [];
  /** Files a specific rule has already accounted for (absolute paths). */
  readonly covered = new Set<string>();

  constructor(
    readonly root: string,
    readonly keys: PublicKeyInfo[],
    readonly now: Date,
  ) {}

  rel(path: string): string {
    return relative(this.root, path).split(sep).join('/') || '.';
  }

  find(path: string, kind: GateKind, problem: GateProblem, detail: string): void {
    this.findings.push({ path: this.rel(path), kind, problem, detail });
  }

  ok(path: string, kind: GateKind, signer: PublicKeyInfo): void {
    this.checked.push({ path: this.rel(path), kind, signer: signer.fingerprint.toString('hex').toUpperCase() });
  }

  /** Records a verification result for `path`; true when good. */
  verdict(path: string, kind: GateKind, result: VerifyResult): boolean {
    if (result.ok) {
      this.ok(path, kind, result.signer);
      return true;
    }
    const problem: GateProblem = result.reason === 'NO_PUBKEY' ? 'UNKNOWN_KEY' : result.reason === 'BAD_SIGNATURE' ? 'BAD_SIGNATURE' : 'MALFORMED';
    const detail =
      result.reason === 'NO_PUBKEY'
        ? 'signed by a key that is not allowed'
        : result.reason === 'BAD_SIGNATURE'
          ? 'the signature does not match the content'
          : result.reason === 'WEAK_HASH'
            ? 'the signature uses a weak hash'
            : 'the signature cannot be read';
    this.find(path, kind, problem, detail);
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readLimited(path: string, max: number): Buffer | null {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > max) return null;
    return readFileSync(path);
  } catch {
    return null;
  }
}

async function fileDigest(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Set-user-ID, set-group-ID and sticky bits: never published (publish writes 0644/0755); the
 *  gate reports them so the operator learns that the staging tree carries them. */
const SPECIAL_BITS = 0o7000;

/** Every file under root, hidden entries included, sorted: the gate sees every entry that a
 *  publish would copy. Symbolic links are listed when they name a file inside root; a link to a
 *  directory, a link that leaves root or dangles, a FIFO, socket or device, a name that is not
 *  UTF-8 and a file with special mode bits are findings (never followed, never read). */
function walk(gate: Gate): string[] {
  const realRoot = realpathSync(gate.root);
  const out: string[] = [];
  const visit = (dir: string): void => {
    let entries;
    try {
      // Names as bytes: a name that is not UTF-8 would otherwise be read with U+FFFD in it and
      // collide with the UTF-8 twin that carries those three bytes (the gate would check the twin
      // twice and never the file itself).
      entries = readdirSync(dir, { encoding: 'buffer' });
    } catch (err) {
      throw new SignetError('FILE_UNREADABLE', `cannot read directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    for (const raw of entries) {
      const name = raw.toString('utf8');
      if (!Buffer.from(name, 'utf8').equals(raw)) {
        gate.find(join(dir, raw.toString('latin1')), 'detached', 'MALFORMED', `a name that is not UTF-8 (${raw.toString('hex')})`);
        continue;
      }
      const p = join(dir, name);
      let st;
      try {
        st = lstatSync(p);
      } catch (err) {
        throw new SignetError('FILE_UNREADABLE', `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(p);
        } catch {
          gate.find(p, 'detached', 'MALFORMED', 'a dangling symbolic link');
          continue;
        }
        if (target !== realRoot && !target.startsWith(`${realRoot}${sep}`)) {
          gate.find(p, 'detached', 'MALFORMED', 'a symbolic link that leaves the tree');
          continue;
        }
        // A link to a directory would publish a second view of a subtree under a name the
        // gate's rules (repodata/, dists/) would judge differently: refused, not followed.
        if (statSync(target).isDirectory()) {
          gate.find(p, 'detached', 'MALFORMED', 'a symbolic link to a directory');
          continue;
        }
        out.push(p);
        continue;
      }
      if ((st.mode & SPECIAL_BITS) !== 0) {
        gate.find(p, 'detached', 'UNSAFE_MODE', `mode ${(st.mode & 0o7777).toString(8)} has set-user-ID, set-group-ID or sticky bits`);
      }
      if (st.isDirectory()) visit(p);
      else if (st.isFile()) out.push(p);
      else gate.find(p, 'detached', 'MALFORMED', 'not a regular file, directory or symbolic link');
    }
  };
  visit(gate.root);
  return out.sort();
}

async function checkRpm(gate: Gate, path: string): Promise<void> {
  gate.covered.add(path);
  const r = await verifyRpmFile(path, gate.keys);
  const sig = r.checks.find((c) => c.what.startsWith('Header') && c.what.includes('Signature')) ?? r.checks.find((c) => c.what === 'Header signature');
  // verifyRpmFile fails closed: ok only when a header signature by an allowed key verified.
  if (r.ok) {
    gate.checked.push({ path: gate.rel(path), kind: 'rpm', signer: sig?.what.replace(/^.*key ID /, 'key ID ') ?? 'header signature' });
    return;
  }
  if (r.error) gate.find(path, 'rpm', 'MALFORMED', `${r.error.code}: cannot read the package`);
  else if (!sig || sig.result === 'NOTFOUND') gate.find(path, 'rpm', 'UNSIGNED', 'no header signature');
  else if (sig.result === 'NOKEY') gate.find(path, 'rpm', 'UNKNOWN_KEY', 'signed by a key that is not allowed');
  else if (sig.result === 'BAD') gate.find(path, 'rpm', 'BAD_SIGNATURE', 'the header signature does not verify');
  else {
    const bad = r.checks.filter((c) => c.result !== 'OK').map((c) => c.what);
    gate.find(path, 'rpm', 'MISMATCH', `${bad.join(', ')} do not match`);
  }
}

async function checkYum(gate: Gate, repomd: string): Promise<void> {
  const asc = `${repomd}.asc`;
  gate.covered.add(repomd);
  gate.covered.add(asc);
  const bytes = readLimited(repomd, METADATA_MAX_BYTES);
  if (!bytes) return gate.find(repomd, 'yum', 'MALFORMED', 'unreadable or too large');
  if (!isFile(asc)) return gate.find(repomd, 'yum', 'UNSIGNED', 'no repomd.xml.asc');
  const signature = readLimited(asc, SIGNATURE_MAX_BYTES);
  if (!signature) return gate.find(asc, 'yum', 'MALFORMED', 'unreadable or too large');
  const good = gate.verdict(repomd, 'yum', verifyDetached(bytes, signature, gate.keys));
  if (!good) return;
  // The signed repomd.xml must describe the metadata files that are actually there.
  let entries;
  try {
    entries = repomdEntries(bytes.toString('utf8'));
  } catch {
    return gate.find(repomd, 'yum', 'MALFORMED', 'repomd.xml cannot be read');
  }
  const repoRoot = dirname(dirname(repomd));
  for (const entry of entries) {
    const file = join(repoRoot, ...entry.href.split('/'));
    if (entry.href.split('/').includes('..')) {
      gate.find(repomd, 'yum', 'MALFORMED', `location ${entry.href} leaves the repository`);
      continue;
    }
    const algorithm = HASH_NAMES[entry.checksumType];
    if (!algorithm) {
      gate.find(repomd, 'yum', 'MALFORMED', `unknown checksum type ${entry.checksumType}`);
      continue;
    }
    gate.covered.add(file);
    if (!isFile(file)) gate.find(file, 'yum', 'MISMATCH', `listed in repomd.xml (${entry.type}) but missing`);
    else if ((await fileDigest(file, algorithm)) !== entry.checksum) gate.find(file, 'yum', 'MISMATCH', `checksum differs from repomd.xml (${entry.type})`);
  }
}

/** The "SHA256:" (or SHA512) list of a Release text: relative path -> hex digest. */
function releaseChecksums(text: string): { algorithm: string; files: Map<string, string> } | null {
  for (const [field, algorithm] of [['SHA512', 'sha512'], ['SHA256', 'sha256']] as const) {
    const m = new RegExp(`^${field}:[ \\t]*\\n((?:[ \\t].*\\n?)*)`, 'm').exec(text);
    if (!m) continue;
    const files = new Map<string, string>();
    for (const line of m[1]!.split('\n')) {
      const parts = line.trim().split(/\s+/);
      if (parts.length === 3) files.set(parts[2]!, parts[0]!.toLowerCase());
    }
    return { algorithm, files };
  }
  return null;
}

async function checkApt(gate: Gate, dist: string): Promise<void> {
  const inReleasePath = join(dist, 'InRelease');
  const releasePath = join(dist, 'Release');
  const gpgPath = join(dist, 'Release.gpg');
  for (const p of [inReleasePath, releasePath, gpgPath]) gate.covered.add(p);
  let signedText: string | null = null;
  if (isFile(inReleasePath)) {
    const bytes = readLimited(inReleasePath, METADATA_MAX_BYTES);
    if (!bytes) return gate.find(inReleasePath, 'apt', 'MALFORMED', 'unreadable or too large');
    const checked = verifyClearsigned(bytes.toString('utf8'), gate.keys);
    if (!gate.verdict(inReleasePath, 'apt', checked.result)) return;
    signedText = checked.text;
  } else {
    gate.find(isFile(releasePath) ? releasePath : dist, 'apt', 'UNSIGNED', 'no InRelease');
  }
  const release = isFile(releasePath) ? readLimited(releasePath, METADATA_MAX_BYTES) : null;
  if (release) {
    if (!isFile(gpgPath)) gate.find(releasePath, 'apt', 'UNSIGNED', 'no Release.gpg');
    else {
      const signature = readLimited(gpgPath, SIGNATURE_MAX_BYTES);
      if (!signature) gate.find(gpgPath, 'apt', 'MALFORMED', 'unreadable or too large');
      else if (signature.toString('latin1').startsWith('-----BEGIN PGP SIGNATURE-----') === false) {
        gate.find(gpgPath, 'apt', 'MALFORMED', 'Release.gpg must be armored (apt refuses binary signatures)');
      } else gate.verdict(gpgPath, 'apt', verifyDetached(release, signature, gate.keys));
    }
    if (signedText !== null && !canonicalText(signedText).equals(canonicalText(release))) {
      gate.find(releasePath, 'apt', 'MISMATCH', 'Release is not the text InRelease signs');
    }
  }
  if (signedText === null) return;
  const validUntil = releaseField(signedText, 'Valid-Until');
  if (validUntil !== null) {
    const until = parseReleaseDate(validUntil);
    if (until === null) gate.find(inReleasePath, 'apt', 'MALFORMED', 'Valid-Until cannot be read');
    else if (until.getTime() <= gate.now.getTime()) gate.find(inReleasePath, 'apt', 'EXPIRED', `Valid-Until ${validUntil} has passed`);
  }
  const sums = releaseChecksums(signedText);
  if (!sums) return gate.find(inReleasePath, 'apt', 'MALFORMED', 'no SHA256 or SHA512 list');
  for (const [name, digest] of sums.files) {
    if (name.split('/').includes('..')) {
      gate.find(inReleasePath, 'apt', 'MALFORMED', `entry ${name} leaves the distribution`);
      continue;
    }
    const file = join(dist, ...name.split('/'));
    // Release lists variants that need not exist (uncompressed indexes); those present must match.
    if (!isFile(file)) continue;
    gate.covered.add(file);
    if ((await fileDigest(file, sums.algorithm)) !== digest) gate.find(file, 'apt', 'MISMATCH', 'checksum differs from the signed Release');
    else if (/(^|\/)Packages(\.gz)?$/.test(name)) await checkAptPackages(gate, dist, file);
  }
}

/** The packages a verified Packages index lists (Filename + SHA256, Debian policy §5.6): those
 *  present must have that checksum, and are then covered by the Release signature. */
async function checkAptPackages(gate: Gate, dist: string, index: string): Promise<void> {
  // Filename is relative to the archive root, the directory holding dists/.
  let root = dist;
  while (basename(root) !== 'dists') {
    if (dirname(root) === root || relative(gate.root, root).startsWith('..')) return;
    root = dirname(root);
  }
  root = dirname(root);
  const raw = readLimited(index, METADATA_MAX_BYTES);
  if (!raw) return;
  let text: string;
  try {
    text = (index.endsWith('.gz') ? gunzipSync(raw, { maxOutputLength: METADATA_MAX_BYTES }) : raw).toString('utf8');
  } catch {
    return gate.find(index, 'apt', 'MALFORMED', 'the index cannot be decompressed');
  }
  for (const paragraph of text.split(/\n(?:[ \t]*\n)+/)) {
    const filename = /^Filename:[ \t]*(\S+)[ \t]*$/m.exec(paragraph)?.[1];
    const sha256 = /^SHA256:[ \t]*([0-9a-fA-F]{64})[ \t]*$/m.exec(paragraph)?.[1];
    if (filename === undefined || sha256 === undefined) continue;
    if (filename.startsWith('/') || filename.split('/').includes('..')) {
      gate.find(index, 'apt', 'MALFORMED', `entry ${filename} leaves the archive`);
      continue;
    }
    const file = join(root, ...filename.split('/'));
    if (!isFile(file) || gate.covered.has(file)) continue;
    gate.covered.add(file);
    if ((await fileDigest(file, 'sha256')) !== sha256.toLowerCase()) gate.find(file, 'apt', 'MISMATCH', `checksum differs from ${gate.rel(index)}`);
  }
}

/** The files a signed checksum list names must be there with those checksums. */
async function checkSums(gate: Gate, sumsPath: string, algorithm: 'sha256' | 'sha512'): Promise<void> {
  const text = readLimited(sumsPath, METADATA_MAX_BYTES)?.toString('utf8') ?? '';
  const width = algorithm === 'sha256' ? 64 : 128;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = new RegExp(`^([0-9a-fA-F]{${width}}) [ *](.+)$`).exec(line);
    if (!m) {
      gate.find(sumsPath, 'detached', 'MALFORMED', 'a line is not "<digest>  <file>"');
      return;
    }
    const name = m[2]!;
    if (name.startsWith('/') || name.split('/').includes('..')) {
      gate.find(sumsPath, 'detached', 'MALFORMED', `entry ${name} leaves the directory`);
      continue;
    }
    const file = join(dirname(sumsPath), ...name.split('/'));
    gate.covered.add(file);
    if (!isFile(file)) gate.find(file, 'detached', 'MISMATCH', `listed in ${basename(sumsPath)} but missing`);
    else if ((await fileDigest(file, algorithm)) !== m[1]!.toLowerCase()) gate.find(file, 'detached', 'MISMATCH', `checksum differs from ${basename(sumsPath)}`);
  }
}

async function checkDetached(gate: Gate, file: string, signaturePath: string, kind: GateKind, options: { binaryOnly?: boolean } = {}): Promise<boolean> {
  gate.covered.add(file);
  gate.covered.add(signaturePath);
  const signature = readLimited(signaturePath, SIGNATURE_MAX_BYTES);
  if (!signature) {
    gate.find(signaturePath, kind, 'MALFORMED', 'unreadable or too large');
    return false;
  }
  if (options.binaryOnly && signature.length > 0 && (signature[0]! & 0x80) === 0) {
    gate.find(signaturePath, kind, 'MALFORMED', 'pacman needs a binary signature, not an armored one');
    return false;
  }
  if (!isFile(file)) {
    gate.find(file, kind, 'MALFORMED', 'unreadable');
    return false;
  }
  // Streamed: a signed file of any size (an ISO image past 2 GiB) is checked without reading it
  // whole into memory.
  let result: VerifyResult;
  try {
    result = await verifyDetachedStream(() => createReadStream(file), signature, gate.keys);
  } catch {
    gate.find(file, kind, 'MALFORMED', 'unreadable');
    return false;
  }
  return gate.verdict(file, kind, result);
}

function isPublicKeyFile(path: string): boolean {
  const head = readLimited(path, 16 * 1024 * 1024)?.subarray(0, 64).toString('latin1') ?? '';
  return head.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----');
}

/** Checks DIR; resolves with the report (never throws for a bad artifact, only for I/O on DIR). */
export async function gateDirectory(dir: string, keys: PublicKeyInfo[], options: GateOptions = {}): Promise<GateReport> {
  if (keys.length === 0) throw new SignetError('USAGE', 'the gate needs at least one allowed key');
  try {
    if (!lstatSync(dir).isDirectory() && !statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new SignetError('FILE_UNREADABLE', `${dir} is not a directory`);
  }
  const gate = new Gate(dir, keys, options.now ?? new Date());
  const rootMode = statSync(dir).mode;
  if ((rootMode & SPECIAL_BITS) !== 0) gate.find(dir, 'detached', 'UNSAFE_MODE', `mode ${(rootMode & 0o7777).toString(8)} has set-user-ID, set-group-ID or sticky bits`);
  const files = walk(gate);
  const present = new Set(files);

  for (const f of files) {
    const name = basename(f);
    if (name === 'repomd.xml' && basename(dirname(f)) === 'repodata') await checkYum(gate, f);
  }
  const dists = new Set(files.filter((f) => ['Release', 'InRelease', 'Release.gpg'].includes(basename(f))).map((f) => dirname(f)));
  for (const d of [...dists].sort()) await checkApt(gate, d);
  for (const f of files) {
    const name = basename(f);
    if (name.endsWith('.rpm')) await checkRpm(gate, f);
    else if (pacmanDbName(name) || /\.pkg\.tar(\.[a-z0-9]+)?$/.test(name)) {
      if (!present.has(`${f}.sig`)) {
        gate.covered.add(f);
        gate.find(f, 'pacman', 'UNSIGNED', `no ${name}.sig`);
      } else await checkDetached(gate, f, `${f}.sig`, 'pacman', { binaryOnly: true });
    } else if (/\.(db|files)$/.test(name) && lstatSync(f).isSymbolicLink()) {
      // foo.db -> foo.db.tar.gz: the archive is checked under its own name.
      gate.covered.add(f);
    } else if (name === 'SHA256SUMS' || name === 'SHA512SUMS') {
      const signature = SIGNATURE_SUFFIXES.map((s) => `${f}${s}`).find((p) => present.has(p));
      gate.covered.add(f);
      if (!signature) gate.find(f, 'detached', 'UNSIGNED', `no ${name}.asc`);
      else if (await checkDetached(gate, f, signature, 'detached')) await checkSums(gate, f, name === 'SHA256SUMS' ? 'sha256' : 'sha512');
    }
  }
  // Any other signature: verify it against the file it names.
  for (const f of files) {
    if (gate.covered.has(f)) continue;
    const suffix = SIGNATURE_SUFFIXES.find((s) => f.endsWith(s));
    if (!suffix) continue;
    const subject = f.slice(0, -suffix.length);
    if (isPublicKeyFile(f)) {
      // A key block never counts as a signature: beside the file it would sign, it is what an
      // attacker leaves after tampering with that file. Alone, it is a published public key
      // (needing a signed checksum entry when every file must be signed).
      if (present.has(subject)) {
        gate.covered.add(subject);
        gate.find(f, 'detached', 'MALFORMED', `a public key block, not a signature of ${basename(subject)}`);
      }
      continue;
    }
    // foo.db.sig -> foo.db.tar.gz.sig: the link's own subject is the foo.db link.
    if (!present.has(subject)) {
      gate.find(f, 'detached', 'ORPHAN_SIGNATURE', `no ${basename(subject)} beside it`);
      continue;
    }
    const isPacmanLink = lstatSync(f).isSymbolicLink() && /\.(db|files)\.sig$/.test(basename(f));
    await checkDetached(gate, subject, f, isPacmanLink ? 'pacman' : 'detached', { binaryOnly: isPacmanLink });
  }
  if (options.requireSigned) {
    for (const f of files) {
      // A link inside the tree is checked under its target's own name.
      if (gate.covered.has(f) || lstatSync(f).isSymbolicLink()) continue;
      gate.find(f, 'detached', 'UNSIGNED', 'no signature and no entry in signed metadata or a signed checksum list');
    }
  }
  return { ok: gate.findings.length === 0, checked: gate.checked, findings: gate.findings };
}
