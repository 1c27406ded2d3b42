// A throwaway SoftHSM2 token per test file: its own softhsm2.conf and token directory in a temp
// dir, initialised with softhsm2-util, a random PIN written to a 0600 file (never printed).
// SoftHSM reads SOFTHSM2_CONF when the module is initialised, so in-process tests set it in
// process.env before the first token is opened; one token directory serves a whole test file.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTools } from './tools.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsm {
  readonly dir: string;
  readonly conf: string;
  readonly module: string;
  /** Environment for a child process that opens the token. */
  readonly env: Record<string, string>;
  /** Initialises a new token with a random PIN; returns its label and PIN file. */
  addToken(label: string): { label: string; pinFile: string };
  /** Moves the token directory away (a data dir copied without its token), or back. */
  hideTokens(): void;
  restoreTokens(): void;
  remove(): void;
}

export function createSoftHsm(): SoftHsm {
  requireTools('softhsm2-util');
  const dir = mkdtempSync(join(tmpdir(), 'signet-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, { mode: 0o600 });
  const env = { SOFTHSM2_CONF: conf };
  return {
    dir,
    conf,
    module: SOFTHSM_MODULE,
    env,
    addToken(label) {
      const pin = randomBytes(12).toString('hex');
      const soPin = randomBytes(12).toString('hex');
      const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      // Output without the PINs: softhsm2-util does not echo them, but be sure.
      if (r.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${(r.stderr || r.stdout).replaceAll(pin, '***').replaceAll(soPin, '***')}`);
      const pinFile = join(dir, `${label}.pin`);
      writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
      return { label, pinFile };
    },
    hideTokens() {
      spawnSync('mv', [tokens, `${tokens}.away`]);
      mkdirSync(tokens, { mode: 0o700 });
    },
    restoreTokens() {
      rmSync(tokens, { recursive: true, force: true });
      spawnSync('mv', [`${tokens}.away`, tokens]);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
