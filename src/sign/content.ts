// What each artifact kind may contain, checked by the server on the streamed body before it signs
// (docs/security.md "The signing boundary"). A policy grants kinds; without these checks the kind
// would be a label the client chooses, and a token granted `yum` could have any bytes signed.
//
// Every check is streaming and linear: it looks at each byte once and keeps at most one line
// (MAX_LINE_BYTES) or a short prefix and suffix, so a check never buffers the artifact. Checks
// throw CONTENT_INVALID as soon as the body cannot be what the kind says; the engine stops
// hashing then and drains the rest.
//
// The one rule every kind shares: no route but the RPM route signs an RPM header (it starts with
// the header magic 8e ad e8 01, rpm's lib/header.c and the rpm file format docs), and no kind but
// `git` signs a git object (commit, tag or push certificate as git hands them to gpg:
// git's Documentation/gitformat-signature.txt). A stock tool would accept such a signature as a
// package or commit signature whatever the label said.
import { SignetError } from '../errors.js';
import type { ArtifactKind } from '../policy/kinds.js';

/** The header magic of an RPM header structure (main or signature header). */
export const RPM_HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);

/** The longest line a line-based kind (apt, sums, git) accepts. A Release file's lines are file
 *  entries of ~100 bytes; a git header line (a long `mergetag` continuation included) or a
 *  checksum line with a long path stays well below this. */
export const MAX_LINE_BYTES = 64 * 1024;

/** How far into a yum document its root element must start (XML declaration and comments). */
const YUM_PROLOG_BYTES = 4096;
/** Enough of the start to recognise a git object's first line or a tar header's magic. */
const SNIFF_BYTES = 264;

export interface ContentCheck {
  /** The next chunk of the body, in order. Throws CONTENT_INVALID. */
  update(chunk: Uint8Array): void;
  /** After the last chunk. Throws CONTENT_INVALID. */
  finish(): void;
}

export function contentInvalid(kind: ArtifactKind, why: string): SignetError {
  return new SignetError('CONTENT_INVALID', `the body is not ${WHAT[kind]}: ${why}`);
}

const WHAT: Readonly<Record<ArtifactKind, string>> = {
  detached: 'an artifact a detached signature may cover',
  clearsign: 'text a cleartext signature may cover',
  rpm: 'an RPM header prefix',
  yum: 'a yum repomd.xml document',
  apt: 'an apt Release file',
  pacman: 'a pacman package or database (a tar archive, compressed or not)',
  sums: 'a checksum list (lines of HEX  NAME)',
  git: 'a git commit, tag or push certificate',
};

/** A new check for one body of `kind` (content mode). */
export function contentCheck(kind: ArtifactKind): ContentCheck {
  switch (kind) {
    case 'detached':
    case 'clearsign':
      return new PrefixCheck(kind, SNIFF_BYTES, (head, kind) => refuseForeign(head, kind));
    case 'pacman':
      return new PrefixCheck(kind, SNIFF_BYTES, checkPacman);
    case 'yum':
      return new YumCheck();
    case 'apt':
      return new LineCheck('apt', new AptLines(), PULP_APT_PROBE);
    case 'sums':
      return new LineCheck('sums', new SumsLines());
    case 'git':
      return new LineCheck('git', new GitLines());
    case 'rpm':
      // Never reached through the content routes (the pipeline refuses kind rpm there first).
      return { update: () => { throw contentInvalid('rpm', 'RPM headers are signed only through the RPM route'); }, finish: () => undefined };
  }
}

/** Run a check over a whole buffer (tests, and the midstate tail of a short file). */
export function checkContent(kind: ArtifactKind, bytes: Uint8Array): void {
  const check = contentCheck(kind);
  check.update(bytes);
  check.finish();
}

// ---- shapes a stock tool accepts as something else ----

/** git's object id: SHA-1 (40) or SHA-256 (64) lower-case hex. */
function isObjectId(s: string): boolean {
  return (s.length === 40 || s.length === 64) && /^[0-9a-f]+$/.test(s);
}

/** Whether `head` (the start of the body) is an RPM header or a git object's first line. */
export function foreignShape(head: Uint8Array): 'rpm-header' | 'git-object' | undefined {
  if (head.length >= 4 && head[0] === 0x8e && head[1] === 0xad && head[2] === 0xe8 && head[3] === 0x01) return 'rpm-header';
  const nl = head.indexOf(0x0a);
  const first = Buffer.from(head.buffer, head.byteOffset, nl === -1 ? head.length : nl).toString('latin1');
  if (first.startsWith('tree ') && isObjectId(first.slice(5))) return 'git-object';
  if (first.startsWith('object ') && isObjectId(first.slice(7))) return 'git-object';
  if (first.startsWith('certificate version ')) return 'git-object';
  return undefined;
}

function refuseForeign(head: Uint8Array, kind: ArtifactKind): void {
  const shape = foreignShape(head);
  if (shape === 'rpm-header') throw contentInvalid(kind, 'it starts with an RPM header (sign packages with the RPM route: signet rpm sign)');
  if (shape === 'git-object' && kind !== 'git') throw contentInvalid(kind, 'it is a git object (sign it as kind git)');
}

/** Buffers the first `n` bytes and judges them once (at n bytes or at the end). */
class PrefixCheck implements ContentCheck {
  readonly #head: Buffer;
  #filled = 0;
  #done = false;
  constructor(
    readonly kind: ArtifactKind,
    n: number,
    readonly judge: (head: Buffer, kind: ArtifactKind) => void,
  ) {
    this.#head = Buffer.alloc(n);
  }
  update(chunk: Uint8Array): void {
    if (this.#done) return;
    const take = Math.min(chunk.length, this.#head.length - this.#filled);
    this.#head.set(chunk.subarray(0, take), this.#filled);
    this.#filled += take;
    if (this.#filled === this.#head.length) this.#run();
  }
  finish(): void {
    if (!this.#done) this.#run();
  }
  #run(): void {
    this.#done = true;
    this.judge(this.#head.subarray(0, this.#filled), this.kind);
  }
}

// ---- pacman: a tar archive, plain or compressed with one of the compressors makepkg/repo-add use ----

/** Magic numbers of the compressors makepkg's PKGEXT and repo-add accept (each format's spec:
 *  RFC 1952 gzip, xz file format 1.0.4, RFC 8878 zstd, bzip2, lz4 frame, lzip, lzop, lrzip, compress). */
const COMPRESSED_MAGICS: readonly Buffer[] = [
  Buffer.from([0x1f, 0x8b]), // gzip
  Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), // xz
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), // zstd
  Buffer.from('BZh', 'latin1'), // bzip2
  Buffer.from([0x04, 0x22, 0x4d, 0x18]), // lz4 frame
  Buffer.from('LZIP', 'latin1'), // lzip
  Buffer.from([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]), // lzop
  Buffer.from('LRZI', 'latin1'), // lrzip
  Buffer.from([0x1f, 0x9d]), // compress (.Z)
];

function checkPacman(head: Buffer, kind: ArtifactKind): void {
  if (COMPRESSED_MAGICS.some((m) => head.length >= m.length && head.subarray(0, m.length).equals(m))) return;
  // POSIX ustar (and GNU tar's "ustar  ") magic at offset 257 of the first header block.
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return;
  refuseForeign(head, kind);
  throw contentInvalid(kind, 'no tar or compressor magic at its start');
}

// ---- yum: repomd.xml ----

/**
 * An XML document (no control characters XML 1.0 §2.2 forbids, no NUL) whose root element is
 * `repomd` and which ends with its end tag. Only the prolog (at most YUM_PROLOG_BYTES) and the
 * last bytes are kept; dnf/libdnf refuse a repomd.xml with another root anyway, so this checks
 * no more than a verifier relies on: that the signed bytes are a repository's metadata index.
 */
class YumCheck implements ContentCheck {
  readonly #prolog = Buffer.alloc(YUM_PROLOG_BYTES);
  #prologFilled = 0;
  #rootSeen = false;
  #tail = Buffer.alloc(0);
  update(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) throw contentInvalid('yum', 'a control character XML does not allow');
    }
    if (!this.#rootSeen) {
      const take = Math.min(chunk.length, this.#prolog.length - this.#prologFilled);
      this.#prolog.set(chunk.subarray(0, take), this.#prologFilled);
      this.#prologFilled += take;
      this.#judgeProlog(false);
    }
    const tail = Buffer.concat([this.#tail, chunk]);
    this.#tail = tail.subarray(Math.max(0, tail.length - 64));
  }
  finish(): void {
    if (!this.#rootSeen) this.#judgeProlog(true);
    const end = this.#tail.toString('latin1').replace(/[ \t\r\n]+$/, '');
    if (!/<\/repomd[ \t\r\n]*>$/.test(end)) throw contentInvalid('yum', 'it does not end with </repomd>');
  }
  /** Skip BOM, XML declaration, comments, processing instructions and white space; the first
   *  element must be <repomd …>. `final`: no more bytes will come. */
  #judgeProlog(final: boolean): void {
    const s = this.#prolog.subarray(0, this.#prologFilled).toString('latin1');
    let i = s.startsWith('\xef\xbb\xbf') ? 3 : 0;
    for (;;) {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
      if (s.startsWith('<?', i)) {
        const end = s.indexOf('?>', i + 2);
        if (end === -1) break;
        i = end + 2;
      } else if (s.startsWith('<!--', i)) {
        const end = s.indexOf('-->', i + 4);
        if (end === -1) break;
        i = end + 3;
      } else if (i < s.length) {
        if (s.length - i < 8 && !final && this.#prologFilled < this.#prolog.length) return;
        if (/^<repomd[ \t\r\n>/]/.test(s.slice(i, i + 8))) {
          this.#rootSeen = true;
          return;
        }
        throw contentInvalid('yum', 'its root element is not <repomd>');
      } else break;
    }
    if (final || this.#prologFilled === this.#prolog.length) throw contentInvalid('yum', `no <repomd> root element in its first ${YUM_PROLOG_BYTES} bytes`);
  }
}

// ---- line-based kinds: apt, sums, git ----

interface LineRules {
  /** One line without its LF (a final line without LF too). */
  line(line: Buffer): void;
  end(): void;
}

/**
 * pulp_deb's AptReleaseSigningService.validate() checks a signing service by having it sign a file
 * `Release` holding exactly these 14 bytes (docs/pulp.md). They are accepted as an apt body: no
 * tool reads a signature over them as anything (not a Release file, an RPM header or a git object).
 */
const PULP_APT_PROBE = Buffer.from('arbitrary data', 'latin1');

/** Splits the stream into lines of at most MAX_LINE_BYTES, keeping only the current one. */
class LineCheck implements ContentCheck {
  #parts: Buffer[] = [];
  #partBytes = 0;
  #sawAny = false;
  /** While the body may still be exactly `exact`: how many of its bytes have been seen (held
   *  back from the rules until it is certain either way). */
  #exact: { readonly bytes: Buffer; seen: number } | undefined;
  constructor(
    readonly kind: ArtifactKind,
    readonly rules: LineRules,
    exact?: Buffer,
  ) {
    this.#exact = exact ? { bytes: exact, seen: 0 } : undefined;
  }
  update(chunk: Uint8Array): void {
    const exact = this.#exact;
    if (exact) {
      if (exact.seen + chunk.length <= exact.bytes.length && exact.bytes.subarray(exact.seen, exact.seen + chunk.length).equals(chunk)) {
        exact.seen += chunk.length;
        return;
      }
      this.#exact = undefined;
      if (exact.seen > 0) this.#judge(exact.bytes.subarray(0, exact.seen));
    }
    this.#judge(chunk);
  }
  #judge(chunk: Uint8Array): void {
    if (!this.#sawAny && chunk.length > 0) {
      this.#sawAny = true;
      if (foreignShape(chunk) === 'rpm-header') refuseForeign(chunk, this.kind);
    }
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      const end = nl === -1 ? buf.length : nl;
      if (this.#partBytes + (end - start) > MAX_LINE_BYTES) throw contentInvalid(this.kind, `a line longer than ${MAX_LINE_BYTES} bytes`);
      if (nl === -1) {
        if (end > start) {
          this.#parts.push(Buffer.from(buf.subarray(start, end)));
          this.#partBytes += end - start;
        }
        return;
      }
      const line = this.#parts.length === 0 ? buf.subarray(start, end) : Buffer.concat([...this.#parts, buf.subarray(start, end)]);
      this.#parts = [];
      this.#partBytes = 0;
      this.rules.line(line);
      start = nl + 1;
    }
  }
  finish(): void {
    const exact = this.#exact;
    if (exact && exact.seen === exact.bytes.length) return;
    if (exact && exact.seen > 0) this.#judge(exact.bytes.subarray(0, exact.seen));
    if (this.#partBytes > 0) {
      this.rules.line(Buffer.concat(this.#parts));
      this.#parts = [];
      this.#partBytes = 0;
    }
    this.rules.end();
  }
}

/** Printable text: no C0 control character but TAB (LF never reaches a line). */
function hasControl(line: Buffer, allowCr: boolean): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if ((c < 0x20 && c !== 0x09 && !(allowCr && c === 0x0d && i === line.length - 1)) || c === 0x7f) return true;
  }
  return false;
}

const HEX_LENGTHS: ReadonlySet<number> = new Set([32, 40, 56, 64, 96, 128]);

/**
 * sums: GNU coreutils' `sha256sum` output and friends (md5sum … sha512sum, b2sum): every line is
 * HEX, a space, a space or `*` (binary mode), and a file name; a line starting with `\` has an
 * escaped name. HEX is 32 to 128 hex digits (MD5 … SHA-512). No blank lines, at least one entry.
 */
class SumsLines implements LineRules {
  #entries = 0;
  #lineNo = 0;
  line(line: Buffer): void {
    this.#lineNo++;
    let i = line[0] === 0x5c ? 1 : 0; // '\': escaped file name (coreutils)
    const hexStart = i;
    while (i < line.length && isHexDigit(line[i]!)) i++;
    const hexLength = i - hexStart;
    if (!HEX_LENGTHS.has(hexLength)) throw contentInvalid('sums', `line ${this.#lineNo} does not start with a checksum`);
    if (line[i] !== 0x20 || (line[i + 1] !== 0x20 && line[i + 1] !== 0x2a) || i + 2 >= line.length) {
      throw contentInvalid('sums', `line ${this.#lineNo} is not "HEX  NAME"`);
    }
    if (hasControl(line.subarray(i + 2), true)) throw contentInvalid('sums', `line ${this.#lineNo} has a control character in its name`);
    this.#entries++;
  }
  end(): void {
    if (this.#entries === 0) throw contentInvalid('sums', 'no checksum lines');
  }
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * apt: a Release file (Debian Policy §5.1 control-file syntax; the Debian repository format's
 * Release fields). One paragraph of `Field: value` lines, continuation lines starting with a space
 * or TAB, optionally followed by blank lines only. It must have a `Date` field and a `SHA256` field
 * whose continuation lines are ` HEX64 SIZE NAME` (what apt checks index files against).
 * Field names compare case-insensitively (deb822).
 */
class AptLines implements LineRules {
  #lineNo = 0;
  #field: string | undefined;
  #sawDate = false;
  #sawSha256 = false;
  #ended = false;
  line(line: Buffer): void {
    this.#lineNo++;
    const at = `line ${this.#lineNo}`;
    if (hasControl(line, false)) throw contentInvalid('apt', `${at} has a control character`);
    if (line.length === 0) {
      if (this.#field === undefined) throw contentInvalid('apt', `${at} is blank before any field`);
      this.#ended = true;
      return;
    }
    if (this.#ended) throw contentInvalid('apt', `${at}: a Release file is one paragraph`);
    if (line[0] === 0x20 || line[0] === 0x09) {
      if (this.#field === undefined) throw contentInvalid('apt', `${at} continues no field`);
      if (this.#field === 'sha256' && !/^[ \t][0-9a-f]{64}[ \t]+[0-9]{1,20}[ \t]+\S+$/.test(line.toString('latin1'))) {
        throw contentInvalid('apt', `${at} is not " SHA256 SIZE NAME" in the SHA256 list`);
      }
      return;
    }
    const text = line.toString('latin1');
    const colon = text.indexOf(':');
    const name = colon > 0 ? text.slice(0, colon) : '';
    // deb822 field names: printable US-ASCII except ':', not starting with '#' or '-'.
    if (!/^[!-9;-~]+$/.test(name) || name[0] === '#' || name[0] === '-') throw contentInvalid('apt', `${at} is not "Field: value"`);
    const field = name.toLowerCase();
    if (field === 'date') {
      if (text.slice(colon + 1).trim() === '') throw contentInvalid('apt', `${at}: an empty Date`);
      this.#sawDate = true;
    }
    if (field === 'sha256') {
      if (text.slice(colon + 1).trim() !== '') throw contentInvalid('apt', `${at}: the SHA256 field holds a list on the lines after it`);
      this.#sawSha256 = true;
    }
    this.#field = field;
  }
  end(): void {
    if (!this.#sawDate) throw contentInvalid('apt', 'no Date field');
    if (!this.#sawSha256) throw contentInvalid('apt', 'no SHA256 field');
  }
}

/**
 * git: what git hands gpg to sign (git's gpg-interface.c callers): a commit (`tree ID` first),
 * a tag (`object ID`, `type T`, `tag NAME` first) or a push certificate (`certificate version
 * 0.1`), then header lines `key value` (continuations start with a space) up to a blank line,
 * then the message. Header keys are lower-case letters and '-'; no NUL anywhere (git refuses NUL
 * in messages unless forced, and no object header has one).
 */
class GitLines implements LineRules {
  #lineNo = 0;
  #type: 'commit' | 'tag' | 'push-certificate' | undefined;
  #inHeader = true;
  line(line: Buffer): void {
    this.#lineNo++;
    const at = `line ${this.#lineNo}`;
    if (line.includes(0)) throw contentInvalid('git', `${at} has a NUL byte`);
    if (!this.#inHeader) return;
    const text = line.toString('latin1');
    if (this.#lineNo === 1) {
      if (text.startsWith('tree ') && isObjectId(text.slice(5))) this.#type = 'commit';
      else if (text.startsWith('object ') && isObjectId(text.slice(7))) this.#type = 'tag';
      else if (/^certificate version [0-9]+\.[0-9]+$/.test(text)) this.#type = 'push-certificate';
      else throw contentInvalid('git', 'it does not start with "tree ID", "object ID" or "certificate version"');
      return;
    }
    if (text === '') {
      this.#inHeader = false;
      return;
    }
    if (this.#type === 'tag' && this.#lineNo === 2 && !/^type (?:commit|tree|blob|tag)$/.test(text)) throw contentInvalid('git', 'a tag\'s second line is not "type T"');
    if (this.#type === 'tag' && this.#lineNo === 3 && !/^tag \S/.test(text)) throw contentInvalid('git', 'a tag\'s third line is not "tag NAME"');
    if (text[0] === ' ') return;
    if (!/^[a-z][a-z-]* ./.test(text)) throw contentInvalid('git', `${at} is not a "key value" header line`);
  }
  end(): void {
    if (this.#type === undefined) throw contentInvalid('git', 'it is empty');
    if (this.#type === 'tag' && this.#inHeader && this.#lineNo < 3) throw contentInvalid('git', 'a tag object without its type and tag lines');
  }
}

// ---- midstate ----

/**
 * In midstate mode the server sees only the tail (the bytes after the last full block), or the
 * whole file when it is shorter than a block. The whole file is checked as content; a tail can
 * only be checked for what every suffix of the kind's content satisfies: a checksum list is text.
 * What the server cannot see is why midstate is refused for every kind but detached and sums, and
 * for every key whose purposes include rpm or git (docs/security.md).
 */
export function checkMidstateTail(kind: ArtifactKind, tail: Uint8Array, wholeFile: boolean): void {
  if (wholeFile) {
    checkContent(kind, tail);
    return;
  }
  if (kind === 'sums') {
    for (const c of tail) if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) throw contentInvalid('sums', 'its last block holds a control character');
  }
}
