// yum/dnf repositories: `repodata/repomd.xml` -> `repodata/repomd.xml.asc`, an armored detached
// signature, as createrepo_c users publish for `repo_gpgcheck=1` (librepo checks it against the
// repository's `gpgkey=`). repomd.xml names every other metadata file with its checksum, so its
// signature covers the whole repository metadata (and, through primary.xml, each package's
// checksum).
import { join } from 'node:path';
import { SignetError } from '../errors.js';
import { CheckedSigner, type RepoSignClient } from './signer.js';
import { readFileLimited, writeFilesAtomic } from './files.js';

export const REPOMD_MAX_BYTES = 16 * 1024 * 1024;

export interface YumSignResult {
  readonly repomd: string;
  readonly signature: string;
  readonly fingerprint: string;
  readonly logIndex: number[];
}

export interface RepomdEntry {
  readonly type: string;
  /** Path relative to the repository root, e.g. repodata/…-primary.xml.gz */
  readonly href: string;
  readonly checksumType: string;
  readonly checksum: string;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|apos);/g, (_m, name: string) => XML_ENTITIES[name]!);
}

/**
 * The <data> entries of a repomd.xml: type, location and (compressed-file) checksum. A small
 * parser for createrepo_c's fixed layout; anything it cannot read is an error, never skipped.
 */
export function repomdEntries(xml: string): RepomdEntry[] {
  if (!/<repomd[\s>]/.test(xml)) throw new SignetError('BODY_INVALID', 'repomd.xml has no <repomd> element');
  const entries: RepomdEntry[] = [];
  for (const m of xml.matchAll(/<data\s+type="([^"]+)"\s*>([\s\S]*?)<\/data>/g)) {
    const body = m[2]!;
    const checksum = /<checksum\s+type="([^"]+)"\s*>\s*([0-9a-fA-F]+)\s*<\/checksum>/.exec(body);
    const location = /<location\s+(?:[^>]*\s)?href="([^"]+)"/.exec(body);
    if (!checksum || !location) throw new SignetError('BODY_INVALID', `repomd.xml entry ${m[1]} lacks a checksum or location`);
    entries.push({ type: unescapeXml(m[1]!), href: unescapeXml(location[1]!), checksumType: checksum[1]!, checksum: checksum[2]!.toLowerCase() });
  }
  const opened = xml.match(/<data[\s>]/g)?.length ?? 0;
  if (opened !== entries.length) throw new SignetError('BODY_INVALID', 'repomd.xml has <data> elements that could not be read');
  return entries;
}

/** `signet repo sign yum DIR`: DIR/repodata/repomd.xml -> repomd.xml.asc. */
export async function signYumRepo(client: RepoSignClient, key: string, dir: string): Promise<YumSignResult> {
  const repomd = join(dir, 'repodata', 'repomd.xml');
  const bytes = readFileLimited(repomd, REPOMD_MAX_BYTES);
  if (bytes.length === 0) throw new SignetError('BODY_EMPTY', `${repomd} is empty`);
  repomdEntries(bytes.toString('utf8'));
  const signer = new CheckedSigner(client, key);
  const signed = await signer.detached(bytes, 'yum', 'repomd.xml', { armor: true });
  const signature = `${repomd}.asc`;
  writeFilesAtomic([{ path: signature, data: Buffer.from(signed.armored ?? '', 'utf8') }]);
  return { repomd, signature, fingerprint: signed.fingerprint, logIndex: signed.logIndex !== undefined ? [signed.logIndex] : [] };
}
