// Pull mode's commands (docs/pull-mode.md): `signet ca init|issue` (the private CA of the mutual
// TLS), `signet relay` (run a relay) and `signet relay status`.
import { Command, Option } from './commander.js';
import { SignetError } from '../errors.js';
import { printJson, printLine, readInputFile, type GlobalOptions } from './common.js';

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

function list(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function days(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 36500) throw new SignetError('USAGE', '--days is a whole number of days, 1 to 36500');
  return n;
}

export function registerPullCommands(program: Command): void {
  const ca = program.command('ca').description('the private CA of pull mode\'s mutual TLS (docs/pull-mode.md)');
  ca.command('init')
    .description('create a CA: DIR/ca.pem and DIR/ca.key (0600)')
    .requiredOption('--out <dir>', 'directory for ca.pem and ca.key')
    .option('--name <name>', 'the CA\'s name (default signet-pull-ca)')
    .addOption(new Option('--algo <algorithm>', 'key algorithm').choices(['ed25519', 'p256']).default('ed25519'))
    .option('--days <n>', 'validity in days (default 3650)')
    .option('--force', 'replace a CA already in DIR')
    .action(async (opts: { out: string; name?: string; algo: 'ed25519' | 'p256'; days?: string; force?: boolean }, cmd: Command) => {
      const { initCa } = await import('../pull/ca.js');
      const d = days(opts.days);
      const files = initCa(opts.out, { algorithm: opts.algo, ...(opts.name ? { name: opts.name } : {}), ...(d ? { days: d } : {}), ...(opts.force ? { force: true } : {}) });
      if (globals(cmd).json) printJson(files);
      else printLine(`${files.cert}\n${files.key}`);
    });
  ca.command('issue')
    .description('issue a certificate for a relay, a signer or a client: DIR/NAME.pem and DIR/NAME.key (0600)')
    .argument('<name>', 'certificate name (CN and DNS name): the relay\'s host name, the signer\'s name in relay:// addresses')
    .addOption(new Option('--role <role>', 'what the certificate is for').choices(['relay', 'signer', 'client']).makeOptionMandatory())
    .requiredOption('--out <dir>', 'directory for NAME.pem and NAME.key')
    .option('--ca <dir>', 'directory holding ca.pem and ca.key (default: --out)')
    .option('--dns <names>', 'more DNS names, comma-separated')
    .option('--ip <addresses>', 'IPv4 addresses, comma-separated (a relay reached by address)')
    .addOption(new Option('--algo <algorithm>', 'key algorithm').choices(['ed25519', 'p256']).default('ed25519'))
    .option('--days <n>', 'validity in days (default 397)')
    .action(async (name: string, opts: { role: 'relay' | 'signer' | 'client'; out: string; ca?: string; dns?: string; ip?: string; algo: 'ed25519' | 'p256'; days?: string }, cmd: Command) => {
      const { issueCertificate } = await import('../pull/ca.js');
      const d = days(opts.days);
      const dns = list(opts.dns);
      const ips = list(opts.ip);
      const files = issueCertificate(opts.out, name, {
        role: opts.role,
        algorithm: opts.algo,
        ...(opts.ca ? { caDir: opts.ca } : {}),
        ...(dns ? { dns } : {}),
        ...(ips ? { ips } : {}),
        ...(d ? { days: d } : {}),
      });
      if (globals(cmd).json) printJson({ ...files, role: opts.role });
      else printLine(`${files.cert}\n${files.key}`);
    });

  const relay = program
    .command('relay')
    .description('run a pull-mode relay: signers dial in, clients are paired with them (stores nothing, holds no key)')
    .option('--listen <host:port>', 'address to listen on')
    .option('--tls-cert <file>', 'the relay\'s certificate (role relay)')
    .option('--tls-key <file>', 'its private key')
    .option('--ca <file>', 'the pull CA certificate (signer and client certificates chain to it)')
    .option('--max-queue <n>', 'clients waiting for a free signer connection, at most (default 256)')
    .option('--require-client-cert', 'refuse clients without a client certificate of the pull CA')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .action(async (opts: { listen?: string; tlsCert?: string; tlsKey?: string; ca?: string; maxQueue?: string; requireClientCert?: boolean; logLevel?: string }) => {
      if (!opts.listen || !opts.tlsCert || !opts.tlsKey || !opts.ca) throw new SignetError('USAGE', 'signet relay needs --listen HOST:PORT --tls-cert F --tls-key F --ca F');
      const { parseListen } = await import('../server/settings.js');
      const { startRelay } = await import('../pull/relay.js');
      const { pino } = await import('pino');
      const { host, port } = parseListen(opts.listen);
      const maxQueue = opts.maxQueue === undefined ? undefined : Number(opts.maxQueue);
      if (maxQueue !== undefined && (!Number.isInteger(maxQueue) || maxQueue < 0)) throw new SignetError('USAGE', '--max-queue is a whole number');
      const logger = pino({ level: opts.logLevel ?? 'info', base: { service: 'signet-relay' } });
      const running = await startRelay({
        host,
        port,
        cert: readInputFile(opts.tlsCert),
        key: readInputFile(opts.tlsKey),
        ca: readInputFile(opts.ca),
        logger,
        ...(maxQueue !== undefined ? { maxQueue } : {}),
        ...(opts.requireClientCert ? { requireClientCert: true } : {}),
      });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void running.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  relay
    .command('status')
    .description('connected signers, queue depth and pairing latency of a relay')
    .option('--relay <url>', 'https://RELAY:PORT (default: the relay of a relay:// SIGNET_ADDR)')
    .action(async (opts: { relay?: string }, cmd: Command) => {
      const g = globals(cmd);
      const addr = g.addr ?? process.env.SIGNET_ADDR;
      let target = opts.relay;
      if (target === undefined && addr?.startsWith('relay://')) target = `https://${new URL(addr).host}`;
      if (target === undefined) throw new SignetError('USAGE', 'pass --relay https://RELAY:PORT');
      const caFile = g.caFile ?? process.env.SIGNET_CA_FILE;
      const status = await fetchStatus(target, caFile);
      if (g.json) {
        printJson(status);
        return;
      }
      const s = status as { signers: Array<{ name: string; idle: number; active: number }>; idle: number; active: number; queue: { depth: number; max: number }; latency_ms: { pair_p50: number; pair_p99: number; paired: number } };
      printLine(`signers ${s.signers.length}  connections idle ${s.idle} active ${s.active}  queue ${s.queue.depth}/${s.queue.max}  pairing p50 ${s.latency_ms.pair_p50} ms p99 ${s.latency_ms.pair_p99} ms (${s.latency_ms.paired} paired)`);
      for (const x of s.signers) printLine(`${x.name}\tidle ${x.idle}\tactive ${x.active}`);
    });
}

async function fetchStatus(target: string, caFile: string | undefined): Promise<unknown> {
  const https = process.getBuiltinModule('node:https');
  const url = new URL('/relay/status', target);
  if (url.protocol !== 'https:') throw new SignetError('USAGE', '--relay is https://RELAY:PORT');
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...(caFile ? { ca: readInputFile(caFile) } : {}), minVersion: 'TLSv1.3', timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error();
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new SignetError('SERVER_NOT_SIGNET', `${url.origin} is not a signet relay (HTTP ${res.statusCode ?? 0})`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new SignetError('SERVER_UNREACHABLE', `no answer from ${url.origin}`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof SignetError ? err : new SignetError('SERVER_UNREACHABLE', `cannot reach the relay at ${url.origin} (${err.code ?? err.message})`)));
  });
}
