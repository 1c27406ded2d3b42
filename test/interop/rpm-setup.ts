// Shared setup for the rpm interop tests: a fresh corpus of real unsigned packages from
// scripts/make-rpm-corpus.sh and a throwaway GNUPGHOME with RSA-4096 and Ed25519 keys.
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** The project's corpus builder (SIGNET_CORPUS_SCRIPT overrides). */
export const MK_RPMS = process.env.SIGNET_CORPUS_SCRIPT ?? fileURLToPath(new URL('../../scripts/make-rpm-corpus.sh', import.meta.url));

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: Uint8Array } = {}): Run {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...opts.env }, input: opts.input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function mustRun(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: Uint8Array } = {}): Run {
  const r = run(cmd, args, opts);
  // Name the command only: outputs can hold machine paths.
  if (r.status !== 0) throw new Error(`${cmd} ${args[0] ?? ''} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  return r;
}

export interface Workspace {
  dir: string;
  corpus: string[];
  /** Fresh copies of the corpus in `to` (created), to sign without touching the originals. */
  copyCorpus(to: string): string[];
  cleanup(): void;
}

/** mkdtemp + the small corpus (8 packages, a few seconds). */
export function makeWorkspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'signet-rpm-'));
  const corpusDir = join(dir, 'corpus');
  mustRun('bash', [MK_RPMS, corpusDir, 'small']);
  const corpus = readdirSync(corpusDir)
    .filter((f) => f.endsWith('.rpm'))
    .sort()
    .map((f) => join(corpusDir, f));
  const copyCorpus = (to: string): string[] => {
    mkdirSync(to, { recursive: true });
    return corpus.map((f) => {
      const dest = join(to, basename(f));
      copyFileSync(f, dest);
      return dest;
    });
  };
  return { dir, corpus, copyCorpus, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Keyring {
  env: NodeJS.ProcessEnv;
  rsa: string;
  ed25519: string;
  /** Armored public keys, written into the workspace. */
  rsaPublic: string;
  ed25519Public: string;
  /** Stop the gpg-agent this keyring started (call before removing the workspace). */
  stopAgent(): void;
}

function fingerprintOf(env: NodeJS.ProcessEnv, uid: string): string {
  const out = mustRun('gpg', ['--batch', '--with-colons', '--list-keys', uid], { env }).stdout;
  const fpr = out.split('\n').find((l) => l.startsWith('fpr:'));
  if (!fpr) throw new Error(`no fingerprint for ${uid}`);
  return fpr.split(':')[9]!;
}

export function makeKeyring(dir: string): Keyring {
  const home = join(dir, 'gnupg');
  mustRun('mkdir', ['-m', '700', home]);
  const env = { GNUPGHOME: home };
  mustRun('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'signet rsa <rsa@signet.test>', 'rsa4096', 'sign', 'never'], { env });
  mustRun('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'signet ed <ed@signet.test>', 'ed25519', 'sign', 'never'], { env });
  const rsa = fingerprintOf(env, 'rsa@signet.test');
  const ed25519 = fingerprintOf(env, 'ed@signet.test');
  const rsaPublic = join(dir, 'rsa.asc');
  const ed25519Public = join(dir, 'ed25519.asc');
  writeFileSync(rsaPublic, mustRun('gpg', ['--batch', '--armor', '--export', rsa], { env }).stdout);
  writeFileSync(ed25519Public, mustRun('gpg', ['--batch', '--armor', '--export', ed25519], { env }).stdout);
  const stopAgent = () => void run('gpgconf', ['--kill', 'gpg-agent'], { env });
  return { env, rsa, ed25519, rsaPublic, ed25519Public, stopAgent };
}

/** rpmsign as docs/formats.md "How the tools call gpg" documents it; Debian's default %__gpg (/usr/bin/gpg2) does not exist. */
export function rpmsign(keyring: Keyring, fingerprint: string, file: string): void {
  mustRun('rpmsign', ['--define', `_gpg_name ${fingerprint}`, '--define', '__gpg /usr/bin/gpg', '--addsign', file], { env: keyring.env });
}

/** `rpmkeys -Kv` against a fresh rpmdb holding only `publicKeys`. */
export function rpmkeysCheck(dir: string, name: string, publicKeys: string[], file: string): Run {
  const db = join(dir, `rpmdb-${name}`);
  mustRun('mkdir', ['-p', db]);
  for (const key of publicKeys) mustRun('rpmkeys', ['--dbpath', db, '--import', key]);
  return run('rpmkeys', ['--dbpath', db, '-Kv', file]);
}
