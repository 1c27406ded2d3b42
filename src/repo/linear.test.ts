// Unsigned input reaches these parsers before any signature is checked (the gate reads whatever
// the staging tree holds), so each must be linear in its input: inputs built to make a
// backtracking regular expression retry every position are parsed within a generous bound per
// size (the machine is shared and loaded; linear code takes milliseconds at these sizes, the
// quadratic code these replace took seconds to minutes).
import { describe, expect, it } from 'vitest';
import { cpuMs, cpuMsAsync } from '../../test/helpers/cpu-time.js';
import { parseClearsigned, verifyClearsigned } from '../openpgp/index.js';
import { signReleaseBytes } from './apt.js';
import type { RepoSignClient } from './signer.js';
import { repomdEntries } from './yum.js';

// CPU time of this process, not wall time: the bound holds however loaded the machine is.
const timed = cpuMs;
const timedAsync = cpuMsAsync;

/** Bound per size: 2 s for the largest input (about 1000x what linear code needs here). */
const BOUND_MS = 2000;

describe('parsers of unsigned repository input are linear', () => {
  it('cleartext framing: a long run of inner whitespace (200 KB)', () => {
    for (const size of [50_000, 100_000, 200_000]) {
      const message = `x${' '.repeat(size)}x`;
      expect(timed(() => parseClearsigned(message)), `${size} bytes`).toBeLessThan(BOUND_MS);
      expect(verifyClearsigned(message, []).result).toEqual({ ok: false, reason: 'MALFORMED' });
      const tabs = `-----BEGIN PGP SIGNED MESSAGE-----\n${'\t\n'.repeat(size / 2)}x`;
      expect(timed(() => parseClearsigned(tabs)), `${size} bytes of whitespace lines`).toBeLessThan(BOUND_MS);
    }
  }, 60_000);

  it('repomd.xml: many unclosed <data> elements (1 MB), and the usual layout still read', () => {
    for (const count of [20_000, 40_000, 80_000]) {
      const xml = `<repomd>${'<data type="p">'.repeat(count)}`;
      expect(timed(() => repomdEntries(xml)), `${xml.length} bytes`).toBeLessThan(BOUND_MS);
      expect(() => repomdEntries(xml)).toThrow(expect.objectContaining({ code: 'BODY_INVALID' }));
      const locations = `<repomd><data type="p">${'<location '.repeat(count)}</data></repomd>`;
      expect(timed(() => repomdEntries(locations)), `${locations.length} bytes of <location`).toBeLessThan(BOUND_MS);
    }
    const xml =
      '<?xml version="1.0"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">\n  <revision>1</revision>\n' +
      '  <data type="primary">\n    <checksum type="sha256">AB01</checksum>\n    <open-checksum type="sha256">cd</open-checksum>\n' +
      '    <location href="repodata/ab-primary.xml.gz"/>\n    <size>1</size>\n  </data>\n' +
      '  <data type="other_db">\n    <checksum type="sha256">ef</checksum>\n    <location xml:base="x" href="repodata/o&amp;.sqlite.bz2"/>\n  </data>\n</repomd>\n';
    expect(repomdEntries(xml)).toEqual([
      { type: 'primary', href: 'repodata/ab-primary.xml.gz', checksumType: 'sha256', checksum: 'ab01' },
      { type: 'other_db', href: 'repodata/o&.sqlite.bz2', checksumType: 'sha256', checksum: 'ef' },
    ]);
    expect(() => repomdEntries('<repomd><data type="a"><data type="b"><checksum type="sha256">00</checksum><location href="x"/></data></data></repomd>')).toThrow(
      expect.objectContaining({ code: 'BODY_INVALID' }),
    );
  }, 60_000);

  it('apt Release: a body of newlines (80 KB) is refused quickly, before anything is signed', async () => {
    let signed = 0;
    const client: RepoSignClient = {
      exportKey: async () => {
        signed++;
        throw new Error('not reached');
      },
      sign: async () => {
        signed++;
        throw new Error('not reached');
      },
    };
    for (const size of [20_000, 40_000, 80_000]) {
      const release = Buffer.from(`Suite: x\n${'\n'.repeat(size)}x`);
      expect(await timedAsync(() => signReleaseBytes(client, 'k', release)), `${size} bytes`).toBeLessThan(BOUND_MS);
      await expect(signReleaseBytes(client, 'k', release)).rejects.toMatchObject({ code: 'BODY_INVALID' });
    }
    expect(signed).toBe(0);
  }, 60_000);
});
