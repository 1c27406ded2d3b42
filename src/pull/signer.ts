// `signet serve --pull`: the signer's side of pull mode (docs/pull-mode.md). It listens on no port:
// it dials each relay (mutual TLS 1.3, its signer certificate; the relay's must be a relay
// certificate of the pull CA for the relay's host name), keeps `pool` idle connections there, and
// when the relay pairs one with a client (`PAIR MODE ADDRESS`) hands that connection to the HTTPS
// server as if it had been accepted: the client's TLS session with the signer runs inside it.
// Lost connections are dialled again with exponential backoff; several relays are served at once.
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { SignetError } from '../errors.js';
import { roleOf } from './roles.js';
import { PULL_HELLO } from './relay.js';

export interface PullOptions {
  /** https://HOST:PORT of each relay. */
  readonly relays: readonly string[];
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
  /** The HTTPS server that serves paired connections (never listening). */
  readonly server: Server;
  readonly logger: Logger;
  /** Idle connections kept at each relay (default 8). */
  readonly pool?: number;
  readonly maxBackoffMs?: number;
}

export interface PullStatus {
  readonly relays: Array<{ url: string; idle: number; paired: number; failures: number; last_error?: string }>;
}

export interface RunningPull {
  status(): PullStatus;
  close(): void;
}

export function parseRelayUrl(text: string): { host: string; port: number; url: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new SignetError('USAGE', `--pull is not a URL: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (u.protocol !== 'https:' || u.pathname !== '/' || u.search !== '' || u.username !== '' || u.password !== '') {
    throw new SignetError('USAGE', '--pull takes https://RELAY:PORT (a relay address, nothing after it)');
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { host, port: Number(u.port || 443), url: u.origin };
}

const isIp = (h: string): boolean => /^[\d.]+$/.test(h) || h.includes(':');

export function startPull(options: PullOptions): RunningPull {
  const pool = options.pool ?? 8;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const log = options.logger;
  let closed = false;
  const sockets = new Set<tls.TLSSocket>();
  const timers = new Set<NodeJS.Timeout>();

  const relays = options.relays.map((text) => {
    const r = parseRelayUrl(text);
    return { ...r, idle: 0, dialing: 0, paired: 0, failures: 0, lastError: undefined as string | undefined };
  });

  function later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  function fill(relay: (typeof relays)[number]): void {
    while (!closed && relay.idle + relay.dialing < pool) dial(relay);
  }

  function failed(relay: (typeof relays)[number], why: string): void {
    relay.failures++;
    if (relay.lastError !== why || relay.failures === 1) log.warn({ event: 'pull.connect_failed', relay: relay.url, reason: why, failures: relay.failures }, 'cannot connect to the relay');
    relay.lastError = why;
    // Exponential backoff with jitter, from 250 ms up to maxBackoff.
    const base = Math.min(maxBackoff, 250 * 2 ** Math.min(relay.failures - 1, 10));
    later(() => fill(relay), base / 2 + Math.random() * (base / 2));
  }

  function dial(relay: (typeof relays)[number]): void {
    relay.dialing++;
    let state: 'dialing' | 'idle' | 'paired' | 'gone' = 'dialing';
    const socket = tls.connect({
      host: relay.host,
      port: relay.port,
      ...(isIp(relay.host) ? {} : { servername: relay.host }),
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      minVersion: 'TLSv1.3',
      checkServerIdentity: (host, cert) => {
        const err = tls.checkServerIdentity(host, cert);
        if (err) return err;
        return roleOf(new X509Certificate(cert.raw)) === 'relay' ? undefined : new Error('the relay presented a certificate without the relay role');
      },
    });
    sockets.add(socket);
    socket.setNoDelay(true);
    let buffered = Buffer.alloc(0);
    const leave = (why: string | undefined): void => {
      if (state === 'dialing') relay.dialing--;
      if (state === 'idle') relay.idle--;
      const was = state;
      state = 'gone';
      if (closed) return;
      if (was === 'dialing' || why !== undefined) failed(relay, why ?? 'closed');
      else fill(relay);
    };
    socket.on('secureConnect', () => {
      socket.setKeepAlive(true, 15_000);
      // Requests and answers are small: each goes out at once (no Nagle delay).
      socket.setNoDelay(true);
      socket.write(`${PULL_HELLO}\n`);
    });
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const nl = buffered.indexOf(0x0a);
        if (nl < 0) {
          if (buffered.length > 256) socket.destroy(new Error('the relay sent a line too long'));
          return;
        }
        const line = buffered.subarray(0, nl).toString('latin1').trim();
        buffered = buffered.subarray(nl + 1);
        if (state === 'dialing' && line === 'READY') {
          state = 'idle';
          relay.dialing--;
          relay.idle++;
          relay.failures = 0;
          relay.lastError = undefined;
          continue;
        }
        if (state === 'dialing' && line.startsWith('REFUSED')) {
          leave(`refused by the relay: ${line.slice(8, 120)}`);
          socket.destroy();
          return;
        }
        const pair = /^PAIR (tunnel|proxy) (\S{1,64})$/.exec(line);
        if (state === 'idle' && pair) {
          state = 'paired';
          relay.idle--;
          relay.paired++;
          socket.off('data', onData);
          socket.pause();
          if (buffered.length > 0) socket.unshift(buffered);
          sockets.delete(socket);
          // A replacement goes up at once: the pool stays full while this one serves a client.
          fill(relay);
          // The source the relay reports for its client: what request.ip and CIDR bindings see.
          const address = pair[2]!;
          Object.defineProperty(socket, 'remoteAddress', { value: address, configurable: true });
          options.server.emit('connection', socket);
          socket.resume();
          return;
        }
        socket.destroy(new Error(`unexpected line from the relay: ${JSON.stringify(line.slice(0, 40))}`));
        return;
      }
    };
    socket.on('data', onData);
    socket.on('error', (err: NodeJS.ErrnoException) => leave(err.code ?? err.message));
    socket.on('close', () => {
      sockets.delete(socket);
      if (state !== 'gone' && state !== 'paired') leave(undefined);
    });
  }

  for (const r of relays) fill(r);
  log.info({ event: 'pull.started', relays: relays.map((r) => r.url), pool }, 'signet serves through relays; it listens on no port');

  return {
    status: () => ({ relays: relays.map((r) => ({ url: r.url, idle: r.idle, paired: r.paired, failures: r.failures, ...(r.lastError ? { last_error: r.lastError } : {}) })) }),
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
    },
  };
}
