// The kind trick with stock rpmsign, as an attacker would play it: a role may sign RPMs named
// pkg-small1 only. `signet rpm sign` of pkg-big is refused (the server reads the name tag). So the
// attacker points rpmsign's %__gpg at a five-line stand-in that POSTs the header rpmsign pipes it
// (with node's fetch) to the plain sign route with kind=rpm (or detached) and the granted name, and writes back the
// signature. Before the signing pipeline checked kinds, rpmsign stored that signature and
// `rpmkeys -K` said OK. Now the server refuses it, rpmsign fails and the package stays unsigned.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signet } from '../helpers/cli.js';
import { requireTools } from '../helpers/tools.js';
import { makeWorkspace, run, type Workspace } from './rpm-setup.js';
import { startShimServer, type ShimSetup } from './gpg-shim-setup.js';

/** What the attacker runs as gpg: take `-sbo OUT`, POST stdin, write the signature packet. */
const STAND_IN = `#!/bin/sh
out=; while [ $# -gt 0 ]; do [ "$1" = -sbo ] && out=$2; shift; done
exec node -e '
const url = process.env.SIGNET_ADDR + "/v1/sign/" + process.env.ATTACK_KEY + "?kind=" + process.env.ATTACK_KIND + "&name=pkg-small1";
fetch(url, { method: "POST", headers: { authorization: "Bearer " + process.env.ATTACK_TOKEN, "content-type": "application/octet-stream" }, body: require("fs").readFileSync(0) })
  .then((r) => r.json()).then((j) => { if (!j.signature) { console.error(JSON.stringify(j)); process.exit(1); } require("fs").writeFileSync(process.argv[1], Buffer.from(j.signature, "base64")); });
' "$out"
`;

describe('rpmsign with a stand-in gpg tries the kind trick', () => {
  let ws: Workspace;
  let s: ShimSetup;
  let standIn: string;

  beforeAll(async () => {
    requireTools('rpm', 'rpmkeys', 'rpmsign', 'rpmbuild');
    ws = makeWorkspace();
    s = await startShimServer('rpm-kind-trick');
    standIn = join(ws.dir, 'gpg-stand-in');
    writeFileSync(standIn, STAND_IN);
    chmodSync(standIn, 0o755);
  }, 180_000);

  afterAll(async () => {
    await s?.close();
    ws?.cleanup();
  });

  async function roleToken(name: string, kinds: string): Promise<string> {
    const policyFile = join(ws.dir, `${name}.yaml`);
    writeFileSync(policyFile, `rules:\n  - {keys: [${s.keys.ed.name}], kinds: [${kinds}], names: ['pkg-small1']}\n`);
    const w = signet(['policy', 'write', name, policyFile], { env: s.env });
    expect(w.status, w.stderr).toBe(0);
    const r = await fetch(`${s.srv.addr}/v1/auth/token/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.srv.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policies: [name], ttl: '10m' }),
    });
    expect(r.status).toBe(201);
    return ((await r.json()) as { token: string }).token;
  }

  function rpmkeysK(file: string): { status: number; out: string } {
    const db = join(ws.dir, `db-${Math.random().toString(36).slice(2)}`);
    run('rpmkeys', ['--dbpath', db, '--import', s.keys.ed.publicKeyFile]);
    const r = run('rpmkeys', ['--dbpath', db, '-Kv', file]);
    return { status: r.status, out: r.stdout + r.stderr };
  }

  for (const [label, kinds, kind] of [
    ['kind=rpm on the sign route', 'rpm', 'rpm'],
    ['kind=detached for a role that also has detached', 'rpm, detached', 'detached'],
  ] as const) {
    it(`${label}: refused, rpmsign fails, the package stays unsigned`, async () => {
      const tok = await roleToken(`trick-${kind}`, kinds);
      const files = ws.copyCorpus(join(ws.dir, `trick-${kind}`));
      const evil = files.find((f) => f.includes('pkg-big'))!;
      const innocent = files.find((f) => f.includes('pkg-small1'))!;
      const env = { ...s.env, SIGNET_TOKEN: tok };

      // The honest way: the name tag decides; pkg-big is not pkg-small1.
      const honest = signet(['rpm', 'sign', '--key', s.keys.ed.name, evil], { env });
      expect(honest.status).not.toBe(0);
      expect(honest.stdout + honest.stderr).toContain('POLICY_DENIED');
      // The same role signs its own package (the stand-in works when the bytes are what they say).
      expect(signet(['rpm', 'sign', '--key', s.keys.ed.name, innocent], { env }).status).toBe(0);

      const before = readFileSync(evil);
      const attack = run('rpmsign', ['--define', `__gpg ${standIn}`, '--define', `_gpg_name ${s.keys.ed.name}`, '--addsign', evil], {
        env: { ...process.env, SIGNET_ADDR: s.srv.addr, ATTACK_TOKEN: tok, ATTACK_KEY: s.keys.ed.name, ATTACK_KIND: kind },
      });
      expect(attack.status, attack.stdout + attack.stderr).not.toBe(0);
      expect(attack.stderr).toMatch(kind === 'rpm' ? /KIND_MISMATCH/ : /CONTENT_INVALID/);
      expect(readFileSync(evil).equals(before)).toBe(true);
      const check = rpmkeysK(evil);
      expect(check.out).not.toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]+: OK/);
    }, 180_000);
  }
});
