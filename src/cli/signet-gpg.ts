// signet-gpg: a gpg-compatible command for the signing subset release tools use (args.ts lists
// it), signing through a signet server. Configuration: SIGNET_ADDR / SIGNET_TOKEN /
// SIGNET_CA_FILE, else the client configuration file (client-config.ts). Verification is the
// real gpg's job: `--verify` command lines are handed to it unchanged.
//
// What kind of signature a call asks for (the policy's `kinds`) follows from what is signed:
//   rpmsign's header on stdin (RPM header magic)  -> POST /v1/sign/:key/rpm, kind rpm
//   a git commit, tag or push certificate          -> kind git
//   a pacman package or repository database        -> kind pacman
//   --clearsign                                     -> kind clearsign
//   anything else                                   -> kind detached
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, realpathSync, writeSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { Readable } from 'node:stream';
import { SignetError, isErrorCode } from '../errors.js';
import { writeOutputFile } from '../fsutil.js';
// Targeted imports, not the openpgp and rpm barrels: rpmsign and git start this program once per
// signature, and loading those whole modules cost more than the request itself.
import { HASH_ID, pkAlgorithmId, type PublicKeyInfo } from '../openpgp/public-key.js';
import type { KeyInfo, SignetClient } from '../client/client.js';
import { loadClientConfig } from './client-config.js';
import { makeClient, readInputFile, regularFileSize } from './common.js';
import { endQuietlyOnClosedPipe } from './pipe.js';
import { SUPPORTED_SUBSET, isVerification, parseGpgArgs, type GpgCommand } from './gpg/args.js';
import { isKeyName, selectKey } from './gpg/keys.js';
import { V4_ONLY_OUTPUTS } from '../keys/profile.js';
import { colonListing, humanListing } from './gpg/listing.js';

const VERSION_TEXT = 'gpg (GnuPG) 2.2.40\nsignet-gpg 0.1.0 (signs through a signet server; verification runs the real gpg)\n';
/** rpm ≥ 4.14 headers start with the header magic; rpmsign pipes exactly the main header. */
const RPM_HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0x00, 0x00, 0x00, 0x00]);
/** The rpm route's own cap on a prefix (lead + both headers). */
const MAX_RPM_HEADER_BYTES = 32 * 1024 * 1024;
/** Bytes looked at to recognise the payload (git object headers are short). */
const PEEK_BYTES = 64;
const PACMAN_FILE = /\.(?:pkg|src|db|files)\.tar(?:\.(?:gz|bz2|xz|zst|lz4|lrz|lzo|Z))?$/;

type SignCommand = Extract<GpgCommand, { op: 'sign' }>;

export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe('signet-gpg');
  const args = argv.slice(2);
  try {
    if (isVerification(args)) {
      process.exitCode = runRealGpg(args);
      return;
    }
    const command = parseGpgArgs(args);
    switch (command.op) {
      case 'version':
        process.stdout.write(VERSION_TEXT);
        return;
      case 'help':
        process.stdout.write(`usage: signet-gpg [options] [file]\nsupported: ${SUPPORTED_SUBSET}\n`);
        return;
      case 'list':
        await listKeys(command);
        return;
      case 'sign':
        await sign(command);
        return;
    }
  } catch (err) {
    process.exitCode = report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof SignetError) {
    process.stderr.write(`signet-gpg: ${err.message}${err.code === 'USAGE' ? '' : ` (${err.code})`}\n`);
    return err.exitCode;
  }
  process.stderr.write(`signet-gpg: ${(err as Error)?.message ?? String(err)}\n`);
  return 1;
}

function client(): SignetClient {
  // Never DATA/admin-token (./.signet by default): signet-gpg runs inside build trees, where a
  // file beside the artifact must not choose the token.
  return makeClient({}, { dataToken: false });
}

async function listKeys(command: Extract<GpgCommand, { op: 'list' }>): Promise<void> {
  const c = client();
  try {
    const { keys } = await c.listKeys();
    const chosen = command.patterns.length === 0 ? keys : command.patterns.map((p) => selectKey(keys, p));
    const out = chosen.map((k) => (command.colons ? colonListing(k, command.secret) : humanListing(k, command.secret))).join('');
    process.stdout.write(out);
  } finally {
    c.close();
  }
}

/** The key specification: -u (or --default-key), else SIGNET_DEFAULT_KEY, else the configured default. */
function wantedKey(spec: string | undefined): string {
  const wanted = spec ?? process.env.SIGNET_DEFAULT_KEY ?? loadClientConfig().defaultKey;
  if (wanted === undefined || wanted.trim() === '') {
    throw new SignetError('USAGE', 'no key given: pass -u KEY (or set SIGNET_DEFAULT_KEY, or default_key in the client configuration)');
  }
  return wanted;
}

/** The key named by the specification, resolved through GET /v1/keys (selectKey, gpg/keys.ts). */
async function resolveKey(c: SignetClient, wanted: string): Promise<{ name: string; info?: KeyInfo }> {
  let keys: KeyInfo[];
  try {
    keys = (await c.listKeys()).keys;
  } catch (err) {
    // A signing-only token may not list keys; then only an exact key name can be used.
    if (err instanceof SignetError && err.code === 'POLICY_DENIED' && isKeyName(wanted.trim())) return { name: wanted.trim() };
    throw err;
  }
  const info = selectKey(keys, wanted);
  return { name: info.name, info };
}

interface Peeked {
  head: Buffer;
  /** All the bytes, head first. */
  body: AsyncIterable<Buffer>;
}

async function peek(source: AsyncIterable<Buffer>, n: number): Promise<Peeked> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    size += r.value.length;
  }
  const first = Buffer.concat(chunks);
  async function* body(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head: first.subarray(0, n), body: body() };
}

async function readAll(body: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new SignetError('BODY_TOO_LARGE', `the RPM header is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** git's signed payloads: commit and tag objects, push certificates (git gpg-interface.c callers). */
function gitPayloadName(head: Buffer): string | undefined {
  const text = head.toString('latin1');
  if (text.startsWith('tree ')) return 'commit';
  if (text.startsWith('object ')) return 'tag';
  if (text.startsWith('certificate version ')) return 'push-certificate';
  return undefined;
}

/** repo-add signs its temp file `.tmp.NAME`; policies name the database, not the temp file. */
function pacmanName(file: string): string | undefined {
  const base = basename(file).replace(/^\.tmp\./, '');
  return PACMAN_FILE.test(base) ? base : undefined;
}


class StatusWriter {
  constructor(private readonly fd: number | undefined) {}

  line(text: string): void {
    if (this.fd === undefined) return;
    const bytes = Buffer.from(`[GNUPG:] ${text}\n`);
    if (this.fd === 1) process.stdout.write(bytes);
    else if (this.fd === 2) process.stderr.write(bytes);
    else writeSync(this.fd, bytes);
  }
}

interface Signed {
  /** The signet key name that signed. */
  key: string;
  output: Buffer;
  fingerprint: string;
  hashAlgorithm: string;
  created: number;
}

async function sign(command: SignCommand): Promise<void> {
  const fromStdin = command.input === undefined || command.input === '-';
  const length = fromStdin ? undefined : regularFileSize(command.input!);
  // Where the signature goes, decided before anything is signed (gpg: FILE.sig, FILE.asc, stdout).
  const output = command.output ?? (fromStdin ? '-' : `${command.input}${command.armor ? '.asc' : '.sig'}`);
  const status = new StatusWriter(command.statusFd);

  const wanted = wantedKey(command.keySpec);
  const c = client();
  try {
    const { PublicKeyCache, checkCleartext, checkDetached, checkDetachedStream, teeInto } = await import('./signature-check.js');
    // The key's public key, fetched alongside the signing request; the signature is verified with
    // it before anything is written.
    const publicKeys = new PublicKeyCache(c);
    const kept: Buffer[] = [];
    const source: AsyncIterable<Buffer> = fromStdin ? teeInto(process.stdin as AsyncIterable<Buffer>, kept) : createReadStream(command.input!);
    const { head, body } = await peek(source, PEEK_BYTES);

    let signed: Signed;
    let key: { name: string; info?: KeyInfo };
    // The key that made the signature, as the check below found it: a signing subkey when the
    // key has one (SIG_CREATED names it, as gpg does), else the primary.
    let madeBy: PublicKeyInfo;
    if (command.mode === 'detached' && !command.armor && fromStdin && head.subarray(0, RPM_HEADER_MAGIC.length).equals(RPM_HEADER_MAGIC)) {
      // rpmsign starts this program once per package. When -u is a plain signet key name (what
      // _gpg_name usually holds for signet), the header goes straight to that key: one request
      // instead of listing the keys first. selectKey prefers an exact name over every other
      // match, so the outcome is the same; only when the server knows no key of that name is the
      // specification resolved as gpg would (fingerprint, key ID, user ID) and the header sent again.
      const header = await readAll(body, MAX_RPM_HEADER_BYTES);
      // The public key of the key it will most likely be (the name as given) travels alongside.
      if (isKeyName(wanted.trim())) publicKeys.get(wanted.trim()).catch(() => undefined);
      signed = await signRpmHeaderAs(c, wanted, header, status);
      key = { name: signed.key };
      // rpm's header signature is a detached 0x00 signature over the main header's bytes.
      madeBy = checkDetached(header, signed.output, await publicKeys.get(key.name), 'the RPM header', key.name);
    } else {
      key = await resolveKey(c, wanted);
      // Whoever calls gpg for anything but an RPM header (git, makepkg/repo-add, debsign) hands
      // the signature to gpg-based verifiers, which read v4 only: a v6 key is refused before
      // anything is signed (docs/keys.md "Profiles: OpenPGP v4 and v6").
      const fingerprint = key.info?.fingerprint ?? (await publicKeys.get(key.name))[0]?.fingerprint.toString('hex');
      if (fingerprint !== undefined && fingerprint.length === 64) {
        throw new SignetError('KEY_PROFILE_UNSUPPORTED', `the key ${key.name} is an OpenPGP v6 (rfc9580) key; ${V4_ONLY_OUTPUTS['signet-gpg']} read v4 signatures only; use a v4 (rfc4880) key`);
      }
      if (key.info) status.line(`KEY_CONSIDERED ${key.info.fingerprint} 2`);
      publicKeys.get(key.name).catch(() => undefined); // awaited after signing; fetched meanwhile
      const git = command.mode === 'detached' ? gitPayloadName(head) : undefined;
      const pacman = command.mode === 'detached' && !fromStdin ? pacmanName(command.input!) : undefined;
      const kind = command.mode === 'clear' ? 'clearsign' : git !== undefined ? 'git' : pacman !== undefined ? 'pacman' : 'detached';
      const name = git ?? pacman ?? (fromStdin ? 'stdin' : basename(command.input!));
      const response = await c.sign(
        key.name,
        Readable.from(body),
        { kind, name, armor: command.armor, clear: command.mode === 'clear', ...(command.digest ? { hash: command.digest } : {}) },
        length,
      );
      const text = command.mode === 'clear' ? response.cleartext : command.armor ? response.armored : undefined;
      if (command.armor && text === undefined) throw new SignetError('INTERNAL', 'the server returned no armored signature');
      const output = text !== undefined ? Buffer.from(text, 'utf8') : Buffer.from(response.signature, 'base64');
      const what = fromStdin ? 'standard input' : command.input!;
      if (command.mode === 'clear') madeBy = checkCleartext(output.toString('utf8'), fromStdin ? Buffer.concat(kept) : readInputFile(command.input!), await publicKeys.get(key.name), what, key.name);
      else if (fromStdin) madeBy = checkDetached(Buffer.concat(kept), output, await publicKeys.get(key.name), what, key.name);
      else madeBy = await checkDetachedStream(() => createReadStream(command.input!), output, await publicKeys.get(key.name), what, key.name);
      signed = {
        key: key.name,
        output,
        fingerprint: response.fingerprint,
        hashAlgorithm: response.hash_algorithm,
        created: response.created,
      };
    }
    if (key.info && signed.fingerprint.toUpperCase() !== key.info.fingerprint.toUpperCase()) {
      throw new SignetError('INTERNAL', 'the server signed with a different key than the one asked for; nothing written');
    }
    const hashId = (HASH_ID as Record<string, number>)[signed.hashAlgorithm] ?? 0;
    const pkId = pkAlgorithmId(madeBy.algorithm, madeBy.version);
    status.line(`BEGIN_SIGNING H${hashId}`);
    if (output === '-') process.stdout.write(signed.output);
    else writeOutputFile(output, signed.output, 0o644);
    // SIG_CREATED type pkalgo hashalgo class timestamp fingerprint (gnupg doc/DETAILS).
    status.line(
      `SIG_CREATED ${command.mode === 'clear' ? 'C' : 'D'} ${pkId} ${hashId} ${command.mode === 'clear' ? '01' : '00'} ${signed.created} ${madeBy.fingerprint.toString('hex').toUpperCase()}`,
    );
  } finally {
    c.close();
  }
}

/**
 * The header signed with the key `wanted` names: directly when it is a plain key name, else (or
 * when the server has no key of that name) after resolving it through the key list. Writes the
 * KEY_CONSIDERED status line (gpg writes it before signing; every status line still reaches the
 * caller before the signature itself).
 */
async function signRpmHeaderAs(c: SignetClient, wanted: string, header: Buffer, status: StatusWriter): Promise<Signed> {
  const name = wanted.trim();
  if (isKeyName(name)) {
    try {
      const signed = await signRpmHeader(c, name, header);
      status.line(`KEY_CONSIDERED ${signed.fingerprint.toUpperCase()} 2`);
      return signed;
    } catch (err) {
      // No key of that name, or none this token may use by that name: resolve it as gpg would.
      if (!(err instanceof SignetError && (err.code === 'KEY_NOT_FOUND' || err.code === 'POLICY_DENIED'))) throw err;
    }
  }
  const key = await resolveKey(c, wanted);
  if (key.info) status.line(`KEY_CONSIDERED ${key.info.fingerprint} 2`);
  return signRpmHeader(c, key.name, header);
}

/** rpmsign's header through the RPM route: the server parses it, applies the rpm policy, logs the NEVRA. */
async function signRpmHeader(c: SignetClient, key: string, header: Buffer): Promise<Signed> {
  const { prefixForMainHeader } = await import('../rpm/signature-header.js');
  const response = await c.signRpm(key, [prefixForMainHeader(header)], false);
  const item = response.signatures[0];
  if (item?.error !== undefined) throw new SignetError(isErrorCode(item.error.code) ? item.error.code : 'INTERNAL', item.error.message);
  if (item?.packet === undefined || response.fingerprint === undefined || response.algorithm === undefined) {
    throw new SignetError('INTERNAL', 'the server returned no signature');
  }
  if (item.header_sha256 !== createHash('sha256').update(header).digest('hex')) {
    throw new SignetError('INTERNAL', 'the server signed a different header');
  }
  return {
    key,
    output: Buffer.from(item.packet, 'base64'),
    fingerprint: response.fingerprint,
    hashAlgorithm: response.hash_algorithm ?? '',
    created: response.created,
  };
}

/** The real gpg on PATH, skipping this shim however it was linked in (gpg-shim install). */
export function findRealGpg(self: string | undefined = process.argv[1]): string | undefined {
  let me: string | undefined;
  try {
    me = self !== undefined ? realpathSync(self) : undefined;
  } catch {
    me = undefined;
  }
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    for (const name of ['gpg', 'gpg2']) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        if (me !== undefined && realpathSync(candidate) === me) continue;
        return candidate;
      } catch {
        // not there
      }
    }
  }
  return undefined;
}

/** Set in the real gpg's environment: a `gpg` on PATH that is a wrapper calling signet-gpg again
 *  would otherwise start one process after another without end. */
const HANDOFF_MARK = 'SIGNET_GPG_HANDED_OFF';

/** Hand a verification to the real gpg with the same arguments and file descriptors. */
function runRealGpg(args: string[]): number {
  if (process.env[HANDOFF_MARK] !== undefined) {
    process.stderr.write('signet-gpg: the gpg found on PATH runs signet-gpg again; refusing to hand off a second time (put GnuPG first on PATH)\n');
    return 2;
  }
  const gpg = findRealGpg();
  if (gpg === undefined) {
    process.stderr.write('signet-gpg: --verify needs GnuPG installed (gpg on PATH); signet-gpg itself only signs\n');
    return 2;
  }
  // Status and logger descriptors beyond 0-2 (e.g. --status-fd=3) must reach the child too.
  let maxFd = 2;
  args.forEach((a, i) => {
    const m = /^--(?:status|logger|attribute|command|passphrase)-fd(?:=(\d+))?$/.exec(a);
    const fd = m ? Number(m[1] ?? args[i + 1]) : NaN;
    if (Number.isInteger(fd) && fd > maxFd && fd < 64) maxFd = fd;
  });
  const stdio = Array.from({ length: maxFd + 1 }, (_, i) => i);
  // node:child_process only here: loading it is a tenth of the start of a signing call (rpmsign and
  // git start signet-gpg once per signature), which never hands off.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const r = spawnSync(gpg, args, { stdio, env: { ...process.env, [HANDOFF_MARK]: '1' } });
  if (r.error) {
    process.stderr.write(`signet-gpg: cannot run ${gpg}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}\n`);
    return 2;
  }
  return r.status ?? 2;
}
