// Log identity: witnesses and monitors key their state by a log's origin, so every deployment's
// must differ. Configured (tlog.origin, or derived from public_url) or generated at first start,
// stored with the log key, and never changed afterwards.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { originFromPublicUrl } from '../../src/server/settings.js';
import { api, startTestServer } from '../helpers/server.js';

const GENERATED = /^signet-[0-9a-f]{16}\.local\/log$/;

describe('log origin', () => {
  const root = mkdtempSync(join(tmpdir(), 'signet-origin-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function settings(name: string, text: string): string {
    const path = join(root, name);
    writeFileSync(path, text);
    return path;
  }

  async function originOf(dataDir: string, settingsFile?: string): Promise<{ origin: string; vkey: string }> {
    const t = await startTestServer({ dataDir, ...(settingsFile ? { settingsFile } : {}) });
    try {
      const checkpoint = (await api(t, 'GET', '/v1/log/checkpoint')).text;
      const vkey = (await api(t, 'GET', '/v1/log/key')).text.trim();
      const origin = checkpoint.split('\n')[0] as string;
      // The checkpoint and the log key name the same origin.
      expect(vkey.startsWith(`${origin}+`)).toBe(true);
      return { origin, vkey };
    } finally {
      await t.close();
    }
  }

  it('without configuration, each new deployment gets an origin of its own and keeps it across restarts', async () => {
    const a = await originOf(join(root, 'a'));
    const b = await originOf(join(root, 'b'));
    expect(a.origin).toMatch(GENERATED);
    expect(b.origin).toMatch(GENERATED);
    expect(a.origin).not.toBe(b.origin);
    expect(await originOf(join(root, 'a'))).toEqual(a);
  });

  it('derives the origin from public_url, and refuses a later change of it', async () => {
    const dir = join(root, 'public');
    const first = await originOf(dir, settings('p1.yaml', 'public_url: https://Sign.Example.org/signet/\n'));
    expect(first.origin).toBe('sign.example.org/signet/log');
    // The same log restarts with the same settings, and with none (the stored origin).
    expect(await originOf(dir, settings('p1.yaml', 'public_url: https://Sign.Example.org/signet/\n'))).toEqual(first);
    expect(await originOf(dir)).toEqual(first);
    // Another public URL would rename the log: monitors would see a new log, refused.
    await expect(originOf(dir, settings('p2.yaml', 'public_url: https://sign2.example.org\n'))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('set tlog.origin: sign.example.org/signet/log'),
    });
    // tlog.origin wins over public_url (a moved deployment keeps its log's name).
    const moved = settings('p3.yaml', 'public_url: https://sign2.example.org\ntlog: { origin: sign.example.org/signet/log }\n');
    expect(await originOf(dir, moved)).toEqual(first);
  });

  it('a log made with the old shared default keeps it', async () => {
    const dir = join(root, 'old');
    const old = await originOf(dir, settings('old.yaml', 'tlog: { origin: signet.local/log }\n'));
    expect(old.origin).toBe('signet.local/log');
    expect(await originOf(dir)).toEqual(old);
  });

  it('public_url: host, port and path; no credentials, query or other scheme', () => {
    expect(originFromPublicUrl('https://sign.example.org')).toBe('sign.example.org/log');
    expect(originFromPublicUrl('http://10.0.0.7:7780/')).toBe('10.0.0.7:7780/log');
    expect(originFromPublicUrl('https://example.org/a/b//')).toBe('example.org/a/b/log');
    for (const bad of ['sign.example.org', 'ftp://example.org', 'https://u:p@example.org', 'https://example.org/?x=1', 'https://example.org/a+b', 'https://example.org/a%20b']) {
      expect(() => originFromPublicUrl(bad), bad).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});
