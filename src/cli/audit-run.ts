// `signet audit verify` (audit.ts registers it): streams the audit log through the chain check.
// The chain key comes from the master key (DATA/master.key or SIGNET_MASTER_KEY_FILE), which is
// read, never created, here.
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { SignetError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { loadOrCreateMasterKey } from '../keys/master-key.js';
import { AuditChainVerifier, auditChainKey, parseChainHead, type ChainHead } from '../policy/audit-chain.js';
import { dataDir, printJson, printLine, readInputFile, type GlobalOptions } from './common.js';

export async function auditVerifyAction(opts: { file?: string[]; fromHead?: string; saveHead?: string }, cmd: Command): Promise<void> {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  const dir = dataDir(g);
  // Rotated files, oldest first, then the current one: one chain across them all.
  const files = opts.file !== undefined && opts.file.length > 0 ? opts.file : [join(dir, 'audit.log')];
  const file = files.join(', ');
  const masterKeyFile = process.env.SIGNET_MASTER_KEY_FILE;
  if (!masterKeyFile && !existsSync(join(dir, 'master.key'))) {
    throw new SignetError('MASTER_KEY_UNREADABLE', `no master key in ${dir} (set --data or SIGNET_MASTER_KEY_FILE): the audit chain is keyed by it`);
  }
  const saved = opts.fromHead === undefined ? undefined : parseChainHead(readInputFile(opts.fromHead).toString('utf8'));
  const master = await loadOrCreateMasterKey({ dataDir: dir, ...(masterKeyFile ? { masterKeyFile } : {}) });
  const key = auditChainKey(master.key);
  master.key.wipe();

  const verifier = new AuditChainVerifier(key, saved);
  let lastByte = 0x0a;
  let linesBefore = 0;
  for (const [i, one] of files.entries()) {
    let lines = 0;
    const stream = createReadStream(one);
    stream.on('data', (chunk) => {
      const b = chunk as Buffer;
      if (b.length > 0) lastByte = b[b.length - 1] as number;
    });
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
        lines++;
        verifier.line(line);
      }
    } catch (err) {
      stream.destroy();
      if (err instanceof SignetError) throw files.length > 1 ? inFile(err, one, linesBefore) : err;
      throw new SignetError('FILE_UNREADABLE', `cannot read ${one}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
    // A rotated file ends where the server closed it, after a whole line.
    if (i < files.length - 1 && lastByte !== 0x0a) {
      throw new SignetError('AUDIT_CHAIN_BROKEN', `${one}: the last line is incomplete (no newline)`);
    }
    linesBefore += lines;
  }
  const result = verifier.finish(lastByte === 0x0a);
  if (opts.saveHead !== undefined) writeFileAtomic(opts.saveHead, Buffer.from(`${JSON.stringify(result.head satisfies ChainHead)}\n`), 0o644);
  if (g.json) {
    printJson({ ok: true, file, lines: result.lines, unchained: result.unchained, head: result.head });
    return;
  }
  const before = result.unchained > 0 ? ` (${result.unchained} earlier lines predate the chain and are not checked)` : '';
  printLine(`audit log verified: ${result.lines} lines, chain at record ${result.head.seq}${before}`);
}

/** With several files, a broken line is named in its own file ("audit log line N" counts all). */
function inFile(err: SignetError, file: string, linesBefore: number): SignetError {
  const m = /^audit log line (\d+): ([\s\S]*)$/.exec(err.message);
  if (!m) return err;
  return new SignetError(err.code, `${file} line ${Number(m[1]) - linesBefore}: ${m[2]}`, { cause: err });
}
