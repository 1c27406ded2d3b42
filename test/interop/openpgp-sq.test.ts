// Sequoia (sq) as a second independent OpenPGP implementation: our keys, detached binary,
// armored, canonical-text and cleartext signatures verify; tampered data and a foreign key fail.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  armor,
  canonicalText,
  clearsignedMessage,
  defaultHash,
  generateKey,
  signDetached,
  type GeneratedKey,
  type KeyAlgorithm,
} from '../../src/openpgp/index.js';
import { requireTools } from '../helpers/tools.js';

describe.each(['rsa4096', 'ed25519'] as const)('sq verifies %s signatures', (algorithm: KeyAlgorithm) => {
  let dir: string;
  let key: GeneratedKey;
  let foreign: GeneratedKey;
  const keyFile = (): string => join(dir, 'key.asc');
  const foreignFile = (): string => join(dir, 'foreign.asc');

  beforeAll(async () => {
    requireTools('sq');
    dir = mkdtempSync(join(tmpdir(), 'signet-sq-'));
    key = await generateKey({ algorithm, userId: `sq test <sq-${algorithm}@example.org>` });
    foreign = await generateKey({ algorithm, userId: 'foreign <foreign@example.org>' });
    writeFileSync(keyFile(), armor('PUBLIC KEY BLOCK', key.transferablePublicKey));
    writeFileSync(foreignFile(), armor('PUBLIC KEY BLOCK', foreign.transferablePublicKey));
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function sqVerify(signer: string, data: Buffer | string, signature: Buffer | string): number {
    const dataFile = join(dir, 'data');
    const sigFile = join(dir, 'sig');
    writeFileSync(dataFile, data);
    writeFileSync(sigFile, signature);
    return spawnSync('sq', ['verify', '--signer-cert', signer, '--detached', sigFile, dataFile], { encoding: 'utf8' }).status ?? -1;
  }

  const params = (type: 0 | 1) => ({ type, hashAlgorithm: defaultHash(algorithm), creationTime: Math.floor(Date.now() / 1000), signer: key.info });

  it('sq inspects the transferable public key', () => {
    const r = spawnSync('sq', ['inspect', keyFile()], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.replace(/\s/g, '')).toContain(key.info.fingerprint.toString('hex').toUpperCase());
    expect(r.stdout).toMatch(/signing/i);
  });

  it('binary and armored detached signatures verify; tampering and a foreign key fail', async () => {
    const data = Buffer.from('release artifact\n\x00\x01');
    const sig = await signDetached(data, key.privateKey, params(0));
    expect(sqVerify(keyFile(), data, sig)).toBe(0);
    expect(sqVerify(keyFile(), data, armor('SIGNATURE', sig))).toBe(0);
    expect(sqVerify(keyFile(), Buffer.concat([data, Buffer.from('x')]), sig)).not.toBe(0);
    expect(sqVerify(foreignFile(), data, sig)).not.toBe(0);
  });

  it('canonical-text and cleartext signatures verify', async () => {
    const text = '- dash\nFrom me  \ntab\t\r\nUnicode ✓\nno final newline';
    // A detached 0x01 signature covers the text with CRLF line ends (RFC 9580 §5.2.1.2); only the
    // cleartext framework also strips trailing whitespace, so this text has none.
    const plain = '- dash\nFrom me\r\nUnicode ✓\nno final newline';
    const detached = await signDetached(canonicalText(plain), key.privateKey, params(1));
    expect(sqVerify(keyFile(), plain, detached)).toBe(0);
    expect(sqVerify(keyFile(), `${plain}!`, detached)).not.toBe(0);
    const sig = await signDetached(canonicalText(text), key.privateKey, params(1));
    const clear = clearsignedMessage(text, armor('SIGNATURE', sig), defaultHash(algorithm));
    const clearFile = join(dir, 'clear.asc');
    writeFileSync(clearFile, clear);
    const ok = spawnSync('sq', ['verify', '--signer-cert', keyFile(), clearFile], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    writeFileSync(clearFile, clear.replace('Unicode', 'Unicodf'));
    expect(spawnSync('sq', ['verify', '--signer-cert', keyFile(), clearFile]).status).not.toBe(0);
  });
});
