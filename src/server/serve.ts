// `signet serve`: initialise the data dir on first start (master key, admin token), open the
// store, build the app and listen (TLS 1.3 by default when a certificate is given).
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import { SignetError } from '../errors.js';
import { TokenService } from '../auth/tokens.js';
import { KeyService } from '../keys/key-service.js';
import { checkStoreUnbound, loadOrCreateMasterKey, verifyMasterKey } from '../keys/master-key.js';
import { ADMIN_POLICY } from '../policy/authorize.js';
import { FileAuditSink } from '../policy/audit.js';
import { auditChainKey } from '../policy/audit-chain.js';
import { CidrError, CidrSet } from '../policy/cidr.js';
import type { Secret } from '../secret.js';
import { openStore } from '../store/index.js';
import { LogService } from '../tlog/service.js';
import type { Store } from '../store/types.js';
import { writeFileAtomic } from '../fsutil.js';
import { buildApp, type AppLimits, type ConnectionLimits } from './app.js';
import { PublishedCheckpointFile } from './published-checkpoint.js';
import { requesterKey } from './routes/log.js';
import { requestAnswerKey } from './request-ids.js';
import { configuredLogOrigin, parseListen, readSettingsFile, type SettingsFile } from './settings.js';
import type { Pkcs11Backend } from '../keys/pkcs11-backend.js';
import type { DataKeyWrapper } from '../keys/seal.js';

export const DEFAULT_LISTEN = '127.0.0.1:7780';

export interface ServeOptions {
  readonly dataDir: string;
  readonly listen?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** sqlite:PATH (default DATA/signet.db) or postgres://… */
  readonly store?: string;
  readonly masterKeyFile?: string;
  readonly settingsFile?: string;
  readonly logLevel?: string;
  /** Where JSON logs go (default stdout). */
  readonly logDestination?: DestinationStream;
  /** Called once, on the first start, with the new admin token. */
  readonly onAdminToken?: (token: Secret, path: string) => void;
  readonly limits?: Partial<AppLimits>;
  /** Socket timeouts and connection caps; override settings `connections`. */
  readonly connections?: Partial<ConnectionLimits>;
  /** Read-only git mirrors for server-side vetting; overrides settings `vet.mirrors`. */
  readonly vetMirrors?: string;
  /** CIDR blocks of trusted reverse proxies (X-Forwarded-For); overrides settings `trust_proxy`. */
  readonly trustProxy?: readonly string[];
  /** The clock for token, secret_id and wrapping expiry (tests); default Date.now. */
  readonly clock?: () => number;
  /** Pull mode (docs/pull-mode.md): dial these relays (https://HOST:PORT) and listen on no port. */
  readonly pull?: readonly string[];
  /** Pull mode: the pull CA's certificate (PEM file), which the relays' certificates chain to. */
  readonly pullCa?: string;
  /** Pull mode: idle connections kept at each relay (default 8). */
  readonly pullPool?: number;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly store: Store;
  readonly logger: Logger;
  /** Reopen DATA/audit.log (SIGHUP, after rotation); the HMAC chain continues in the new file. */
  reopenAudit(): void;
  close(): Promise<void>;
}

/** Log redaction: secrets are typed (Secret), but a second net costs nothing. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-signet-token"]',
  '*.passphrase',
  '*.secret_key',
  '*.secret_id',
  '*.token_secret',
];

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const settings = options.settingsFile ? readSettingsFile(options.settingsFile) : {};
  const logOrigin = configuredLogOrigin(settings);
  const dataDir = resolve(options.dataDir);
  ensureDataDir(dataDir);

  const level = options.logLevel ?? settings.log?.level ?? 'info';
  // stdout written asynchronously: lines made while a write is under way go out together in the
  // next one (one write per burst, not per request). close() flushes what is left.
  const stdout = options.logDestination === undefined ? pino.destination({ dest: 1, sync: false }) : undefined;
  const destination = options.logDestination ?? (stdout as DestinationStream);
  const logger = pino({ level, base: { service: 'signet' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
  // The access line (one per request) is built only from named fields (method, route pattern,
  // status, accessor, what the route reports): nothing for the redaction net to catch, so it
  // skips that cost. Same stream, same shape.
  const accessLog = pino({ level, base: { service: 'signet' } }, destination);

  const master = await loadOrCreateMasterKey({
    deferWrite: true,
    dataDir,
    ...(options.masterKeyFile ?? settings.master_key_file ? { masterKeyFile: options.masterKeyFile ?? settings.master_key_file } : {}),
  });
  for (const warning of master.warnings ?? []) logger.warn({ event: 'master_key' }, warning);

  const store = await openStore(options.store ?? settings.store ?? '', {
    dataDir,
    // A PostgreSQL restart drops idle pooled connections; requests in flight get 503
    // STORE_UNAVAILABLE and the pool reconnects by itself when the database is back.
    postgres: { onConnectionError: (err) => logger.warn({ event: 'store_connection_lost', code: (err as { code?: string }).code }, 'lost a PostgreSQL connection') },
  });
  let stopLog: (() => Promise<void>) | undefined;
  let stopAudit: (() => void) | undefined;
  let stopPublished: (() => Promise<void>) | undefined;
  let stopBackends: (() => Promise<void>) | undefined;
  try {
    await store.migrate();
    // A new master key is written only for a store that never had one: a lost master.key next
    // to a used store is reported, not silently replaced (which would orphan every sealed key).
    if (master.created) {
      await checkStoreUnbound(store, master.path);
      master.persist?.();
    }
    await verifyMasterKey(store, master.key);
    // Key backends (docs/key-backends.md): the token, when configured, is opened now, so a
    // missing module, token or PIN stops the start instead of the first signature.
    const backends = await openKeyBackends(settings, store, master.key);
    stopBackends = () => backends.close();
    const tokens = new TokenService(store, options.clock);
    await bootstrapAdminToken(store, tokens, dataDir, options.onAdminToken);

    const keys = new KeyService(store, backends.wrapper, undefined, {
      secretRoot: master.key,
      ...(backends.pkcs11 ? { pkcs11: backends.pkcs11 } : {}),
      ...(settings.keys?.default_backend ? { defaultBackend: settings.keys.default_backend } : {}),
    });
    const published = new PublishedCheckpointFile(dataDir, (err) => logger.error({ err, event: 'tlog.published_checkpoint' }, 'cannot record the published checkpoint'));
    stopPublished = () => published.flush();
    const log = await LogService.open(store, backends.wrapper, {
      ...(backends.pkcs11 ? { keyToken: backends.pkcs11 } : {}),
      newKeyInToken: settings.tlog?.key_backend === 'pkcs11',
      onCheckpoint: (tree) => published.record(tree.size, tree.checkpoint),
      // Configured (tlog.origin or public_url), else the stored one, else a generated unique one.
      ...(logOrigin !== undefined ? { origin: logOrigin } : {}),
      onError: (err) => logger.error({ err, event: 'tlog.integrate' }, 'log integration failed'),
    });
    log.start();
    stopLog = () => log.close();
    const limits: Partial<AppLimits> = {
      ...(settings.limits?.max_artifact_bytes ? { maxArtifactBytes: settings.limits.max_artifact_bytes } : {}),
      ...(settings.limits?.max_json_bytes ? { maxJsonBytes: settings.limits.max_json_bytes } : {}),
      ...options.limits,
    };
    const c = settings.connections;
    const connections: Partial<ConnectionLimits> = {
      ...(c?.header_timeout_ms !== undefined ? { headersTimeoutMs: c.header_timeout_ms } : {}),
      ...(c?.request_timeout_ms !== undefined ? { requestTimeoutMs: c.request_timeout_ms } : {}),
      ...(c?.keep_alive_timeout_ms !== undefined ? { keepAliveTimeoutMs: c.keep_alive_timeout_ms } : {}),
      ...(c?.idle_timeout_ms !== undefined ? { idleTimeoutMs: c.idle_timeout_ms } : {}),
      ...(c?.max !== undefined ? { maxConnections: c.max } : {}),
      ...(c?.max_per_source !== undefined ? { maxConnectionsPerSource: c.max_per_source } : {}),
      ...options.connections,
    };
    const tls = tlsOptions(options, settings.tls);
    const pulling = options.pull !== undefined && options.pull.length > 0;
    if (pulling) {
      if (options.listen !== undefined) throw new SignetError('USAGE', '--listen and --pull exclude each other: a pull-mode signer listens on no port');
      if (tls === undefined || options.pullCa === undefined) throw new SignetError('USAGE', '--pull needs --tls-cert and --tls-key (a signer certificate) and --ca (the pull CA)');
    }
    const trustProxy = trustedProxies(options.trustProxy ?? settings.trust_proxy);
    // Authorisation decisions (allow and deny) go to DATA/audit.log, 0600.
    // Each line is chained to the one before by an HMAC under a key derived from the master key
    // (`signet audit verify`).
    const audit = new FileAuditSink(join(dataDir, 'audit.log'), { chainKey: auditChainKey(master.key) });
    stopAudit = () => audit.close();
    const app = await buildApp({
      store, keys, tokens, log, logger, accessLog, limits, audit, connections,
      logRequesterKey: requesterKey(master.key),
      requestAnswerKey: requestAnswerKey(master.key),
      ...(trustProxy ? { trustProxy } : {}),
      ...((options.vetMirrors ?? settings.vet?.mirrors) !== undefined ? { vetMirrors: (options.vetMirrors ?? settings.vet?.mirrors)! } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(tls ? { https: tls } : {}),
    });
    let address: string;
    let pull: { close(): void } | undefined;
    if (pulling) {
      // No listening socket: connections arrive through the relays (src/pull/signer.ts).
      await app.ready();
      const { startPull } = await import('../pull/signer.js');
      pull = startPull({
        relays: options.pull!,
        cert: tls!.cert,
        key: tls!.key,
        ca: readPem(options.pullCa!, 'CA certificate'),
        server: app.server,
        logger,
        ...(options.pullPool !== undefined ? { pool: options.pullPool } : {}),
      });
      address = options.pull!.map((r) => `pull:${r}`).join(' ');
    } else {
      const { host, port } = parseListen(options.listen ?? settings.listen ?? DEFAULT_LISTEN);
      address = await app.listen({ host, port });
    }
    logger.info({ event: 'listening', url: address, store: store.engine, tls: tls !== undefined }, 'signet is serving');
    return {
      app,
      url: address,
      store,
      logger,
      reopenAudit() {
        audit.reopen();
        logger.info({ event: 'audit.reopened' }, 'reopened the audit log');
      },
      async close() {
        pull?.close();
        await app.close();
        await log.close();
        await published.flush();
        await store.close();
        audit.close();
        await keys.close();
        stdout?.flushSync();
      },
    };
  } catch (err) {
    await stopLog?.().catch(() => undefined);
    await stopPublished?.();
    await stopBackends?.().catch(() => undefined);
    stopAudit?.();
    await store.close();
    throw err;
  }
}

/** The PKCS#11 backend (settings keys.pkcs11) and the wrapper of sealed keys' data keys: the
 *  token's AES key with keys.master_in_token, else master.key. */
async function openKeyBackends(settings: SettingsFile, store: Store, master: Secret): Promise<{
  pkcs11?: Pkcs11Backend;
  wrapper: Secret | DataKeyWrapper;
  close(): Promise<void>;
}> {
  const k = settings.keys;
  const wantsToken = k?.default_backend === 'pkcs11' || k?.master_in_token === true || settings.tlog?.key_backend === 'pkcs11';
  if (!k?.pkcs11) {
    if (wantsToken) throw new SignetError('CONFIG_INVALID', 'settings name the pkcs11 backend but keys.pkcs11 (module, token_label, pin_file) is missing');
    // A store whose keys are in a token still opens: those keys are refused (KEY_BACKEND_UNAVAILABLE).
    return { wrapper: master, close: async () => undefined };
  }
  const { Pkcs11Backend } = await import('../keys/pkcs11-backend.js');
  const pkcs11 = new Pkcs11Backend({
    module: k.pkcs11.module,
    tokenLabel: k.pkcs11.token_label,
    pinFile: k.pkcs11.pin_file,
    ...(k.pkcs11.sessions !== undefined ? { sessions: k.pkcs11.sessions } : {}),
  });
  try {
    let wrapper: Secret | DataKeyWrapper = master;
    if (k.master_in_token === true) {
      const { tokenMasterWrapper } = await import('../keys/pkcs11-master.js');
      wrapper = await tokenMasterWrapper(store, pkcs11.token, master);
    } else {
      void pkcs11.token; // open now: a bad module, label or PIN stops the start
    }
    return { pkcs11, wrapper, close: () => pkcs11.close() };
  } catch (err) {
    await pkcs11.close();
    throw err;
  }
}

function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!statSync(dataDir).isDirectory()) throw new Error('not a directory');
  } catch (cause) {
    throw new SignetError('CONFIG_INVALID', `cannot use data directory ${dataDir}`, { cause });
  }
}

async function bootstrapAdminToken(
  store: Store,
  tokens: TokenService,
  dataDir: string,
  onAdminToken: ServeOptions['onAdminToken'],
): Promise<void> {
  // Several nodes may start together on one database: exactly one claims the bootstrap.
  const claim = `claim-${process.pid}-${Date.now()}-${Math.random()}`;
  if ((await store.putMetaIfAbsent('admin_bootstrap', claim)) !== claim) return;
  const { token, record } = await tokens.issue({ policies: [ADMIN_POLICY], displayName: 'admin (first start)', ttlMs: null });
  const path = join(dataDir, 'admin-token');
  writeFileAtomic(path, Buffer.concat([token.reveal(), Buffer.from('\n')]), 0o600);
  await store.setMeta('admin_bootstrap', record.accessor);
  onAdminToken?.(token, path);
}

function tlsOptions(
  options: ServeOptions,
  fromFile: { cert: string; key: string; min_version: 'TLSv1.2' | 'TLSv1.3' } | undefined,
): { cert: Buffer; key: Buffer; minVersion: 'TLSv1.2' | 'TLSv1.3' } | undefined {
  const certPath = options.tlsCert ?? fromFile?.cert;
  const keyPath = options.tlsKey ?? fromFile?.key;
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    throw new SignetError('USAGE', '--tls-cert and --tls-key go together');
  }
  const read = (p: string, what: string): Buffer => {
    try {
      return readFileSync(p);
    } catch {
      throw new SignetError('CONFIG_INVALID', `cannot read TLS ${what} ${p}`);
    }
  };
  return { cert: read(certPath, 'certificate'), key: read(keyPath, 'key'), minVersion: fromFile?.min_version ?? 'TLSv1.3' };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new SignetError('CONFIG_INVALID', `cannot read the ${what} ${path}`);
  }
}

function trustedProxies(blocks: readonly string[] | undefined): CidrSet | undefined {
  if (blocks === undefined || blocks.length === 0) return undefined;
  try {
    return CidrSet.parse(blocks);
  } catch (err) {
    if (err instanceof CidrError) throw new SignetError('CONFIG_INVALID', `trust_proxy: ${err.message}`);
    throw err;
  }
}
