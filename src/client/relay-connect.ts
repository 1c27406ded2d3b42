// Reaching a pull-mode signer through a relay (docs/pull-mode.md): SIGNET_ADDR=relay://RELAY:PORT/SIGNER.
// The client opens TLS to the relay (a relay certificate of the pull CA for RELAY), asks
// `CONNECT SIGNER`, and inside that tunnel opens a second TLS session with the signer itself (a
// signer certificate of the pull CA named SIGNER). HTTP runs in the inner session: the relay only
// copies bytes it cannot read or change.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { SignetError, isErrorCode } from '../errors.js';

export interface RelayTarget {
  readonly host: string;
  readonly port: number;
  readonly signer: string;
  /** The pull CA file from the URL (`?ca=FILE`), else --ca-file. */
  readonly caFile?: string;
}

const NAME = /^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$/;

export function parseRelayAddr(url: URL): RelayTarget {
  const signer = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
  if (!NAME.test(signer)) throw new SignetError('USAGE', 'a relay address names the signer: relay://RELAY:PORT/SIGNER (the signer certificate\'s name)');
  if (url.username !== '' || url.password !== '') throw new SignetError('USAGE', 'a relay address carries no credentials');
  const ca = url.searchParams.get('ca');
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), signer, ...(ca ? { caFile: ca } : {}) };
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The role a pull CA certificate carries (src/pull/roles.ts is the server's copy of this rule). */
function hasRole(raw: Buffer, role: 'relay' | 'signer'): boolean {
  const x = new X509Certificate(raw);
  const ous = x.subject.split('\n').filter((l) => l.startsWith('OU='));
  const eku = x.keyUsage ?? [];
  const needs = role === 'relay' ? [SERVER_AUTH] : [SERVER_AUTH, CLIENT_AUTH];
  return ous.length === 1 && ous[0] === `OU=signet-${role}` && needs.every((u) => eku.includes(u));
}

/** An http.Agent whose every connection is a tunnel through the relay to the signer. */
export class RelayAgent extends http.Agent {
  readonly #target: RelayTarget;
  readonly #ca: Buffer;
  readonly #connectTimeoutMs: number;

  constructor(target: RelayTarget, ca: Buffer, connectTimeoutMs: number) {
    super({ keepAlive: true });
    this.#target = target;
    this.#ca = ca;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  override createConnection(_options: unknown, callback?: (err: Error | null, socket: Duplex) => void): Duplex | undefined {
    void this.#open().then(
      (socket) => callback?.(null, socket),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }

  async #open(): Promise<TLSSocket> {
    const tls = process.getBuiltinModule('node:tls');
    const t = this.#target;
    const ca = this.#ca;
    let timer: NodeJS.Timeout | undefined;
    let outer: TLSSocket | undefined;
    const work = new Promise<TLSSocket>((resolve, reject) => {
      const isIp = /^[\d.]+$/.test(t.host) || t.host.includes(':');
      const o = tls.connect({
        host: t.host,
        port: t.port,
        ...(isIp ? {} : { servername: t.host }),
        ca,
        minVersion: 'TLSv1.3',
        checkServerIdentity: (host, cert) => tls.checkServerIdentity(host, cert) ?? (hasRole(cert.raw, 'relay') ? undefined : new Error('the relay\'s certificate lacks the relay role')),
      });
      outer = o;
      o.once('error', reject);
      o.once('secureConnect', () => {
        // Small requests and answers go out at once (no Nagle delay waiting for an ACK).
        o.setNoDelay(true);
        o.write(`CONNECT ${t.signer} HTTP/1.1\r\nHost: ${t.signer}\r\n\r\n`);
        let head = Buffer.alloc(0);
        const onData = (chunk: Buffer): void => {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) {
            if (head.length > 16384) reject(new SignetError('SERVER_NOT_SIGNET', `the relay at ${t.host}:${t.port} answered CONNECT with something else`));
            return;
          }
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0);
          if (status !== 200) {
            // The relay's refusal (RELAY_NO_SIGNER, RELAY_BUSY, …): wait for its whole body.
            const length = Number(/content-length: *(\d+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0);
            if (head.length < end + 4 + length) return;
            o.off('data', onData);
            o.destroy();
            reject(relayRefusal(head.subarray(end + 4, end + 4 + length), status, t));
            return;
          }
          o.off('data', onData);
          o.pause();
          const rest = head.subarray(end + 4);
          if (rest.length > 0) o.unshift(rest);
          const inner = tls.connect({
            socket: o,
            servername: t.signer,
            ca,
            minVersion: 'TLSv1.3',
            checkServerIdentity: (host, cert) => tls.checkServerIdentity(host, cert) ?? (hasRole(cert.raw, 'signer') ? undefined : new Error('the signer\'s certificate lacks the signer role')),
          });
          inner.once('error', reject);
          inner.once('secureConnect', () => {
            inner.off('error', reject);
            resolve(inner);
          });
        };
        o.on('data', onData);
      });
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SignetError('SERVER_UNREACHABLE', `no tunnel to signer ${t.signer} through ${t.host}:${t.port} within ${this.#connectTimeoutMs / 1000} s`)), this.#connectTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (err) {
      outer?.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

function relayRefusal(body: Buffer, status: number, t: RelayTarget): SignetError {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    if (isErrorCode(code)) return new SignetError(code, `relay ${t.host}:${t.port}: ${typeof parsed.error?.message === 'string' ? parsed.error.message.slice(0, 200) : `HTTP ${status}`}`);
  } catch {
    // not JSON
  }
  return new SignetError('SERVER_NOT_SIGNET', `the relay at ${t.host}:${t.port} refused the tunnel (HTTP ${status})`);
}
