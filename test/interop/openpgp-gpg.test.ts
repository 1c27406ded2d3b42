// gpg 2.2 accepts what src/openpgp makes: keys from generateKey (RSA-4096 and Ed25519) import
// with valid self-signatures; detached binary, armored, canonical-text and clearsigned
// signatures verify (GOODSIG + VALIDSIG, exit 0); tampered data and foreign keys are refused.
// Keys imported from gpg exports sign, and gpg verifies. The Ed25519 golden vector's checked-in
// signature verifies with gpg.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  armor,
  canonicalText,
  dearmor,
  parseTransferablePublicKey,
  verifyDetachedStream,
  clearsignedMessage,
  defaultHash,
  generateKey,
  importSecretKey,
  signDetached,
  type GeneratedKey,
  type KeyAlgorithm,
  type SignatureParams,
} from '../../src/openpgp/index.js';
import { Secret } from '../../src/secret.js';
import { Gpg } from '../helpers/gpg.js';
import { requireTools } from '../helpers/tools.js';

const FIXTURES = new URL('../fixtures/openpgp/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));

const keys = {} as Record<KeyAlgorithm, GeneratedKey>;
let foreign: GeneratedKey;
let gpg: Gpg;

/** Texts that trip up cleartext handling (docs/formats.md "Text"). */
const AWKWARD_TEXTS: Record<string, string> = {
  dashes: '- starts with dash-space\n-----BEGIN PGP SIGNATURE-----\n--\n-\n',
  from: 'From the start\nFrom: header-like\n>From quoted\n',
  trailingWhitespace: 'spaces   \ntabs\t\t\nmixed \t \n\n\nend\n',
  crlf: 'line one\r\nline two\r\n\r\nlast\r\n',
  noFinalNewline: 'first\nlast line without newline',
  unicode: 'Grüße — ✓ 署名 🙂\n\u00a0nbsp\u2028sep\n',
};

beforeAll(async () => {
  requireTools('gpg');
  [keys.rsa4096, keys.ed25519, foreign] = await Promise.all([
    generateKey({ algorithm: 'rsa4096', userId: 'signet interop RSA <rsa@test.invalid>' }),
    generateKey({ algorithm: 'ed25519', userId: 'signet interop Ed25519 ✓ <ed@test.invalid>' }),
    generateKey({ algorithm: 'ed25519', userId: 'not imported <foreign@test.invalid>' }),
  ]);
  gpg = new Gpg();
  gpg.importKey(armor('PUBLIC KEY BLOCK', keys.rsa4096.transferablePublicKey));
  gpg.importKey(armor('PUBLIC KEY BLOCK', keys.ed25519.transferablePublicKey));
});

afterAll(() => gpg?.close());

describe.each(['rsa4096', 'ed25519'] as const)('%s', (algorithm) => {
  const params = (type: 0 | 1): SignatureParams => ({
    type, hashAlgorithm: defaultHash(algorithm), creationTime: Math.floor(Date.now() / 1000), signer: keys[algorithm].info,
  });
  const fpr = (): string => keys[algorithm].info.fingerprint.toString('hex').toUpperCase();

  test('gpg imports the key: same fingerprint, sign capability, valid self-signature', () => {
    const listing = gpg.run(['--with-colons', '--list-keys', fpr()]);
    expect(listing.status).toBe(0);
    const pub = listing.stdout.split('\n').find((l) => l.startsWith('pub:'))!.split(':');
    // Colon listing: field 3 is the key length, field 4 the algorithm (gpg doc/DETAILS).
    expect(pub[2]).toBe(algorithm === 'rsa4096' ? '4096' : '255');
    expect(pub[3]).toBe(algorithm === 'rsa4096' ? '1' : '22');
    expect(pub[11]).toContain('s');
    expect(listing.stdout).toContain(`fpr:::::::::${fpr()}:`);
    const checked = gpg.run(['--check-sigs', fpr()]);
    expect(checked.stdout).toMatch(/^sig!3? /m); // "!" = the certification verified
    expect(checked.stdout).not.toMatch(/^sig-/m);
  });

  test('detached binary signature (0x00): good; tampered data and a foreign key are refused', async () => {
    const data = Buffer.from('artifact \x00\x01\x02 bytes\n');
    const signature = await signDetached(data, keys[algorithm].privateKey, params(0));
    const good = gpg.verifyDetached(signature, data);
    expect(good.ok).toBe(true);
    expect(good.statusLines.join('\n')).toContain(`VALIDSIG ${fpr()}`);

    const bad = gpg.verifyDetached(signature, Buffer.concat([data, Buffer.from('!')]));
    expect(bad.ok).toBe(false);
    expect(bad.status).not.toBe(0);
    expect(bad.statusLines.some((l) => l.startsWith('[GNUPG:] BADSIG '))).toBe(true);

    const foreignSignature = await signDetached(data, foreign.privateKey, { ...params(0), signer: foreign.info });
    const unknown = gpg.verifyDetached(foreignSignature, data);
    expect(unknown.ok).toBe(false);
    expect(unknown.status).not.toBe(0);
    expect(unknown.statusLines.some((l) => l.startsWith('[GNUPG:] NO_PUBKEY '))).toBe(true);
  });

  test('armored detached signature verifies', async () => {
    const data = Buffer.from('armored please\n');
    const signature = await signDetached(data, keys[algorithm].privateKey, params(0));
    expect(gpg.verifyDetached(armor('SIGNATURE', signature), data).ok).toBe(true);
  });

  test.each(Object.entries(AWKWARD_TEXTS))('canonical-text (0x01) detached signature over %s text', async (_name, text) => {
    const data = Buffer.from(text);
    const signature = await signDetached(data, keys[algorithm].privateKey, params(1));
    expect(gpg.verifyDetached(armor('SIGNATURE', signature), data).ok).toBe(true);
    expect(gpg.verifyDetached(signature, Buffer.from(`${text}x`)).ok).toBe(false);
  });

  test.each(Object.entries(AWKWARD_TEXTS))('clearsigned message of %s text', async (_name, text) => {
    const signature = await signDetached(canonicalText(text), keys[algorithm].privateKey, params(1));
    const message = clearsignedMessage(text, armor('SIGNATURE', signature), defaultHash(algorithm));
    const verified = gpg.verifyClearsigned(message);
    expect(verified.ok).toBe(true);
    // What gpg says was signed is the text (up to the framework's own normalisation).
    const output = gpg.run(['--trust-model', 'always', '--decrypt'], message);
    expect(canonicalText(output.stdout)).toEqual(canonicalText(text));
    // Changing a signed character breaks it.
    const tampered = message.replace(/\n([^-\n])/, (_m, c: string) => `\n${c === 'Z' ? 'Y' : 'Z'}`);
    expect(tampered).not.toBe(message);
    const bad = gpg.verifyClearsigned(tampered);
    expect(bad.ok).toBe(false);
    expect(bad.status).not.toBe(0);
  });
});

test('the checked-in Ed25519 golden vector: gpg computes the same fingerprint and accepts the signature', () => {
  const golden = JSON.parse(fixture('ed25519-golden.json').toString()) as
    { fingerprint: string; transferablePublicKey: string; signature: string; data: string };
  const home = new Gpg();
  try {
    home.importKey(Buffer.from(golden.transferablePublicKey, 'hex'));
    expect(home.run(['--with-colons', '--list-keys']).stdout).toContain(`fpr:::::::::${golden.fingerprint}:`);
    const result = home.verifyDetached(Buffer.from(golden.signature, 'hex'), golden.data);
    expect(result.ok).toBe(true);
    expect(result.statusLines.join('\n')).toContain(`VALIDSIG ${golden.fingerprint}`);
  } finally {
    home.close();
  }
});

test.each(['rsa-plain', 'ed25519-plain', 'rsa-protected', 'ed25519-protected'])(
  'a key imported from gpg --export-secret-keys (%s) signs, and gpg verifies', async (name) => {
    const passphrase = name.endsWith('protected') ? new Secret('correct horse') : undefined;
    const imported = importSecretKey(fixture(`${name}.secret.asc`), passphrase);
    const home = new Gpg();
    try {
      home.importKey(fixture(`${name}.public.asc`));
      const data = Buffer.from(`signed by imported ${name}\n`);
      const params: SignatureParams = { type: 0, hashAlgorithm: defaultHash(imported.info.algorithm),
        creationTime: Math.floor(Date.now() / 1000), signer: imported.info };
      expect(home.verifyDetached(await signDetached(data, imported.privateKey, params), data).ok).toBe(true);
      const text = 'text mode  \nline\n';
      const textSignature = await signDetached(Buffer.from(text), imported.privateKey, { ...params, type: 1 });
      expect(home.verifyDetached(textSignature, text).ok).toBe(true);
      // The TPK built at import (gpg's own user-ID and self-signature packets) imports elsewhere.
      const fresh = new Gpg();
      try {
        fresh.importKey(armor('PUBLIC KEY BLOCK', imported.transferablePublicKey));
        expect(fresh.verifyDetached(await signDetached(data, imported.privateKey, params), data).ok).toBe(true);
      } finally {
        fresh.close();
      }
    } finally {
      home.close();
    }
  });

describe('verifyDetachedStream over signatures gpg made', () => {
  test.each(['ed25519', 'rsa4096'] as const)('%s: binary and text-mode detached signatures verify chunk by chunk; tampering does not', async (algo) => {
    const uid = `gpg-made ${algo} <${algo}@stream.test.invalid>`;
    const made = gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', uid, algo, 'sign', 'never']);
    expect(made.status, made.stderr).toBe(0);
    const exported = gpg.run(['--armor', '--export', uid]).stdout;
    const info = parseTransferablePublicKey(dearmor(exported).bytes).info;
    const data = Buffer.from(`line one\r\nline two  \n${`${'x'.repeat(99)}\r\n`.repeat(1000)}last`);
    const chunks = (bytes: Buffer) => async function* () {
      // Odd chunk sizes, so a CR and its LF fall in different chunks too.
      for (let i = 0, n = 9; i < bytes.length; i += n, n = n === 9 ? 10 : 9) yield bytes.subarray(i, i + n);
    };
    for (const textMode of [false, true]) {
      const sig = gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '-u', uid, '--armor', ...(textMode ? ['--textmode'] : []), '--detach-sign'], data);
      expect(sig.status, sig.stderr).toBe(0);
      const signature = Buffer.from(sig.stdout);
      const good = await verifyDetachedStream(chunks(data), signature, [info]);
      expect(good, `text mode ${textMode}`).toMatchObject({ ok: true });
      if (good.ok) expect(good.signature.type).toBe(textMode ? 0x01 : 0x00);
      const tampered = Buffer.concat([data, Buffer.from('!')]);
      expect(await verifyDetachedStream(chunks(tampered), signature, [info])).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
      expect(await verifyDetachedStream(chunks(data), signature, [foreign.info])).toEqual({ ok: false, reason: 'NO_PUBKEY' });
    }
  }, 120_000);
});
