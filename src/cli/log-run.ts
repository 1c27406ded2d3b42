// The `signet log …` commands (registered in log.ts), loaded when one runs: the transparency log
// code (tlog, zod for entries) is not loaded at `signet` startup.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isSignetError, SignetError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import type { Store } from '../store/types.js';
import { openCheckpoint, verifyCheckpointConsistency, type Checkpoint } from '../tlog/checkpoint.js';
import { decodeEntry, type LogEntry } from '../tlog/entry.js';
import { parseVerifierKey, type NoteVerifier } from '../tlog/note.js';
import { parseReceipt, verifyReceipt } from '../tlog/receipt.js';
import { hashLeaf } from '../tlog/rfc6962.js';
import { decodeEntryBundle, decodeTile, entriesPath, TILE_WIDTH } from '../tlog/tiles.js';
import { storedHashIndex } from '../tlog/tree.js';
import type { SignetClient } from '../client/client.js';
import { dataDir, printJson, printLine, withClient, type GlobalOptions } from './common.js';
import { verifyEntries, type EntrySource } from './log-verify.js';

/** Entry bundles fetched in parallel per read (verifyEntries keeps a few reads in flight). */
const BUNDLES_PER_READ = 8;

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

function getText(client: SignetClient, path: string): Promise<string> {
  return client.requestText(path);
}

/** --log-key: a vkey string or a file holding one; else the key the server (or store) states. */
function pinnedVerifier(option: string | undefined): NoteVerifier | undefined {
  if (option === undefined) return undefined;
  const text = existsSync(option) ? readFileSync(option, 'utf8').trim() : option.trim();
  return parseVerifierKey(text);
}

function readSavedCheckpoint(path: string, verifier: NoteVerifier): Checkpoint {
  let note: string;
  try {
    note = readFileSync(path, 'utf8');
  } catch {
    throw new SignetError('FILE_UNREADABLE', `cannot read the checkpoint file ${path}`);
  }
  return openCheckpoint(note, verifier).checkpoint;
}

/**
 * Entries from the server's C2SP tlog-tiles entry bundles (`/v1/log/tile/entries/…`, 256 raw
 * entries each; the partial last one only as the verified checkpoint's size implies), several in
 * parallel: far less work on both sides than base64 JSON pages. The leaf hashes the log stored
 * come from its level-0 tiles, only to name a bad entry.
 */
export function onlineSource(client: SignetClient, size: bigint): EntrySource {
  const width = (tile: bigint): number => (size - tile * 256n >= 256n ? 256 : Number(size - tile * 256n));
  return {
    pageSize: BUNDLES_PER_READ * TILE_WIDTH,
    async readEntries(start, end) {
      const tiles: bigint[] = [];
      for (let tile = start / 256n; tile * 256n < end; tile++) tiles.push(tile);
      const bundles = await Promise.all(
        tiles.map(async (tile) => {
          try {
            const body = (await client.request('GET', `/v1/log/${entriesPath(tile, width(tile))}`, undefined)).body;
            return decodeEntryBundle(body, width(tile), true);
          } catch (err) {
            if (isSignetError(err, 'NOT_FOUND') || isSignetError(err, 'TLOG_ENTRY_MALFORMED')) {
              throw new SignetError('TLOG_VERIFY_FAILED', `log entry ${tile * 256n} is missing or its entry bundle is malformed`);
            }
            throw err;
          }
        }),
      );
      const entries: Buffer[] = [];
      bundles.forEach((bundle, t) => {
        const first = (tiles[t] as bigint) * 256n;
        bundle.forEach((entry, i) => {
          const index = first + BigInt(i);
          if (index >= start && index < end) entries.push(entry);
        });
      });
      return entries;
    },
    async readLeafHashes(start, end) {
      // Level-0 tiles hold the leaf hashes the log stored; fetch the ones covering [start, end).
      const hashes: Buffer[] = [];
      for (let tile = start / 256n; tile * 256n < end; tile++) {
        const path = `/v1/log/tile/0/${tilePathIndex(tile)}${width(tile) === 256 ? '' : `.p/${width(tile)}`}`;
        const body = (await client.request('GET', path, undefined)).body;
        decodeTile(body, width(tile)).forEach((h, i) => {
          const index = tile * 256n + BigInt(i);
          if (index >= start && index < end) hashes.push(h);
        });
      }
      return hashes;
    },
  };
}

function tilePathIndex(index: bigint): string {
  const digits = index.toString();
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end).padStart(3, '0'));
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function offlineSource(store: Store, storeUrl: string, dir: string): EntrySource {
  return {
    pageSize: 20_000,
    storeUrl,
    dataDir: dir,
    readEntries: (start, end) => store.log.readEntries(start, end),
    async readLeafHashes(start, end) {
      const indices: bigint[] = [];
      for (let i = start; i < end; i++) indices.push(storedHashIndex(0, i));
      return store.log.readHashes(indices);
    },
  };
}

/** The store an offline command reads: --store URL, SIGNET_STORE, or DATA/signet.db. */
async function openOfflineStore(g: GlobalOptions, url: string | undefined): Promise<{ store: Store; url: string; dir: string }> {
  const dir = dataDir(g);
  const storeUrl = url ?? process.env.SIGNET_STORE ?? '';
  // Loaded on demand: the store engines (native SQLite, pg) are heavy for the other commands.
  const { openStore } = await import('../store/index.js');
  const store = await openStore(storeUrl, { dataDir: dir });
  return { store, url: storeUrl, dir };
}

async function storedVerifierKey(store: Store): Promise<string> {
  const stored = await store.getMeta('tlog_key');
  if (stored === undefined) throw new SignetError('NOT_FOUND', 'the store has no log key');
  return (JSON.parse(stored) as { verifier_key: string }).verifier_key;
}

function describeEntry(index: bigint, entry: LogEntry): string {
  const r = entry.requester;
  const who = r.token_hmac !== undefined ? `${r.role ?? 'token'}#${r.token_hmac.slice(0, 8)}` : `${r.role ?? r.token_accessor}@${r.source}`;
  if (entry.kind === 'key') return `${index}\t${entry.time}\tkey ${entry.event}\t${entry.key_name} ${entry.key_fingerprint}\t${who}`;
  if (entry.kind === 'vet') return `${index}\t${entry.time}\tvet ${entry.verdict}\t${entry.artifact.name} sha256:${entry.artifact.digest_hex}\t${entry.repository} ${entry.tag}\t${who}`;
  if (entry.kind === 'approval_request') return `${index}\t${entry.time}\tapproval request ${entry.request_id}\t${entry.artifact.name} ${entry.artifact.digest_alg}:${entry.artifact.digest_hex}\t${entry.required} of ${entry.approvers.join(',')}\t${who}`;
  if (entry.kind === 'approval') return `${index}\t${entry.time}\t${entry.decision} ${entry.request_id}\tby ${entry.identity}\t${who}`;
  const artifact = entry.artifact.nevra ?? entry.artifact.name;
  return `${index}\t${entry.time}\tsign ${entry.sig_kind}\t${artifact} sha256:${entry.artifact.digest_hex}\tkey ${entry.key_fingerprint}\t${who}`;
}

function parseInterval(text: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (!m) throw new SignetError('USAGE', `--interval wants e.g. 30s, 500ms or 5m, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

// ---- commands --------------------------------------------------------------------------------

export async function logCheckpointAction(_opts: unknown, cmd: Command): Promise<void> {
  const g = globals(cmd);
  if (!g.json) {
    process.stdout.write(await withClient(g, (c) => getText(c, '/v1/log/checkpoint')));
    return;
  }
  // --json: the note's fields, read through its signature check with the key the server states.
  const { note, checkpoint } = await withClient(g, async (c) => {
    const verifier = parseVerifierKey((await getText(c, '/v1/log/key')).trim());
    const text = await getText(c, '/v1/log/checkpoint');
    return { note: text, checkpoint: openCheckpoint(text, verifier).checkpoint };
  });
  printJson({ origin: checkpoint.origin, size: Number(checkpoint.size), root: checkpoint.root.toString('base64'), checkpoint: note });
}

export async function logKeyAction(_opts: unknown, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const vkey = await withClient(g, (c) => getText(c, '/v1/log/key'));
  if (!g.json) {
    process.stdout.write(vkey);
    return;
  }
  const verifier = parseVerifierKey(vkey.trim());
  printJson({ name: verifier.name, key_id: verifier.keyId.toString(16).padStart(8, '0'), verifier_key: vkey.trim() });
}

export async function logVerifyAction(opts: { fromCheckpoint?: string; logKey?: string; offline?: boolean; store?: string; saveCheckpoint?: string }, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const started = Date.now();
  let result: { size: bigint; root: Buffer; note: string };
  if (opts.offline || opts.store !== undefined) {
    const { store, url, dir } = await openOfflineStore(g, opts.store);
    try {
      const verifier = pinnedVerifier(opts.logKey) ?? parseVerifierKey(await storedVerifierKey(store));
      const tree = await store.log.treeState();
      if (tree === undefined) throw new SignetError('TLOG_VERIFY_FAILED', 'the store has no signed checkpoint');
      const { checkpoint } = openCheckpoint(tree.checkpoint, verifier);
      if (checkpoint.size !== tree.size || !checkpoint.root.equals(tree.root)) {
        throw new SignetError('TLOG_VERIFY_FAILED', 'the stored tree state differs from its signed checkpoint');
      }
      const saved = opts.fromCheckpoint ? readSavedCheckpoint(opts.fromCheckpoint, verifier) : undefined;
      await verifyEntries(offlineSource(store, url, dir), checkpoint, saved);
      result = { size: checkpoint.size, root: checkpoint.root, note: tree.checkpoint };
    } finally {
      await store.close();
    }
  } else {
    result = await withClient(g, async (client) => {
      const verifier = pinnedVerifier(opts.logKey) ?? parseVerifierKey((await getText(client, '/v1/log/key')).trim());
      const note = await getText(client, '/v1/log/checkpoint');
      const { checkpoint } = openCheckpoint(note, verifier);
      const saved = opts.fromCheckpoint ? readSavedCheckpoint(opts.fromCheckpoint, verifier) : undefined;
      if (saved !== undefined && saved.size > 0n && saved.size <= checkpoint.size) {
        // The server's own consistency proof must hold as well as the recomputation.
        const { proof } = await client.requestJson<{ proof: string[] }>('GET', `/v1/log/proof/consistency?first=${saved.size}&second=${checkpoint.size}`);
        try {
          verifyCheckpointConsistency(saved, checkpoint, proof.map((p) => Buffer.from(p, 'base64')));
        } catch (cause) {
          throw new SignetError('TLOG_INCONSISTENT', 'the log is not consistent with the saved checkpoint (fork or rewrite)', { cause });
        }
      }
      await verifyEntries(onlineSource(client, checkpoint.size), checkpoint, saved);
      return { size: checkpoint.size, root: checkpoint.root, note };
    });
  }
  if (opts.saveCheckpoint) writeFileAtomic(opts.saveCheckpoint, Buffer.from(result.note), 0o644);
  const seconds = ((Date.now() - started) / 1000).toFixed(2);
  if (g.json) printJson({ verified: true, size: Number(result.size), root: result.root.toString('base64'), seconds: Number(seconds) });
  else printLine(`log verified: ${result.size} entries, root ${result.root.toString('base64')} (${seconds} s)`);
}

export async function logProofAction(index: string, opts: { logKey?: string }, cmd: Command): Promise<void> {
  if (!/^(?:0|[1-9][0-9]{0,18})$/.test(index)) throw new SignetError('USAGE', 'the entry is its decimal log index');
  const g = globals(cmd);
  const { receipt, verified } = await withClient(g, async (c) => {
    const text = await getText(c, `/v1/log/receipt?index=${index}`);
    const verifier = pinnedVerifier(opts.logKey) ?? parseVerifierKey((await getText(c, '/v1/log/key')).trim());
    const parsed = parseReceipt(text);
    return { receipt: text, verified: verifyReceipt(parsed, hashLeaf(parsed.extra ?? Buffer.alloc(0)), verifier) };
  });
  if (g.json) {
    printJson({
      index: Number(verified.index),
      checkpoint: { origin: verified.checkpoint.origin, size: Number(verified.checkpoint.size), root: verified.checkpoint.root.toString('base64') },
      receipt,
    });
  } else process.stdout.write(receipt);
}

export async function logTailAction(opts: { lines: string; follow?: boolean }, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const n = Number(opts.lines);
  if (!Number.isSafeInteger(n) || n < 0) throw new SignetError('USAGE', '-n wants a number');
  await withClient(g, async (client) => {
    const sizeNow = async (): Promise<bigint> => {
      const note = await getText(client, '/v1/log/checkpoint');
      return BigInt(note.split('\n')[1] ?? '0');
    };
    let size = await sizeNow();
    let next = size > BigInt(n) ? size - BigInt(n) : 0n;
    for (;;) {
      while (next < size) {
        const { entries } = await client.requestJson<{ entries: string[] }>('GET', `/v1/log/entries?start=${next}&end=${size}`);
        for (const e of entries) {
          const bytes = Buffer.from(e, 'base64');
          if (g.json) printLine(bytes.toString('utf8'));
          else printLine(describeEntry(next, decodeEntry(bytes)));
          next++;
        }
        if (entries.length === 0) break;
      }
      if (!opts.follow) return;
      await new Promise((r) => setTimeout(r, 1000));
      size = await sizeNow();
    }
  });
}

export async function logMonitorAction(opts: { checkpointFile: string; interval: string; once?: boolean; logKey?: string }, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const interval = parseInterval(opts.interval);
  await withClient(g, async (client) => {
    const verifier = pinnedVerifier(opts.logKey) ?? parseVerifierKey((await getText(client, '/v1/log/key')).trim());
    for (;;) {
      const note = await getText(client, '/v1/log/checkpoint');
      const { checkpoint } = openCheckpoint(note, verifier);
      if (existsSync(opts.checkpointFile)) {
        const saved = readSavedCheckpoint(opts.checkpointFile, verifier);
        if (checkpoint.size < saved.size) {
          throw new SignetError('TLOG_INCONSISTENT', `fork: the log shrank from ${saved.size} to ${checkpoint.size} entries`);
        }
        let proof: Buffer[] = [];
        if (saved.size > 0n && saved.size < checkpoint.size) {
          const r = await client.requestJson<{ proof: string[] }>('GET', `/v1/log/proof/consistency?first=${saved.size}&second=${checkpoint.size}`);
          proof = r.proof.map((p) => Buffer.from(p, 'base64'));
        }
        try {
          verifyCheckpointConsistency(saved, checkpoint, proof);
        } catch (cause) {
          throw new SignetError('TLOG_INCONSISTENT', `fork: checkpoint ${checkpoint.size} is not consistent with the saved checkpoint ${saved.size}`, { cause });
        }
      }
      writeFileAtomic(opts.checkpointFile, Buffer.from(note), 0o644);
      if (g.json) printJson({ size: Number(checkpoint.size), root: checkpoint.root.toString('base64'), consistent: true });
      else printLine(`${new Date().toISOString()} log consistent at ${checkpoint.size} entries, root ${checkpoint.root.toString('base64')}`);
      if (opts.once) return;
      await new Promise((r) => setTimeout(r, interval));
    }
  });
}
