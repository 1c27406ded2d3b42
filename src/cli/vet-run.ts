// `signet vet` (docs/vetting.md): run the check here (the trusted worker), or ask the server to
// run it against its mirror (--mirror); then the verdict is logged as a vetting record.
import { spawnSync } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { SignetError } from '../errors.js';
import { publicKeysFromArmor } from '../openpgp/index.js';
import { vetTarball } from '../vet/vet.js';
import { printJson, printLine, readInputFile, regularFileSize, withClient, type GlobalOptions } from './common.js';

interface VetOptions {
  git?: string;
  tag: string;
  keyring?: string;
  allowGenerated?: string[];
  repository?: string;
  name?: string;
  mirror?: string;
  record: boolean;
}

function repositoryName(repo: string): string {
  const r = spawnSync('git', ['-C', repo, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' });
  const url = r.status === 0 ? r.stdout.trim() : '';
  return url !== '' ? url.slice(0, 1024) : basename(repo.replace(/\/+$/, '')) || 'repository';
}

interface Shown {
  readonly verdict: string;
  readonly sha256: string;
  readonly reason?: string;
  readonly problems: ReadonlyArray<{ readonly path: string; readonly change: string; readonly detail?: string }>;
  readonly generated?: readonly string[];
  readonly tag?: string;
  readonly signer?: string;
}

function print(g: GlobalOptions, result: Shown, log?: { index: number; origin: string }): void {
  if (g.json) {
    printJson({ ...result, ...(log ? { log } : {}) });
    return;
  }
  for (const p of result.problems) printLine(`${p.change}\t${p.path}${p.detail ? `\t(${p.detail})` : ''}`);
  for (const f of result.generated ?? []) process.stderr.write(`signet: generated ${f} (allowed)\n`);
  if (result.verdict === 'pass') process.stderr.write(`signet: ${result.tag ?? ''} vetted: sha256:${result.sha256}${result.signer ? `, tag signed by ${result.signer}` : ''}${log ? `, log entry ${log.index}` : ''}\n`);
}

export async function vetAction(tarball: string, opts: VetOptions, cmd: Command): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const allow = opts.allowGenerated ?? [];
  const name = opts.name ?? basename(tarball);
  if (opts.mirror !== undefined) {
    if (opts.git !== undefined || opts.keyring !== undefined) throw new SignetError('USAGE', '--mirror vets on the server: leave out --git and --keyring');
    const size = regularFileSize(tarball);
    const r = await withClient(g, (c) => c.vetOnServer(opts.mirror!, createReadStream(tarball), size, { tag: opts.tag, name, allow }));
    const result = { verdict: r.verdict, sha256: r.sha256, tag: opts.tag, problems: r.problems ?? [], ...(r.reason !== undefined ? { reason: r.reason } : {}) };
    print(g, result, r.log);
    if (r.verdict !== 'pass') throw new SignetError('VET_FAILED', r.reason ?? 'the tarball does not match its tag');
    return;
  }
  if (opts.git === undefined || opts.keyring === undefined) throw new SignetError('USAGE', 'client-side vetting needs --git REPO and --keyring KEYS.asc (or --mirror REPO for the server)');
  const keyring = publicKeysFromArmor(readFileSync(opts.keyring, 'utf8'));
  const result = vetTarball({ tarball: readInputFile(tarball), repo: opts.git, tag: opts.tag, keyring, allowGenerated: allow });
  let log: { index: number; origin: string } | undefined;
  // A record needs the tag object; a tag that does not resolve is a local mistake, not a verdict.
  if (opts.record && result.tagObject !== undefined) {
    const answer = await withClient(g, (c) =>
      c.recordVet({
        name,
        sha256: result.sha256,
        repository: opts.repository ?? repositoryName(opts.git!),
        tag: opts.tag,
        tag_object: result.tagObject,
        ...(result.signer !== undefined ? { tag_signer: result.signer } : {}),
        allowed: allow,
        verdict: result.verdict,
        ...(result.reason !== undefined ? { reason: result.reason.slice(0, 1024) } : {}),
      }),
    );
    log = answer.log;
  }
  print(g, result, log);
  if (result.verdict !== 'pass') throw new SignetError('VET_FAILED', result.reason ?? 'the tarball does not match its tag');
}
