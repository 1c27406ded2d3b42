// `signet rpm verify` (README "CLI"), loaded when the command runs: the checks
// `rpmkeys -Kv` makes (src/rpm-io/verify.ts), against the server's keys or an offline keyring.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { publicKeysFromArmor, type PublicKeyInfo } from '../openpgp/index.js';
import { fileError } from '../rpm-io/file.js';
import { verifyRpmFile, type RpmVerifyResult } from '../rpm-io/verify.js';
import type { SignetClient } from '../client/client.js';
import { printJson, printLine, withClient, type GlobalOptions } from './common.js';

async function serverKeys(client: SignetClient, key: string | undefined): Promise<PublicKeyInfo[]> {
  const names = key !== undefined ? [key] : (await client.listKeys()).keys.map((k) => k.name);
  const armored = await Promise.all(names.map((n) => client.exportKey(n)));
  return armored.flatMap(publicKeysFromArmor);
}

// ---- command --------------------------------------------------------------------------------

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export async function rpmVerifyAction(files: string[], opts: { key?: string; keyring?: string[] }, cmd: Command): Promise<void> {
  const g = globals(cmd);
  let keys: PublicKeyInfo[];
  if (opts.keyring !== undefined) {
    keys = opts.keyring.flatMap((f) => {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (err) {
        throw fileError(f, err);
      }
      return publicKeysFromArmor(text);
    });
  } else {
    keys = await withClient(g, (c) => serverKeys(c, opts.key));
  }
  const results: RpmVerifyResult[] = [];
  for (const file of files) {
    const r = await verifyRpmFile(file, keys);
    results.push(r);
    if (g.json) continue;
    printLine(`${file}:`);
    for (const c of r.checks) printLine(`    ${c.what}: ${c.result}`);
    if (r.error) printLine(`    ${r.error.message} (${r.error.code})`);
  }
  if (g.json) printJson({ verified: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, files: results });
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}
