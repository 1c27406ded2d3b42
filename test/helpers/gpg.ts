// Run real gpg in a throwaway GNUPGHOME. Used by interop tests to accept or refuse our output.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GpgResult {
  status: number;
  stdout: string;
  stderr: string;
  statusLines: string[];
}

export class Gpg {
  readonly home: string;

  constructor() {
    this.home = mkdtempSync(join(tmpdir(), 'signet-gnupg-'));
  }

  run(args: string[], input?: Buffer | string): GpgResult {
    const r = spawnSync('gpg', ['--homedir', this.home, '--batch', '--no-tty', '--status-fd', '2', ...args], {
      input,
      env: { ...process.env, LC_ALL: 'C' },
    });
    const stderr = Buffer.from(r.stderr).toString('utf8');
    return {
      status: r.status ?? -1,
      stdout: Buffer.from(r.stdout).toString('utf8'),
      stderr,
      statusLines: stderr.split('\n').filter((l) => l.startsWith('[GNUPG:] ')),
    };
  }

  importKey(armored: string | Buffer): void {
    const r = this.run(['--import'], armored);
    if (r.status !== 0) throw new Error(`gpg --import failed: ${r.stderr}`);
  }

  /** Verify a detached signature; `ok` only with exit 0 and a GOODSIG + VALIDSIG status. */
  verifyDetached(signature: Buffer | string, data: Buffer | string): GpgResult & { ok: boolean } {
    const dir = mkdtempSync(join(tmpdir(), 'signet-verify-'));
    try {
      const sigPath = join(dir, 'sig');
      const dataPath = join(dir, 'data');
      writeFileSync(sigPath, signature);
      writeFileSync(dataPath, data);
      const r = this.run(['--trust-model', 'always', '--verify', sigPath, dataPath]);
      return { ...r, ok: r.status === 0 && has(r, 'GOODSIG') && has(r, 'VALIDSIG') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Verify a cleartext-signed document. */
  verifyClearsigned(document: string): GpgResult & { ok: boolean } {
    const r = this.run(['--trust-model', 'always', '--verify'], document);
    return { ...r, ok: r.status === 0 && has(r, 'GOODSIG') && has(r, 'VALIDSIG') };
  }

  close(): void {
    spawnSync('gpgconf', ['--homedir', this.home, '--kill', 'all'], { stdio: 'ignore' });
    rmSync(this.home, { recursive: true, force: true });
  }
}

function has(r: GpgResult, keyword: string): boolean {
  return r.statusLines.some((l) => l.startsWith(`[GNUPG:] ${keyword} `));
}
