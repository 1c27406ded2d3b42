// Shared setup for the signet-gpg interop tests: a real `signet serve`, an RSA-4096 and an
// Ed25519 key (plus a third key the tests never trust), their armored public keys on disk, and
// helpers to read the transparency log.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { dearmor } from '../../src/openpgp/index.js';
import { ROOT, requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';

export const SHIM = join(ROOT, 'bin', 'signet-gpg');

export interface ShimKey {
  name: string;
  fingerprint: string;
  userId: string;
  email: string;
  publicKeyFile: string;
}

export interface ShimSetup {
  dir: string;
  srv: ServeProcess;
  /** SIGNET_ADDR and SIGNET_TOKEN for the shim. */
  env: Record<string, string>;
  keys: { rsa: ShimKey; ed: ShimKey; other: ShimKey };
  close(): Promise<void>;
}

export interface SignatureEntry {
  sig_kind: string;
  key_fingerprint: string;
  artifact: { name: string; digest_hex: string; nevra?: string };
  signature_sha256: string;
  correlation_id?: string;
}

export async function startShimServer(prefix: string): Promise<ShimSetup> {
  requireBuild();
  const dir = mkdtempSync(join(tmpdir(), `signet-${prefix}-`));
  const srv = await serveProcess({ dataDir: join(dir, 'data') });
  const env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
  const make = (name: string, algo: string): ShimKey => {
    const email = `${name}@signet.test`;
    const userId = `Release ${name} <${email}>`;
    const r = signet(['key', 'create', name, '--algo', algo, '--uid', userId, '--json'], { env });
    expect(r.status, r.stderr).toBe(0);
    const { fingerprint } = JSON.parse(r.stdout) as { fingerprint: string };
    const publicKeyFile = join(dir, `${name}.asc`);
    writeFileSync(publicKeyFile, signet(['key', 'export', name], { env }).stdout);
    return { name, fingerprint, userId, email, publicKeyFile };
  };
  const keys = { rsa: make('rel-rsa', 'rsa4096'), ed: make('rel-ed', 'ed25519'), other: make('other', 'ed25519') };
  return {
    dir,
    srv,
    env,
    keys,
    async close() {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** fetch, retried when a pooled keep-alive connection was closed by the server as it was reused. */
async function fetchRetrying(url: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url);
    } catch (err) {
      if (attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Every signature entry in the log, oldest first. */
export async function signatureEntries(addr: string): Promise<SignatureEntry[]> {
  const out: SignatureEntry[] = [];
  for (let start = 0; ; start += 1000) {
    const res = await fetchRetrying(`${addr}/v1/log/entries?start=${start}&end=${start + 1000}`);
    if (res.status !== 200) break;
    const { entries } = (await res.json()) as { entries: string[] };
    for (const e of entries) {
      const entry = JSON.parse(Buffer.from(e, 'base64').toString('utf8')) as { kind: string } & SignatureEntry;
      if (entry.kind === 'signature') out.push(entry);
    }
    if (entries.length < 1000) break;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SHA-256 of a signature packet, as the log records it (signature_sha256). */
export function packetSha256(packet: Buffer): string {
  return createHash('sha256').update(packet).digest('hex');
}

/** The packet inside the first armored PGP SIGNATURE block of `text` (a git object header's
 *  continuation lines start with one space, which is dropped). */
export function armoredSignatureSha256(text: string): string {
  const m = /-----BEGIN PGP SIGNATURE-----[\s\S]*?-----END PGP SIGNATURE-----/.exec(text);
  if (!m) throw new Error('no armored signature found');
  return packetSha256(dearmor(m[0].replace(/\n /g, '\n')).bytes);
}

/** The log entries of these signatures (by packet SHA-256), once all are integrated; in order. */
export async function entriesFor(addr: string, signatureSha256s: readonly string[]): Promise<SignatureEntry[]> {
  const until = Date.now() + 20_000;
  for (;;) {
    const entries = await signatureEntries(addr);
    const found = signatureSha256s.map((sha) => entries.find((e) => e.signature_sha256 === sha));
    if (found.every((e) => e !== undefined) || Date.now() > until) {
      expect(found.filter((e) => e === undefined).length, 'signatures missing from the log').toBe(0);
      return found as SignatureEntry[];
    }
    await sleep(100);
  }
}

/** The number of signature entries once integration is idle (the log integrates every 500 ms). */
export async function settledSignatureCount(addr: string): Promise<number> {
  let last = -1;
  for (;;) {
    const count = (await signatureEntries(addr)).length;
    if (count === last) return count;
    last = count;
    await sleep(1200);
  }
}

/**
 * The signature entries after the first `skip`, once at least `count` of them are integrated
 * and integration is idle again (GET /v1/log/entries serves integrated entries; a signature is
 * durable before it returns, and integrated within the next batch), so that an entry beyond
 * `count` is seen too.
 */
export async function newSignatureEntries(addr: string, skip: number, count: number): Promise<SignatureEntry[]> {
  const until = Date.now() + 20_000;
  for (;;) {
    const entries = (await signatureEntries(addr)).slice(skip);
    if (entries.length >= count || Date.now() > until) break;
    await sleep(100);
  }
  await settledSignatureCount(addr);
  return (await signatureEntries(addr)).slice(skip);
}
