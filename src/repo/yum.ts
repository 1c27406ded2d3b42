// yum/dnf repositories: `repodata/repomd.xml` -> `repodata/repomd.xml.asc`, an armored detached
// signature, as createrepo_c users publish for `repo_gpgcheck=1` (librepo checks it against the
// repository's `gpgkey=`). repomd.xml names every other metadata file with its checksum, so its
// signature covers the whole repository metadata (and, through primary.xml, each package's
// checksum).
import { join } from 'node:path';
import { SignetError } from '../errors.js';
import { CheckedSigner, type RepoSignClient } from './signer.js';
import { readSigningInput, writeFilesAtomic } from './files.js';

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
  // Scanned with indexOf, each character looked at a bounded number of times: a lazy
  // <data ...>[\s\S]*?</data> expression rescans to the end of the text for every unclosed
  // <data, which is quadratic in a repomd.xml made of them.
  const opening = /<data[\s>]/g;
  let opened = 0;
  let from = 0;
  for (let m = opening.exec(xml); m !== null; m = opening.exec(xml)) {
    opened++;
    if (m.index < from) throw new SignetError('BODY_INVALID', 'repomd.xml has a <data> element inside another');
    const close = xml.indexOf('</data>', m.index);
    if (close === -1) throw new SignetError('BODY_INVALID', 'repomd.xml has a <data> element that is not closed');
    const element = xml.slice(m.index, close);
    const head = /^<data\s+type="([^"]+)"\s*>/.exec(element);
    if (!head) throw new SignetError('BODY_INVALID', 'repomd.xml has <data> elements that could not be read');
    const body = element.slice(head[0].length);
    const checksum = firstElement(body, 'checksum');
    const location = firstTag(body, 'location');
    const checksumType = checksum && /\stype="([^"]+)"/.exec(checksum.tag)?.[1];
    const checksumValue = checksum && /^\s*([0-9a-fA-F]+)\s*$/.exec(checksum.content)?.[1];
    const href = location && /\shref="([^"]+)"/.exec(location)?.[1];
    if (!checksumType || !checksumValue || !href) throw new SignetError('BODY_INVALID', `repomd.xml entry ${head[1]} lacks a checksum or location`);
    entries.push({ type: unescapeXml(head[1]!), href: unescapeXml(href), checksumType, checksum: checksumValue.toLowerCase() });
    from = close + '</data>'.length;
    opening.lastIndex = Math.max(opening.lastIndex, m.index + 1);
  }
  if (opened !== entries.length) throw new SignetError('BODY_INVALID', 'repomd.xml has <data> elements that could not be read');
  return entries;
}

/** The first <NAME ...> start tag in `text` (its attributes part), found with indexOf. */
function firstTag(text: string, name: string): string | null {
  const at = /<([a-z]+)[\s>/]/g;
  for (let m = at.exec(text); m !== null; m = at.exec(text)) {
    if (m[1] !== name) continue;
    const end = text.indexOf('>', m.index);
    return end === -1 ? null : text.slice(m.index + name.length + 1, end);
  }
  return null;
}

/** The first <NAME ...>content</NAME> in `text`. */
function firstElement(text: string, name: string): { tag: string; content: string } | null {
  const tag = firstTag(text, name);
  if (tag === null) return null;
  const start = text.indexOf(`<${name}${tag}>`) + name.length + tag.length + 2;
  const end = text.indexOf(`</${name}>`, start);
  return end === -1 ? null : { tag, content: text.slice(start, end) };
}

/** `signet repo sign yum DIR`: DIR/repodata/repomd.xml -> repomd.xml.asc. */
export async function signYumRepo(client: RepoSignClient, key: string, dir: string): Promise<YumSignResult> {
  const repomd = join(dir, 'repodata', 'repomd.xml');
  const bytes = readSigningInput(repomd, REPOMD_MAX_BYTES);
  if (bytes.length === 0) throw new SignetError('BODY_EMPTY', `${repomd} is empty`);
  repomdEntries(bytes.toString('utf8'));
  const signer = new CheckedSigner(client, key);
  const signed = await signer.detached(bytes, 'yum', 'repomd.xml', { armor: true });
  const signature = `${repomd}.asc`;
  writeFilesAtomic([{ path: signature, data: Buffer.from(signed.armored ?? '', 'utf8') }]);
  return { repomd, signature, fingerprint: signed.fingerprint, logIndex: signed.logIndex !== undefined ? [signed.logIndex] : [] };
}
