// v6 keys (--profile rfc9580) made and used through the server, checked by Sequoia's sq 1.4 and
// sqv 1.5 in the sid root (scripts/sid-root.sh): the exported certificate imports into sq and
// rpm 6.1; detached binary, armored and cleartext signatures verify; tampered data and a foreign
// key are refused. Also midstate signing with a v6 key (server-issued salt).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSignaturePacket } from '../../src/openpgp/index.js';
import { openSidRoot, type SidRoot } from '../helpers/sid-root.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { requireTools } from '../helpers/tools.js';

describe('v6 signatures through the server, verified by sq 1.4 and sqv 1.5', () => {
  let dir: string;
  let sid: SidRoot;
  let srv: ServeProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    requireTools('debootstrap');
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-v6-'));
    sid = openSidRoot(dir);
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    for (const [name, algo] of [['v6-ed25519', 'ed25519'], ['v6-ed448', 'ed448'], ['v6-other', 'ed25519']] as const) {
      const created = signet(['key', 'create', name, '--profile', 'rfc9580', '--algo', algo, '--uid', `${name} <${name}@example.org>`, '--json'], { env });
      expect(created.status, created.stderr).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({ profile: 'rfc9580', algorithm: algo });
      expect(JSON.parse(created.stdout).fingerprint).toMatch(/^[0-9A-F]{64}$/);
      writeFileSync(join(dir, `${name}.asc`), signet(['key', 'export', name], { env }).stdout);
    }
  }, 600_000);

  afterAll(async () => {
    sid?.close();
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['v6-ed25519', 'v6-ed448'] as const) {
    describe(name, () => {
      it('the exported certificate is a v6 certificate that sq and rpm 6.1 import', () => {
        const inspect = sid.run(['sq', 'inspect', `${name}.asc`]);
        expect(inspect.status, inspect.stderr).toBe(0);
        expect(inspect.stdout).toMatch(/Public-key algo: (Ed25519|Ed448)/);
        expect(inspect.stdout).toMatch(/Version: 6|Fingerprint: [0-9A-F]{64}/);
        const imported = sid.run(['sq', 'cert', 'import', `${name}.asc`]);
        expect(imported.status, imported.stderr).toBe(0);
        mkdirSync(join(dir, `db-${name}`));
        const rpm = sid.run(['rpmkeys', '--dbpath', `${sid.inside}/db-${name}`, '--import', `${name}.asc`]);
        expect(rpm.status, rpm.stderr).toBe(0);
      });

      it('detached binary and armored signatures verify with sqv and sq; tampering and a foreign key fail', () => {
        const data = join(dir, `${name}.data`);
        writeFileSync(data, Buffer.from('release artifact\n\x00\x01\xff'));
        expect(signet(['sign', '--key', name, '-o', `${data}.sig`, data], { env }).status).toBe(0);
        expect(signet(['sign', '--key', name, '--armor', '-o', `${data}.asc`, data], { env }).status).toBe(0);
        expect(parseSignaturePacket(readFileSync(`${data}.sig`)).version).toBe(6);
        for (const sig of [`${name}.data.sig`, `${name}.data.asc`]) {
          const sqv = sid.run(['sqv', '--keyring', `${name}.asc`, sig, `${name}.data`]);
          expect(sqv.status, sqv.stderr).toBe(0);
          const sq = sid.run(['sq', 'verify', '--signer-file', `${name}.asc`, '--signature-file', sig, `${name}.data`]);
          expect(sq.status, sq.stderr).toBe(0);
          expect(sid.run(['sqv', '--keyring', 'v6-other.asc', sig, `${name}.data`]).status).not.toBe(0);
        }
        writeFileSync(join(dir, `${name}.tampered`), Buffer.from('release artifact\n\x00\x01\xfe'));
        expect(sid.run(['sqv', '--keyring', `${name}.asc`, `${name}.data.sig`, `${name}.tampered`]).status).not.toBe(0);
        expect(sid.run(['sq', 'verify', '--signer-file', `${name}.asc`, '--signature-file', `${name}.data.asc`, `${name}.tampered`]).status).not.toBe(0);
      });

      it('cleartext signatures verify with sq and sqv (no Hash header for v6); an edited text and a foreign key fail', () => {
        const text = join(dir, `${name}.txt`);
        writeFileSync(text, 'Origin: signet\n-----BEGIN not a header\nSHA256:\n abc 12 main/Packages\n');
        const r = signet(['sign', '--key', name, '--clearsign', '-o', `${text}.asc`, text], { env });
        expect(r.status, r.stderr).toBe(0);
        const signed = readFileSync(`${text}.asc`, 'utf8');
        expect(signed).not.toMatch(/^Hash:/m);
        const ok = sid.run(['sq', 'verify', '--signer-file', `${name}.asc`, '--cleartext', `${name}.txt.asc`]);
        expect(ok.status, ok.stderr).toBe(0);
        expect(ok.stdout).toContain('-----BEGIN not a header');
        const sqv = sid.run(['sqv', '--keyring', `${name}.asc`, '--output', `${name}.sqv.out`, '--overwrite', '--cleartext', `${name}.txt.asc`]);
        expect(sqv.status, sqv.stderr).toBe(0);
        // The signed text (the line ending before the signature is not part of it, RFC 9580 §7.2).
        expect(readFileSync(join(dir, `${name}.sqv.out`), 'utf8')).toBe(readFileSync(text, 'utf8').replace(/\n$/, ''));
        writeFileSync(join(dir, `${name}.edited.asc`), signed.replace('abc 12', 'abd 12'));
        expect(sid.run(['sq', 'verify', '--signer-file', `${name}.asc`, '--cleartext', `${name}.edited.asc`]).status).not.toBe(0);
        expect(sid.run(['sqv', '--keyring', `${name}.asc`, '--output', 'x.out', '--overwrite', '--cleartext', `${name}.edited.asc`]).status).not.toBe(0);
        expect(sid.run(['sqv', '--keyring', 'v6-other.asc', '--output', 'x.out', '--overwrite', '--cleartext', `${name}.txt.asc`]).status).not.toBe(0);
      });
    });
  }

  it('midstate signing with a v6 key: a server-issued salt, the file hashed here, the signature verifies with sqv', () => {
    // A key for detached signatures only (a key that may sign rpm never takes midstates).
    expect(signet(['key', 'create', 'v6-mid', '--profile', 'rfc9580', '--purpose', 'detached', '--uid', 'mid <mid@example.org>'], { env }).status).toBe(0);
    writeFileSync(join(dir, 'v6-mid.asc'), signet(['key', 'export', 'v6-mid'], { env }).stdout);
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(3 << 20, 7));
    const r = signet(['sign', '--key', 'v6-mid', '--midstate-threshold', '1M', '-o', `${big}.sig`, big], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/sending the whole file/);
    // Only the hash state crossed the wire, and the log has the file's own SHA-512.
    const json = signet(['sign', '--key', 'v6-mid', '--midstate-threshold', '1M', '--json', '-o', `${big}.2.sig`, big], { env });
    expect(json.status, json.stderr).toBe(0);
    const answer = JSON.parse(json.stdout);
    expect(answer.artifact.sha512).toBe(createHash('sha512').update(readFileSync(big)).digest('hex'));
    expect(sid.run(['sqv', '--keyring', 'v6-mid.asc', 'big.bin.2.sig', 'big.bin']).status).toBe(0);
    expect(sid.run(['sqv', '--keyring', 'v6-mid.asc', 'big.bin.sig', 'big.bin']).status).toBe(0);
  });
});
