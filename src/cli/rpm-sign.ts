// `signet rpm sign` (README "CLI"), loaded when the command runs.
//
// Reads only each package's lead and headers (rpmPrefixLength says how many bytes; the
// payload is never read), sends them (less the signature header's RESERVEDSPACE padding) in
// batches to POST /v1/sign/:key/rpm, and writes each
// returned signature into its file. When the rebuilt signature header has the old length (the
// usual case: RESERVEDSPACE absorbs the signature, as rpmsign does), only bytes 96…(96+n) change,
// written with one pwrite and fsync; the file size and payload offset stay. Otherwise the file is
// rewritten through a temp file + fsync + rename (src/rpm-io/file.ts).
import type { Command } from 'commander';
import { SignetError, isErrorCode } from '../errors.js';
// The parser and the signature-header rewrite only (not src/rpm/index.ts, which also carries
// the fuzz harness); reading and writing package files is src/rpm-io/file.ts.
import { headerDigests } from '../rpm/identity.js';
import { checkSignable, compactPrefix } from '../rpm/signature-header.js';
import { asError, readPackagePrefix, writeSignatures, type PackageOnDisk } from '../rpm-io/file.js';
import { PendingApprovalError, type PendingRequest, type RpmSignResponse, type SignetClient } from '../client/client.js';
import { printJson, wantProgress, withClient, type GlobalOptions } from './common.js';

/** Client-side batch bounds, below the server's (256 headers, 64 MiB of JSON per request). */
const MAX_BATCH_HEADERS = 128;
const MAX_BATCH_PREFIX_BYTES = 16 * 1024 * 1024;
/** Requests in flight: the next batch is sent as soon as one is answered, and the answered one
 *  is written meanwhile, so the server always has batches to sign. Small batches (about three
 *  rounds per request slot) let the writes and fsyncs of early batches overlap the signing of
 *  later ones and keep the last batch (signed while nothing else overlaps) short; the server's
 *  worker pool takes jobs first come, first served, so batches come back in order. */
const REQUESTS_IN_FLIGHT = 4;
const ROUNDS_PER_SLOT = 3;
const MIN_BATCH_HEADERS = 4;

// Moved to src/rpm-io/file.ts; re-exported for the modules that import them from here.
export { asError, fileError, readPackagePrefix, writeSignature, type PackageOnDisk } from '../rpm-io/file.js';

export interface RpmFileResult {
  file: string;
  /** `pending`: held for approvals (docs/approvals.md), nothing written. */
  status: 'signed' | 'failed' | 'pending';
  nevra?: string;
  in_place?: boolean;
  error?: { code: string; message: string };
}

export interface RpmSignSummary {
  /** The key, or the keys joined with commas when several signed. */
  key: string;
  fingerprint?: string;
  /** With several keys: each key's fingerprint, in the order given. */
  fingerprints?: string[];
  signed: number;
  failed: number;
  bytes_sent: number;
  seconds: number;
  files: RpmFileResult[];
  /** Requests the server held for approvals. */
  pending?: PendingRequest[];
}

/** Packages one approval can cover: the server's batch bound (src/api/limits.ts). */
const MAX_APPROVAL_HEADERS = 256;
const MAX_APPROVAL_PREFIX_BYTES = 32 * 1024 * 1024;


export async function signRpmFiles(
  client: SignetClient,
  keyOrKeys: string | readonly string[],
  files: readonly string[],
  options: {
    replace: boolean;
    rpmv6?: boolean;
    onDone?: (result: RpmFileResult) => void;
    /** Send every package in one request (one manifest, one approval), up to the server's bound. */
    single?: boolean;
    /** The approved request to sign under. */
    approval?: string;
  },
): Promise<RpmSignSummary> {
  const started = performance.now();
  // Several keys: each batch goes to every key's signing route at once, and each package gets
  // all the signatures in one write (rpm 6 layout, src/rpm/signature-header.ts).
  const keys = typeof keyOrKeys === 'string' ? [keyOrKeys] : [...keyOrKeys];
  if (keys.length === 0) throw new SignetError('USAGE', 'rpm sign needs a --key');
  if (new Set(keys).size !== keys.length) throw new SignetError('USAGE', 'the same --key is given twice');
  const key = keys.join(',');
  const results: RpmFileResult[] = new Array<RpmFileResult>(files.length);
  let fingerprint: string | undefined;
  const fingerprints: (string | undefined)[] = keys.map(() => undefined);
  const finish = (index: number, result: RpmFileResult) => {
    results[index] = result;
    options.onDone?.(result);
  };
  const fail = (index: number, err: unknown, nevra?: string) =>
    finish(index, { file: files[index]!, status: 'failed', ...(nevra ? { nevra } : {}), error: asError(err) });

  // Batches of about equal size, several rounds per request slot (84 packages: 12 × 7).
  const perBatch = options.single
    ? MAX_APPROVAL_HEADERS
    : Math.min(MAX_BATCH_HEADERS, Math.max(MIN_BATCH_HEADERS, Math.ceil(files.length / (REQUESTS_IN_FLIGHT * ROUNDS_PER_SLOT))));
  const maxBytes = options.single ? MAX_APPROVAL_PREFIX_BYTES : MAX_BATCH_PREFIX_BYTES;
  let next = 0;
  // Once the server holds a batch for approvals, no further batch is sent: the rest go as one.
  let halted = false;
  const pending: PendingRequest[] = [];
  const hold = (index: number) =>
    finish(index, {
      file: files[index]!,
      status: 'pending',
      error: { code: 'REQUEST_PENDING', message: pending.length > 0 ? `held for approvals: request ${pending[0]!.id}` : 'not sent: the release is held for approvals' },
    });
  const readBatch = (): { index: number; pkg: PackageOnDisk }[] => {
    const batch: { index: number; pkg: PackageOnDisk }[] = [];
    let bytes = 0;
    while (next < files.length && batch.length < perBatch && bytes < maxBytes) {
      const index = next++;
      try {
        const pkg = readPackagePrefix(files[index]!);
        // Refuse locally what the server would refuse, without sending it.
        checkSignable(pkg.layout, { replace: options.replace });
        batch.push({ index, pkg });
        bytes += pkg.prefix.length;
      } catch (err) {
        fail(index, err);
      }
    }
    return batch;
  };

  const writeBatch = (batch: { index: number; pkg: PackageOnDisk }[], responses: RpmSignResponse[]): Promise<unknown> =>
    Promise.all(
      batch.map(async ({ index, pkg }, i) => {
        let nevra: string | undefined;
        try {
          const signatures = responses.map((response) => {
            const item = response.signatures[i];
            nevra ??= item?.nevra;
            if (item === undefined) throw new SignetError('INTERNAL', 'the server returned fewer signatures than headers sent');
            if (item.error !== undefined) {
              throw new SignetError(isErrorCode(item.error.code) ? item.error.code : 'INTERNAL', item.error.message);
            }
            if (item.packet === undefined || response.algorithm === undefined) throw new SignetError('INTERNAL', 'the server returned no signature');
            // The server signed what we sent: its digest of the main header must be ours.
            if (item.header_sha256 !== headerDigests(pkg.layout.header).sha256) {
              throw new SignetError('INTERNAL', 'the server signed a different header');
            }
            return { packet: Buffer.from(item.packet, 'base64'), algorithm: response.algorithm };
          });
          const inPlace = await writeSignatures(pkg, signatures, options.replace, options.rpmv6 === true);
          finish(index, { file: pkg.path, status: 'signed', ...(nevra ? { nevra } : {}), in_place: inPlace });
        } catch (err) {
          fail(index, err, nevra);
        }
      }),
    );

  // Writes of answered batches (they never reject: each file's failure is its own result).
  const writes: Promise<unknown>[] = [];
  const worker = async (): Promise<void> => {
    for (;;) {
      if (next >= files.length || halted) return;
      const batch = readBatch();
      if (batch.length === 0) continue;
      let responses: RpmSignResponse[];
      try {
        // Without RESERVEDSPACE: a third of the bytes to encode, send and parse (compactPrefix).
        const prefixes = batch.map((b) => compactPrefix(b.pkg.layout));
        responses = await Promise.all(keys.map((k) => client.signRpm(k, prefixes, options.replace, options.approval)));
      } catch (err) {
        if (err instanceof PendingApprovalError) {
          halted = true;
          pending.push(err.pending);
          for (const b of batch) hold(b.index);
          continue;
        }
        // Authentication, key or server failures apply to the whole batch; later batches would
        // fail the same way, but each file is still reported.
        for (const b of batch) fail(b.index, err);
        continue;
      }
      responses.forEach((r, i) => {
        fingerprints[i] ??= r.fingerprint;
      });
      fingerprint ??= responses[0]?.fingerprint;
      // The next batch goes out first (this loop runs on into readBatch and its request), then
      // these packages are written and synced while the server signs it: the server always has
      // REQUESTS_IN_FLIGHT batches to sign, never waits for our disk.
      writes.push(new Promise((resolve) => setImmediate(resolve)).then(() => writeBatch(batch, responses)));
    }
  };
  await Promise.all(Array.from({ length: options.single ? 1 : REQUESTS_IN_FLIGHT }, worker));
  await Promise.all(writes);
  for (let i = next; i < files.length; i++) hold(i);
  const signed = results.filter((r) => r.status === 'signed').length;
  return {
    key,
    ...(fingerprint ? { fingerprint } : {}),
    ...(keys.length > 1 && fingerprints.every((f) => f !== undefined) ? { fingerprints: fingerprints as string[] } : {}),
    signed,
    failed: results.filter((r) => r.status === 'failed').length,
    ...(pending.length > 0 ? { pending } : {}),
    bytes_sent: client.bytesSent,
    seconds: Math.round(performance.now() - started) / 1000,
    files: results,
  };
}

// ---- command --------------------------------------------------------------------------------

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/**
 * Under a rule with approvals (docs/approvals.md) the release is approved as one manifest: the
 * batches the server held are withdrawn, the packages not yet signed go again in one request,
 * the CLI waits for its approvals (or, with --no-wait, prints its id), then sends that request
 * once more under the approval. An approval binds one key: several keys sign without approvals.
 */
async function signWithApprovals(
  g: GlobalOptions,
  files: string[],
  opts: { key: string | string[]; replace?: boolean; rpmv6?: boolean; wait: boolean; approval?: string },
  onDone: () => void,
): Promise<RpmSignSummary | undefined> {
  const replace = Boolean(opts.replace);
  const rpmv6 = Boolean(opts.rpmv6);
  const keys = typeof opts.key === 'string' ? [opts.key] : opts.key;
  const single = (): string => {
    if (keys.length !== 1) throw new SignetError('USAGE', 'a release held for approvals is signed with one --key at a time (an approval binds one key)');
    return keys[0]!;
  };
  if (opts.approval !== undefined) {
    const key = single();
    return withClient(g, (c) => signRpmFiles(c, key, files, { replace, rpmv6, onDone, single: true, approval: opts.approval! }));
  }
  const first = await withClient(g, (c) => signRpmFiles(c, keys, files, { replace, rpmv6, onDone }));
  if (!first.pending) return first;
  const key = single();
  const rest = first.files.filter((f) => f.status === 'pending').map((f) => f.file);
  await withClient(g, async (c) => {
    for (const p of first.pending!) await c.decide(p.id, 'reject', 'withdrawn: the release is sent again as one manifest');
  });
  const held = await withClient(g, (c) => signRpmFiles(c, key, rest, { replace, rpmv6, single: true }));
  const { reportPending, waitForApproval } = await import('./approvals.js');
  if (!held.pending) return merge(first, held);
  if (held.pending.length !== 1) throw new SignetError('USAGE', `${rest.length} packages need ${held.pending.length} approvals: one approval covers at most ${MAX_APPROVAL_HEADERS} packages; sign the release in parts`);
  const request = held.pending[0]!;
  if (!opts.wait) {
    reportPending(g, request);
    return undefined;
  }
  await waitForApproval(g, request);
  const signed = await withClient(g, (c) => signRpmFiles(c, key, rest, { replace, rpmv6, onDone, single: true, approval: request.id }));
  return merge(first, signed);
}

function merge(a: RpmSignSummary, b: RpmSignSummary): RpmSignSummary {
  const byFile = new Map(b.files.map((f) => [f.file, f]));
  const files = a.files.map((f) => (f.status === 'pending' ? (byFile.get(f.file) ?? f) : f));
  return {
    ...b,
    fingerprint: a.fingerprint ?? b.fingerprint,
    signed: files.filter((f) => f.status === 'signed').length,
    failed: files.filter((f) => f.status !== 'signed').length,
    bytes_sent: b.bytes_sent,
    seconds: a.seconds + b.seconds,
    files,
  } as RpmSignSummary;
}

export async function rpmSignAction(
  files: string[],
  opts: { key: string | string[]; replace?: boolean; rpmv6?: boolean; wait: boolean; approval?: string },
  cmd: Command,
): Promise<void> {
  await runRpmSign(globals(cmd), files, opts);
}

/** The command itself, from commander (rpmSignAction) or from the plain command line read
 *  without it (src/cli/rpm-sign-argv.ts, src/cli/entry.ts). */
export async function runRpmSign(
  g: GlobalOptions,
  files: string[],
  opts: { key: string | string[]; replace?: boolean; rpmv6?: boolean; wait: boolean; approval?: string },
): Promise<void> {
  // cli-progress is loaded only when a bar is drawn (stderr is a terminal).
  const cliProgress = wantProgress(g) ? (await import('cli-progress')).default : undefined;
  const bar = cliProgress
    ? new cliProgress.SingleBar({ format: 'signing [{bar}] {value}/{total} packages', hideCursor: true }, cliProgress.Presets.legacy)
    : undefined;
  bar?.start(files.length, 0);
  let summary: RpmSignSummary | undefined;
  try {
    summary = await signWithApprovals(g, files, opts, () => bar?.increment());
  } finally {
    bar?.stop();
  }
  if (summary === undefined) return;
  if (g.json) printJson(summary);
  else {
    for (const f of summary.files) {
      if (f.status !== 'failed') continue;
      const hint = f.error?.code === 'RPM_ALREADY_SIGNED' ? '; pass --replace to sign it again' : '';
      process.stderr.write(`signet: ${f.file}: ${f.error?.message}${hint} (${f.error?.code})\n`);
    }
    process.stderr.write(
      `signet: signed ${summary.signed} of ${summary.files.length} packages with ${summary.key}${summary.fingerprints ? ` (${summary.fingerprints.join(', ')})` : summary.fingerprint ? ` (${summary.fingerprint})` : ''} in ${summary.seconds} s\n`,
    );
  }
  if (summary.failed > 0) process.exitCode = 1;
}
