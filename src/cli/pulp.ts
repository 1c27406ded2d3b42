// `signet pulp-sign detached|rpm|apt FILE`: Pulp's signing-service script contracts, signing
// through signet. Pulp runs `[script, FILE]` with an environment of its own
// (pulpcore SigningService.sign: only PULP_SIGNING_KEY_FINGERPRINT and CORRELATION_ID, plus
// PULP_TEMP_WORKING_DIR for apt), parses stdout as JSON and fails on a non-zero exit:
//   detached  pulpcore AsciiArmoredDetachedSigningService: FILE.asc, {"file", "signature"}
//   rpm       pulp_rpm RpmPackageSigningService: FILE signed in place, {"file", "rpm_package"}
//             (the docs say "file", pulp_rpm's code reads "rpm_package": both are printed)
//   apt       pulp_deb AptReleaseSigningService: InRelease + Release.gpg in PULP_TEMP_WORKING_DIR
//             (else next to FILE), {"signatures": {"inline", "detached"}}
// The key is PULP_SIGNING_KEY_FINGERPRINT (a fingerprint or long key ID, as signet-gpg resolves
// it); CORRELATION_ID goes into each signature's log entry. With no environment to carry
// SIGNET_ADDR/SIGNET_TOKEN, the server and token come from the client configuration file:
// `signet pulp-sign install DIR --config FILE` writes the one-argument scripts Pulp registers.
// The rpm and apt signers are imported when a script runs, not at `signet` startup.
import { chmodSync, createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { SignetError, isErrorCode } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import type { SignetClient } from '../client/client.js';
import { makeClient, printJson, regularFileSize, type GlobalOptions } from './common.js';
import { selectKey } from './gpg/keys.js';

export const PULP_TYPES = ['detached', 'rpm', 'apt'] as const;
export type PulpType = (typeof PULP_TYPES)[number];

const SIGNET_BIN = fileURLToPath(new URL('../../bin/signet', import.meta.url));
const SERVICE_CLASS: Record<PulpType, string> = {
  detached: 'core:AsciiArmoredDetachedSigningService',
  rpm: 'rpm:RpmPackageSigningService',
  apt: 'deb:AptReleaseSigningService',
};

/** The signet key PULP_SIGNING_KEY_FINGERPRINT names. */
async function pulpKey(c: SignetClient, env: NodeJS.ProcessEnv): Promise<{ name: string; fingerprint: string }> {
  const spec = env.PULP_SIGNING_KEY_FINGERPRINT?.trim();
  if (!spec) throw new SignetError('USAGE', 'PULP_SIGNING_KEY_FINGERPRINT is not set (Pulp sets it to the signing service key)');
  // pulp_deb's package signing passes the type separately; a "v4:"/"keyid:" prefix is tolerated.
  const key = selectKey((await c.listKeys()).keys, spec.replace(/^(?:v4|keyid):/i, ''));
  return { name: key.name, fingerprint: key.fingerprint };
}

function sameKey(expected: string, actual: string | undefined): void {
  if (actual === undefined || actual.toUpperCase() !== expected.toUpperCase()) {
    throw new SignetError('INTERNAL', 'the server signed with a different key than PULP_SIGNING_KEY_FINGERPRINT; nothing written');
  }
}

export async function pulpSign(c: SignetClient, type: PulpType, file: string, env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const size = regularFileSize(file);
  const key = await pulpKey(c, env);
  switch (type) {
    case 'detached': {
      const response = await c.sign(key.name, createReadStream(file), { kind: 'detached', name: basename(file), armor: true }, size);
      sameKey(key.fingerprint, response.fingerprint);
      if (response.armored === undefined) throw new SignetError('INTERNAL', 'the server returned no armored signature');
      const signature = `${file}.asc`;
      writeFileAtomic(signature, Buffer.from(response.armored, 'utf8'), 0o644);
      return { file, signature };
    }
    case 'rpm': {
      // Pulp's reference script runs `rpm --addsign`, which replaces an existing signature.
      const { signRpmFiles } = await import('./rpm-sign.js');
      const summary = await signRpmFiles(c, key.name, [file], { replace: true });
      const result = summary.files[0];
      if (result?.status !== 'signed') {
        const code = result?.error?.code;
        throw new SignetError(isErrorCode(code) ? code : 'INTERNAL', result?.error?.message ?? 'the package was not signed');
      }
      sameKey(key.fingerprint, summary.fingerprint);
      return { file, rpm_package: file };
    }
    case 'apt': {
      const [{ RELEASE_MAX_BYTES, signReleaseBytes }, { readFileLimited, writeFilesAtomic }] = await Promise.all([
        import('../repo/apt.js'),
        import('../repo/files.js'),
      ]);
      const release = readFileLimited(file, RELEASE_MAX_BYTES);
      const signed = await signReleaseBytes(c, key.name, release, { name: basename(file), asGiven: true });
      sameKey(key.fingerprint, signed.fingerprint);
      const outDir = resolve(env.PULP_TEMP_WORKING_DIR || dirname(resolve(file)));
      const inline = join(outDir, 'InRelease');
      const detached = join(outDir, 'Release.gpg');
      writeFilesAtomic([
        { path: detached, data: signed.releaseGpg },
        { path: inline, data: signed.inRelease },
      ]);
      return { signatures: { inline, detached } };
    }
  }
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** One executable per service type: Pulp registers a script path and calls it with FILE only. */
export function installPulpScripts(dir: string, configFile: string | undefined): string[] {
  const target = resolve(dir);
  mkdirSync(target, { recursive: true, mode: 0o755 });
  return PULP_TYPES.map((type) => {
    const path = join(target, `signet-pulp-${type}`);
    const lines = [
      '#!/bin/sh',
      `# Pulp signing script for ${SERVICE_CLASS[type]}, signing through signet.`,
      '# Written by `signet pulp-sign install`; register it with pulpcore-manager add-signing-service.',
      ...(configFile !== undefined ? [`SIGNET_CONFIG=${shellQuote(resolve(configFile))}`, 'export SIGNET_CONFIG'] : []),
      `exec ${shellQuote(process.execPath)} ${shellQuote(SIGNET_BIN)} pulp-sign ${type} "$1"`,
      '',
    ];
    writeFileSync(path, lines.join('\n'), { mode: 0o755 });
    chmodSync(path, 0o755);
    return path;
  });
}

export function registerPulpCommands(program: Command): void {
  program
    .command('pulp-sign')
    .description("Pulp signing-service scripts: sign FILE as Pulp's detached, rpm or apt service expects; JSON on stdout")
    .argument('<type>', `service type: ${PULP_TYPES.join(', ')} (or "install")`)
    .argument('<file>', 'the file Pulp passes (for install: the directory for the scripts)')
    .option('--config <file>', 'install: client configuration file the scripts use (SIGNET_CONFIG)')
    .action(async (type: string, file: string, opts: { config?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (type === 'install') {
        const scripts = installPulpScripts(file, opts.config);
        printJson({ scripts });
        return;
      }
      if (!(PULP_TYPES as readonly string[]).includes(type)) {
        throw new SignetError('USAGE', `unknown service type ${JSON.stringify(type)}; use ${PULP_TYPES.join(', ')}`);
      }
      const correlationId = process.env.CORRELATION_ID?.trim();
      const c = makeClient(g, correlationId ? { correlationId } : {});
      try {
        const result = await pulpSign(c, type as PulpType, file);
        // Pulp json.loads() the whole of stdout: one JSON document and nothing else.
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } finally {
        c.close();
      }
    });
}
