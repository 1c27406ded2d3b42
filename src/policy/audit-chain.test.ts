// The audit log's HMAC chain (docs/security.md "Threat model"): deleting, editing, reordering or
// inserting one line, or cutting off the tail, is reported at the exact line; the chain goes on
// across a restart of the sink.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../secret.js';
import { FileAuditSink, type AuditEvent } from './audit.js';
import { auditChainKey, chainLine, EMPTY_HEAD, parseChainHead, verifyAuditChain } from './audit-chain.js';

const key = auditChainKey(new Secret(Buffer.alloc(32, 1)));
const otherKey = auditChainKey(new Secret(Buffer.alloc(32, 2)));

const event = (i: number): AuditEvent => ({
  type: 'authz',
  decision: i % 3 === 0 ? 'deny' : 'allow',
  action: { op: 'sign', key: 'rel', kind: 'detached', name: `artifact-${i}.bin` },
  source: '127.0.0.1',
  ...(i % 3 === 0 ? { code: 'POLICY_DENIED', reason: 'role ci may not use key rel' } : { rule: 'admin' }),
});

describe('audit chain', () => {
  let dir: string;
  let path: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-audit-'));
    path = join(dir, 'audit.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Ten records: four written singly, four in one batch, then two more after a restart. */
  async function writeTen(): Promise<string[]> {
    let sink = new FileAuditSink(path, { chainKey: key });
    for (let i = 1; i <= 4; i++) sink.record(event(i));
    await Promise.all([5, 6, 7, 8].map((i) => sink.recordBatched(event(i))));
    sink.close();
    sink = new FileAuditSink(path, { chainKey: key });
    sink.record(event(9));
    await sink.recordBatched(event(10));
    sink.close();
    return readFileSync(path, 'utf8').split('\n').slice(0, -1);
  }

  const expectBroken = (text: string, lineNumber: number, saved?: { seq: number; mac: string }): void => {
    expect(() => verifyAuditChain(key, text, saved)).toThrow(expect.objectContaining({ code: 'AUDIT_CHAIN_BROKEN', message: expect.stringContaining(`audit log line ${lineNumber}:`) }));
  };

  it('chains every line, across batches and a restart, and verifies', async () => {
    const lines = await writeTen();
    expect(lines).toHaveLength(10);
    const records = lines.map((l) => JSON.parse(l) as { seq: number; prev: string; mac: string; action: { name: string } });
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(records[0]?.prev).toBe('0'.repeat(64));
    for (let i = 1; i < 10; i++) expect(records[i]?.prev).toBe(records[i - 1]?.mac);
    expect(records.map((r) => r.action.name)).toEqual(Array.from({ length: 10 }, (_, i) => `artifact-${i + 1}.bin`));
    const result = verifyAuditChain(key, `${lines.join('\n')}\n`);
    expect(result).toEqual({ unchained: 0, unmarked: false, lines: 10, head: { seq: 10, mac: records[9]?.mac } });
  });

  it('names the exact line that was edited, deleted, reordered or inserted', async () => {
    const lines = await writeTen();
    const text = (ls: string[]): string => `${ls.join('\n')}\n`;
    // Edited: one field of line 4 changed (its MAC no longer matches).
    const edited = [...lines];
    edited[3] = (edited[3] as string).replace('artifact-4.bin', 'artifact-x.bin');
    expectBroken(text(edited), 4);
    // Deleted: line 6 removed; the line now at 6 does not follow line 5.
    expectBroken(text(lines.filter((_, i) => i !== 5)), 6);
    // Reordered: lines 7 and 8 swapped.
    const swapped = [...lines];
    [swapped[6], swapped[7]] = [swapped[7] as string, swapped[6] as string];
    expectBroken(text(swapped), 7);
    // Inserted: a copy of line 2 after line 5 (a valid MAC, in the wrong place).
    expectBroken(text([...lines.slice(0, 5), lines[1] as string, ...lines.slice(5)]), 6);
    // A plain JSON line pushed in after the chain began.
    expectBroken(text([...lines.slice(0, 3), '{"type":"authz","decision":"allow"}', ...lines.slice(3)]), 4);
    // Another master key: the first line already fails.
    expect(() => verifyAuditChain(otherKey, text(lines))).toThrow(/audit log line 1: its MAC does not match/);
  });

  it('catches a cut-off tail against a saved head, and a rewrite of the saved record', async () => {
    const lines = await writeTen();
    const full = `${lines.join('\n')}\n`;
    const head = verifyAuditChain(key, full).head;
    expect(parseChainHead(JSON.stringify(head))).toEqual(head);
    // Without a saved head, a shorter chain is still a valid chain.
    const cut = `${lines.slice(0, 7).join('\n')}\n`;
    expect(verifyAuditChain(key, cut).head.seq).toBe(7);
    expect(() => verifyAuditChain(key, cut, head)).toThrow(expect.objectContaining({ code: 'AUDIT_CHAIN_BROKEN', message: expect.stringMatching(/ends at record 7, before record 10 of the saved head/) }));
    // A head saved at record 5 still holds on the full log; a forged head naming record 5 does not.
    const at5 = { seq: 5, mac: (JSON.parse(lines[4] as string) as { mac: string }).mac };
    expect(verifyAuditChain(key, full, at5).head.seq).toBe(10);
    expectBroken(full, 5, { seq: 5, mac: 'f'.repeat(64) });
    expect(() => parseChainHead('{"seq":-1,"mac":"x"}')).toThrow(/saved audit head/);
  });

  it('accepts lines written before chaining only at the start, and reports a torn line', async () => {
    writeFileSync(path, '{"time":"2026-01-01T00:00:00.000Z","type":"authz","decision":"allow"}\n');
    const sink = new FileAuditSink(path, { chainKey: key });
    sink.record(event(1));
    sink.close();
    expect(verifyAuditChain(key, readFileSync(path, 'utf8'))).toMatchObject({ unchained: 1, lines: 2, head: { seq: 1 } });
    // A write cut short (no newline): the next write starts a new line and goes on from the last
    // complete record; the verifier names the torn line and nothing else.
    appendFileSync(path, '{"time":"2026-01-01T00:00:01.000Z","type":"au');
    const again = new FileAuditSink(path, { chainKey: key });
    again.record(event(2));
    again.close();
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')).toHaveLength(5); // unchained, record 1, torn, record 2, ''
    expectBroken(text, 3);
    const mended = text.split('\n').filter((_, i) => i !== 2).join('\n');
    expect(verifyAuditChain(key, mended).head.seq).toBe(2);
    // An unfinished last line fails too.
    expectBroken(`${mended}{"partial":`, 4);
  });

  it('refuses lines put in front of the chain, and a file replaced by unchained lines', () => {
    const sink = new FileAuditSink(path, { chainKey: key });
    sink.record(event(1));
    sink.record(event(2));
    sink.close();
    const text = readFileSync(path, 'utf8');
    expect(verifyAuditChain(key, text)).toMatchObject({ unchained: 0, unmarked: false, head: { seq: 2 } });
    const planted = '{"time":"2026-01-01T00:00:00.000Z","type":"authz","decision":"allow","action":{"op":"sign","key":"rel","name":"planted"}}\n';
    expectBroken(planted + text, 2);
    // Replaced wholesale by plausible unchained lines: no chained record at all.
    expect(() => verifyAuditChain(key, planted + planted)).toThrow(expect.objectContaining({ code: 'AUDIT_CHAIN_BROKEN' }));
    // Legacy lines the first record counted verify; one more, one fewer or one changed does not.
    writeFileSync(path, planted);
    const legacy = new FileAuditSink(path, { chainKey: key });
    legacy.record(event(3));
    legacy.close();
    const withLegacy = readFileSync(path, 'utf8');
    expect(verifyAuditChain(key, withLegacy)).toMatchObject({ unchained: 1, head: { seq: 1 } });
    expectBroken(planted + withLegacy, 3);
    expectBroken(withLegacy.replace('planted', 'plante2'), 2);
    expectBroken(withLegacy.slice(planted.length), 1);
    // A chain begun by an older build (no genesis mark) still verifies, but not with lines in front.
    const body = `{"n":1,"seq":1,"prev":"${'0'.repeat(64)}"}`;
    const unmarked = `${body.slice(0, -1)},"mac":"${createHmac('sha256', key).update(body).digest('hex')}"}\n`;
    expect(verifyAuditChain(key, unmarked)).toMatchObject({ unmarked: true, unchained: 0, head: { seq: 1 } });
    expectBroken(planted + unmarked, 2);
  });

  it('keeps a failed write out of the chain (fail closed), and goes on once the file is writable', () => {
    symlinkSync('/dev/full', path); // every write fails with ENOSPC
    const sink = new FileAuditSink(path, { chainKey: key });
    expect(() => sink.record(event(1))).toThrow(expect.objectContaining({ code: 'AUDIT_UNAVAILABLE' }));
    expect(sink.degraded).toBe(true);
    rmSync(path);
    writeFileSync(path, '', { mode: 0o600 });
    sink.record(event(2));
    sink.close();
    const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as { seq: number; action: { name: string } });
    expect(lines.map((l) => [l.seq, l.action.name])).toEqual([[1, 'artifact-2.bin']]);
    expect(verifyAuditChain(key, readFileSync(path, 'utf8')).head.seq).toBe(1);
  });
});

describe('chainLine', () => {
  it('writes the record as JSON.stringify does, with (genesis for the first,) seq and prev after it, then the MAC', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }), (record) => {
        const { line, head } = chainLine(key, record, EMPTY_HEAD);
        const parsed = JSON.parse(line) as Record<string, unknown>;
        const { mac, ...body } = parsed;
        const genesis = { unchained: 0, sha256: createHash('sha256').digest('hex') };
        expect(JSON.stringify(body)).toBe(JSON.stringify({ ...(JSON.parse(JSON.stringify(record)) as object), genesis, seq: 1, prev: '0'.repeat(64) }));
        const second = chainLine(key, record, head).line;
        const { mac: _mac, ...secondBody } = JSON.parse(second) as Record<string, unknown>;
        expect(JSON.stringify(secondBody)).toBe(JSON.stringify({ ...(JSON.parse(JSON.stringify(record)) as object), seq: 2, prev: mac }));
        expect(head).toEqual({ seq: 1, mac });
        expect(verifyAuditChain(key, `${line}\n`).head).toEqual(head);
      }),
      { numRuns: 500 },
    );
  });
});
