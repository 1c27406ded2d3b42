// `signet sums DIR`: SHA256SUMS in sha256sum's format plus an armored detached signature.
// Both files are written only after the server signed, each atomically: a failure leaves the old
// pair untouched.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { SignetError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { wantProgress, withClient, type GlobalOptions } from './common.js';

const SUMS = 'SHA256SUMS';
const OWN_FILES = new Set([SUMS, `${SUMS}.asc`, `${SUMS}.sig`, `${SUMS}.gpg`]);

export interface SumsResult {
  sums: string;
  signature: string;
  files: number;
  bytes: number;
  key: string;
  fingerprint: string;
}

export function listReleaseFiles(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (err) {
      throw new SignetError('FILE_UNREADABLE', `cannot read directory ${d}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        if (recursive) walk(p);
      } else if (e.isFile() && !(d === dir && OWN_FILES.has(e.name))) {
        out.push(relative(dir, p).split(sep).join('/'));
      }
    }
  };
  walk(dir);
  return out.sort();
}

export async function writeChecksums(g: GlobalOptions, dir: string, key: string, recursive: boolean): Promise<SumsResult> {
  const files = listReleaseFiles(dir, recursive);
  if (files.length === 0) throw new SignetError('FILE_UNREADABLE', `no files to list in ${dir}`);
  const sizes = files.map((f) => statSync(join(dir, f)).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  // cli-progress is loaded only when a bar is drawn (stderr is a terminal).
  const cliProgress = wantProgress(g) ? (await import('cli-progress')).default : undefined;
  const bar = cliProgress ? new cliProgress.SingleBar({ format: 'hashing [{bar}] {percentage}% {value}/{total} bytes', hideCursor: true }, cliProgress.Presets.legacy) : undefined;
  bar?.start(total, 0);
  const lines: string[] = [];
  try {
    for (const f of files) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(join(dir, f))) {
        hash.update(chunk as Buffer);
        bar?.increment((chunk as Buffer).length);
      }
      // sha256sum escapes names with a backslash or newline; refuse them instead of guessing.
      if (/[\\\n\r]/.test(f)) throw new SignetError('FILE_UNREADABLE', `file name not representable in ${SUMS}: ${JSON.stringify(f)}`);
      lines.push(`${hash.digest('hex')}  ${f}`);
    }
  } finally {
    bar?.stop();
  }
  const content = Buffer.from(`${lines.join('\n')}\n`);
  const response = await withClient(g, (c) => c.sign(key, Readable.from([content]), { armor: true, kind: 'sums', name: SUMS }, content.length));
  const sumsPath = join(dir, SUMS);
  const sigPath = join(dir, `${SUMS}.asc`);
  writeFileAtomic(sumsPath, content, 0o644);
  writeFileAtomic(sigPath, Buffer.from(response.armored ?? '', 'utf8'), 0o644);
  return { sums: sumsPath, signature: sigPath, files: files.length, bytes: total, key: response.key, fingerprint: response.fingerprint };
}
