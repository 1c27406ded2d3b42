// `signet sign`, `signet sums` and signet-gpg verify the signature the server returns against the
// key's public key before writing anything. A proxy between the client and a real server
// changes what the server is asked to sign (it appends a line to the artifact): the server's
// signature is genuine and made by the right key, but over other content, which is what a
// compromised server or proxy would hand out. Every command must refuse and write nothing. The
// appended line is a checksum line, and the pacman database a real gzip stream, so the server's
// content checks for the kind still pass and the refusal is the client's.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signet } from '../helpers/cli.js';
import { run } from './rpm-setup.js';
import { SHIM, startShimServer, type ShimSetup } from './gpg-shim-setup.js';

const PROXY = `
import http from 'node:http';
const target = new URL(process.argv[1]);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    if (req.method === 'POST' && /^\\/v1\\/sign\\/[^/?]+(\\?|$)/.test(req.url)) body = Buffer.concat([body, Buffer.from('0'.repeat(64) + '  tampered\\n')]);
    const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (ur) => {
      const out = [];
      ur.on('data', (c) => out.push(c));
      ur.on('end', () => {
        const rb = Buffer.concat(out);
        const h = { ...ur.headers, 'content-length': String(rb.length) };
        delete h['transfer-encoding'];
        res.writeHead(ur.statusCode, h);
        res.end(rb);
      });
    });
    up.on('error', () => res.destroy());
    up.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

describe('the client verifies the server signature before writing it', () => {
  let s: ShimSetup;
  let proxy: ChildProcess;
  let viaProxy: Record<string, string>;

  beforeAll(async () => {
    s = await startShimServer('verify-write');
    proxy = spawn(process.execPath, ['--input-type=module', '-e', PROXY, s.env.SIGNET_ADDR as string], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve) => proxy.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
    viaProxy = { ...s.env, SIGNET_ADDR: `http://127.0.0.1:${port}` };
  }, 180_000);

  afterAll(async () => {
    proxy?.kill();
    await s?.close();
  });

  it('signet sign: detached, armored, cleartext and standard input are refused, nothing written', () => {
    const file = join(s.dir, 'release.txt');
    writeFileSync(file, 'release notes\n');
    // Control: straight to the server, the same command signs.
    expect(signet(['sign', '--key', s.keys.ed.name, file], { env: s.env }).status).toBe(0);
    expect(existsSync(`${file}.sig`)).toBe(true);

    const other = join(s.dir, 'other.txt');
    writeFileSync(other, 'other notes\n');
    for (const extra of [[], ['--armor'], ['--clearsign']]) {
      const r = signet(['sign', '--key', s.keys.ed.name, ...extra, other], { env: viaProxy });
      expect(r.status, `${extra.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/^signet: the server's signature of .* does not verify with key rel-ed; nothing written \(SIGNATURE_INVALID\)\n$/);
      expect(existsSync(`${other}.sig`) || existsSync(`${other}.asc`)).toBe(false);
    }
    const stdin = signet(['sign', '--key', s.keys.rsa.name, '--armor', '-'], { env: viaProxy, input: 'piped\n' });
    expect(stdin.status).toBe(1);
    expect(stdin.stdout).toBe('');
    expect(stdin.stderr).toContain('SIGNATURE_INVALID');
  });

  it('signet sums: refused, neither SHA256SUMS nor its signature written', () => {
    const dir = join(s.dir, 'sums');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.tar.gz'), 'a\n');
    const r = signet(['sums', dir, '--key', s.keys.ed.name], { env: viaProxy });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('SIGNATURE_INVALID');
    expect(existsSync(join(dir, 'SHA256SUMS'))).toBe(false);
    expect(existsSync(join(dir, 'SHA256SUMS.asc'))).toBe(false);
    expect(signet(['sums', dir, '--key', s.keys.ed.name], { env: s.env }).status).toBe(0);
  });

  it('signet-gpg: a file (repo-add style), standard input (git style) and --clearsign (debsign style) are refused', () => {
    const file = join(s.dir, 'core.db.tar.gz');
    writeFileSync(file, gzipSync(Buffer.from('database\n')));
    const a = run(SHIM, ['--detach-sign', '--no-armor', '-u', s.keys.ed.name, file], { env: viaProxy });
    expect(a.status).not.toBe(0);
    expect(a.stderr).toContain('SIGNATURE_INVALID');
    expect(existsSync(`${file}.sig`)).toBe(false);

    const commit = 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 0 +0000\ncommitter a <a@b> 0 +0000\n\nmsg\n';
    const git = run(SHIM, ['--status-fd=2', '-bsau', s.keys.rsa.name], { env: viaProxy, input: Buffer.from(commit) });
    expect(git.status).not.toBe(0);
    expect(git.stdout).toBe('');
    expect(git.stderr).not.toContain('SIG_CREATED');

    const dsc = join(s.dir, 'pkg.dsc');
    writeFileSync(dsc, 'Format: 3.0 (native)\nSource: pkg\n');
    const out = join(s.dir, 'pkg.dsc.asc');
    const clear = run(SHIM, ['--local-user', s.keys.ed.name, '--clearsign', '--armor', '--textmode', '--output', out, dsc], { env: viaProxy });
    expect(clear.status).not.toBe(0);
    expect(existsSync(out)).toBe(false);
    // Control: straight to the server.
    expect(run(SHIM, ['--local-user', s.keys.ed.name, '--clearsign', '--armor', '--textmode', '--output', out, dsc], { env: s.env }).status).toBe(0);
  });
});
