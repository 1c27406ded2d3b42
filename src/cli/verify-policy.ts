// `signet verify-policy FILE…` (README "CLI", docs/keys.md "Consumer policy"): would today's
// verifiers accept these signatures and keys? Reads detached signatures (binary or armored),
// cleartext-signed files, public or secret key files and RPM packages (every signature of the
// signature header, tag 278 included), offline; one line per file, exit 1 when any is refused.
import type { Command } from 'commander';
import { SignetError } from '../errors.js';
import { dearmor, parseClearsigned, policyFindings, type PolicyFinding } from '../openpgp/index.js';
import { existingSignatures } from '../rpm/signature-header.js';
import { readPackagePrefix } from '../rpm-io/file.js';
import { printJson, printLine, readInputFile, type GlobalOptions } from './common.js';

const RPM_LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);

export interface PolicyReport {
  file: string;
  /** Signature and key packets looked at. */
  packets: number;
  findings: PolicyFinding[];
}

/** The OpenPGP packets a file holds, each as binary. */
function openpgpParts(file: string): Buffer[] {
  const bytes = readInputFile(file);
  if (bytes.subarray(0, 4).equals(RPM_LEAD_MAGIC)) {
    return existingSignatures(readPackagePrefix(file).layout.signatureHeader).map((s) => s.packet);
  }
  const text = bytes.toString('latin1');
  if (text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----') || text.trimStart().startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
    return [parseClearsigned(bytes.toString('utf8')).signature];
  }
  if ((bytes[0] ?? 0) & 0x80) return [bytes];
  const blocks = text.match(/-----BEGIN PGP [A-Z ]+-----[\s\S]*?-----END PGP [A-Z ]+-----/g) ?? [];
  if (blocks.length === 0) throw new SignetError('ARMOR_MALFORMED', `${file}: no OpenPGP data found`);
  return blocks.map((b) => dearmor(b).bytes);
}

export function checkFilePolicy(file: string): PolicyReport {
  const parts = openpgpParts(file);
  const findings: PolicyFinding[] = [];
  for (const part of parts) {
    for (const f of policyFindings(part)) if (!findings.some((g) => g.what === f.what)) findings.push(f);
  }
  return { file, packets: parts.length, findings };
}

export function verifyPolicyAction(files: string[], _opts: unknown, cmd: Command): void {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const reports: PolicyReport[] = [];
  for (const file of files) {
    try {
      reports.push(checkFilePolicy(file));
    } catch (err) {
      const e = err instanceof SignetError ? err : new SignetError('FILE_UNREADABLE', `${file}: cannot be read`);
      if (!g.json) process.stderr.write(`signet: ${file}: ${e.message} (${e.code})\n`);
      reports.push({ file, packets: 0, findings: [{ what: e.message, refusedBy: e.code }] });
    }
  }
  if (g.json) printJson({ files: reports.map((r) => ({ ...r, ok: r.findings.length === 0 })) });
  else {
    for (const r of reports) {
      if (r.findings.length === 0) printLine(`${r.file}: OK (${r.packets === 0 ? 'no signature' : `${r.packets} OpenPGP part${r.packets === 1 ? '' : 's'}`})`);
      else if (r.packets > 0) {
        process.stderr.write(`signet: ${r.file}: ${r.findings.map((f) => `${f.what} (refused by ${f.refusedBy})`).join('; ')} (POLICY_REJECTED)\n`);
      }
    }
  }
  if (reports.some((r) => r.findings.length > 0)) process.exitCode = 1;
}
