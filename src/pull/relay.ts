// `signet relay`: the public face of a signer that accepts no connection (docs/pull-mode.md).
//
// One TLS 1.3 port. Signers dial in with a signer certificate of the pull CA, say `SIGNET-PULL/1`
// and wait, idle, in a pool. Clients speak HTTP:
//   - `CONNECT SIGNER-NAME`: signet's own clients. The relay pairs the client with an idle
//     connection of that signer, tells the signer `PAIR tunnel ADDRESS`, and from then on only
//     copies bytes: the client runs its own TLS session with the signer inside, so the relay sees
//     neither token nor artifact and cannot change an answer.
//   - any other request (curl): the relay terminates the client's TLS, opens a TLS session to the
//     signer over a paired connection (checking the signer's certificate) and forwards the
//     request. The relay sees that request; docs/pull-mode.md says when that is acceptable.
// The relay stores nothing and holds no signing key. A client waits in a bounded queue while
// every signer connection is busy; with no signer connected it is answered 503 at once.
import http from 'node:http';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SignetError } from '../errors.js';
import { nameOf, roleOf } from './roles.js';

export const PULL_HELLO = 'SIGNET-PULL/1';
const FIRST_LINE_MAX = 64;
const FIRST_LINE_TIMEOUT_MS = 10_000;

export interface RelayOptions {
  readonly host: string;
  readonly port: number;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The pull CA: signer (and client) certificates must chain to it. */
  readonly ca: Buffer;
  readonly logger: Logger;
  /** Clients waiting for a free signer connection, at most (default 256). */
  readonly maxQueue?: number;
  /** How long a client waits for one (default 30 s). */
  readonly queueTimeoutMs?: number;
  /** Refuse clients without a client certificate of the pull CA (default: certificates optional). */
  readonly requireClientCert?: boolean;
  /** How long a peer may stay silent after the TLS handshake (default 10 s). */
  readonly firstLineTimeoutMs?: number;
  /** Tests (a relay that records): every byte copied between a client and a signer. */
  readonly tap?: (chunk: Buffer, direction: 'to-signer' | 'to-client') => void;
}

interface SignerConn {
  readonly socket: tls.TLSSocket;
  readonly name: string;
}

interface Waiter {
  readonly name: string | undefined;
  readonly resolve: (conn: SignerConn) => void;
  readonly reject: (err: SignetError) => void;
  readonly since: number;
  timer?: NodeJS.Timeout;
}

export interface RelayStatus {
  readonly signers: Array<{ name: string; idle: number; active: number }>;
  readonly idle: number;
  readonly active: number;
  readonly queue: { depth: number; max: number };
  readonly latency_ms: { pair_p50: number; pair_p99: number; paired: number };
  readonly refused: Record<string, number>;
}

export interface RunningRelay {
  readonly url: string;
  readonly port: number;
  status(): RelayStatus;
  close(): Promise<void>;
}

export async function startRelay(options: RelayOptions): Promise<RunningRelay> {
  const log = options.logger;
  const maxQueue = options.maxQueue ?? 256;
  const queueTimeoutMs = options.queueTimeoutMs ?? 30_000;
  const idle: SignerConn[] = [];
  const active = new Map<string, number>();
  const waiters: Waiter[] = [];
  const refused: Record<string, number> = {};
  const pairWaits: number[] = [];
  const open = new Set<Socket>();

  const registry = new Registry();
  const mSigners = new Gauge({ name: 'signet_relay_signers_connected', help: 'Signers with at least one connection to this relay.', registers: [registry] });
  const mIdle = new Gauge({ name: 'signet_relay_idle_connections', help: 'Signer connections waiting for a client.', registers: [registry] });
  const mActive = new Gauge({ name: 'signet_relay_active_connections', help: 'Signer connections paired with a client.', registers: [registry] });
  const mQueue = new Gauge({ name: 'signet_relay_queue_depth', help: 'Clients waiting for a free signer connection.', registers: [registry] });
  const mWait = new Histogram({
    name: 'signet_relay_pair_wait_seconds',
    help: 'Time from a client asking to being paired with a signer connection.',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const mSession = new Histogram({
    name: 'signet_relay_session_seconds',
    help: 'Lifetime of a paired connection (tunnel or forwarded request), by mode.',
    labelNames: ['mode'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [registry],
  });
  const mRefused = new Counter({ name: 'signet_relay_refused_total', help: 'Connections and requests refused, by reason.', labelNames: ['reason'], registers: [registry] });

  const signerNames = (): Set<string> => new Set([...idle.map((c) => c.name), ...[...active].filter(([, n]) => n > 0).map(([name]) => name)]);
  const refresh = (): void => {
    mSigners.set(signerNames().size);
    mIdle.set(idle.length);
    mActive.set([...active.values()].reduce((a, b) => a + b, 0));
    mQueue.set(waiters.length);
  };
  const refuse = (reason: string): void => {
    refused[reason] = (refused[reason] ?? 0) + 1;
    mRefused.labels(reason).inc();
  };

  function offer(conn: SignerConn): void {
    const i = waiters.findIndex((w) => w.name === undefined || w.name === conn.name);
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      if (w!.timer) clearTimeout(w!.timer);
      w!.resolve(conn);
      refresh();
      return;
    }
    idle.push(conn);
    refresh();
  }

  function acquire(name: string | undefined): Promise<SignerConn> {
    const since = performance.now();
    const done = (conn: SignerConn): SignerConn => {
      const waited = performance.now() - since;
      mWait.observe(waited / 1000);
      pairWaits.push(waited);
      if (pairWaits.length > 1024) pairWaits.shift();
      active.set(conn.name, (active.get(conn.name) ?? 0) + 1);
      refresh();
      return conn;
    };
    const i = idle.findIndex((c) => name === undefined || c.name === name);
    if (i >= 0) {
      const [conn] = idle.splice(i, 1);
      return Promise.resolve(done(conn!));
    }
    const connected = name === undefined ? signerNames().size > 0 : signerNames().has(name);
    if (!connected) {
      refuse('no_signer');
      return Promise.reject(new SignetError('RELAY_NO_SIGNER', name === undefined ? 'no signer is connected to this relay' : `signer ${name} is not connected to this relay`));
    }
    if (waiters.length >= maxQueue) {
      refuse('queue_full');
      return Promise.reject(new SignetError('RELAY_BUSY', `every signer connection is busy and ${maxQueue} clients are waiting`));
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { name, since, resolve: (c) => resolve(done(c)), reject };
      w.timer = setTimeout(() => {
        const at = waiters.indexOf(w);
        if (at >= 0) waiters.splice(at, 1);
        refresh();
        refuse('queue_timeout');
        reject(new SignetError('RELAY_BUSY', `no signer connection became free within ${queueTimeoutMs / 1000} s`));
      }, queueTimeoutMs);
      waiters.push(w);
      refresh();
    });
  }

  function release(conn: SignerConn): void {
    const n = (active.get(conn.name) ?? 1) - 1;
    if (n <= 0) active.delete(conn.name);
    else active.set(conn.name, n);
    refresh();
  }

  /** A signer's idle connection: it stays until paired or closed. */
  function addSigner(socket: tls.TLSSocket, name: string): void {
    const conn: SignerConn = { socket, name };
    const drop = (): void => {
      const i = idle.indexOf(conn);
      if (i >= 0) idle.splice(i, 1);
      // A signer gone with clients waiting for it alone: they are told now, not at their timeout.
      if (!signerNames().has(name)) {
        for (const w of waiters.filter((x) => x.name === name)) {
          waiters.splice(waiters.indexOf(w), 1);
          if (w.timer) clearTimeout(w.timer);
          w.reject(new SignetError('RELAY_NO_SIGNER', `signer ${name} disconnected`));
        }
      }
      refresh();
    };
    socket.once('close', drop);
    socket.write('READY\n');
    log.info({ event: 'relay.signer_ready', signer: name }, 'signer connection ready');
    offer(conn);
  }

  /** Copy bytes both ways until either side closes; the relay reads nothing of them. */
  function splice(client: Socket, conn: SignerConn, head: Buffer, mode: 'tunnel'): void {
    const started = performance.now();
    const signer = conn.socket;
    if (options.tap) {
      const tap = options.tap;
      client.on('data', (c: Buffer) => tap(c, 'to-signer'));
      signer.on('data', (c: Buffer) => tap(c, 'to-client'));
      if (head.length > 0) tap(head, 'to-signer');
    }
    if (head.length > 0) signer.write(head);
    client.pipe(signer);
    signer.pipe(client);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      client.destroy();
      signer.destroy();
      release(conn);
      mSession.labels(mode).observe((performance.now() - started) / 1000);
    };
    client.once('close', end);
    signer.once('close', end);
    client.on('error', end);
    signer.on('error', end);
    signer.resume();
  }

  const httpServer = http.createServer({ headersTimeout: 10_000, requestTimeout: 0, keepAliveTimeout: 5_000 });
  httpServer.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    const name = (req.url ?? '').trim();
    const address = client.remoteAddress ?? 'unknown';
    if (!/^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$/.test(name)) {
      writeRaw(client, 400, new SignetError('BAD_REQUEST', 'CONNECT names a signer certificate name'));
      return;
    }
    acquire(name).then(
      (conn) => {
        if (client.destroyed) {
          conn.socket.destroy();
          release(conn);
          return;
        }
        conn.socket.write(`PAIR tunnel ${address}\n`);
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        splice(client, conn, head, 'tunnel');
      },
      (err: SignetError) => writeRaw(client, 503, err),
    );
  });
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/relay/status') {
      sendJson(res, 200, status());
      return;
    }
    if (req.method === 'GET' && path === '/relay/metrics') {
      void registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      });
      return;
    }
    forward(req, res);
  });

  /** A plain HTTP client's request, sent on to a signer over TLS to the signer itself. */
  function forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const address = req.socket.remoteAddress ?? 'unknown';
    acquire(undefined).then(
      (conn) => {
        conn.socket.write(`PAIR proxy ${address}\n`);
        const inner = tls.connect({
          socket: conn.socket,
          ca: options.ca,
          minVersion: 'TLSv1.3',
          // The signer's own certificate: from the pull CA, role signer, the name it connected with.
          checkServerIdentity: (_host, cert) => {
            const x = new X509Certificate(cert.raw);
            return roleOf(x) === 'signer' && nameOf(x) === conn.name ? undefined : new Error('the signer presented another certificate');
          },
        });
        let finished = false;
        const finish = (): void => {
          if (finished) return;
          finished = true;
          inner.destroy();
          conn.socket.destroy();
          release(conn);
          mSession.labels('proxy').observe((performance.now() - started) / 1000);
        };
        const headers: Record<string, string | string[] | undefined> = { ...req.headers, connection: 'close' };
        delete headers['proxy-connection'];
        delete headers['keep-alive'];
        const up = http.request({ createConnection: () => inner, method: req.method, path: req.url, headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', finish);
          answer.on('error', finish);
        });
        up.on('error', (err) => {
          log.warn({ event: 'relay.forward_failed', signer: conn.name, err: err.message }, 'forwarding to the signer failed');
          if (!res.headersSent) sendJson(res, 502, new SignetError('SIGNER_UNAVAILABLE', 'the signer connection failed').toJSON());
          else res.destroy();
          finish();
        });
        res.on('close', finish);
        req.pipe(up);
      },
      (err: SignetError) => sendJson(res, 503, err.toJSON()),
    );
  }

  const tlsServer = tls.createServer({
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    minVersion: 'TLSv1.3',
    noDelay: true,
    requestCert: true,
    // Checked below: a client may come without a certificate; one that presents a certificate
    // must present a valid one of the pull CA.
    rejectUnauthorized: false,
  });
  tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setKeepAlive(true, 15_000);
    socket.setNoDelay(true);
    const cert = socket.getPeerX509Certificate();
    const address = socket.remoteAddress ?? 'unknown';
    if (cert !== undefined && !socket.authorized) {
      refuse('certificate');
      log.warn({ event: 'relay.refused', source: address, reason: String(socket.authorizationError) }, 'refused a certificate');
      socket.destroy();
      return;
    }
    const role = cert === undefined ? undefined : roleOf(cert);
    if (cert !== undefined && role === undefined) {
      refuse('role');
      log.warn({ event: 'relay.refused', source: address, reason: 'no signet role' }, 'refused a certificate');
      socket.destroy();
      return;
    }
    // The first line says what the peer is: a signer's hello, or an HTTP request line. A peer
    // that says nothing does not keep the socket.
    let first = Buffer.alloc(0);
    const silent = setTimeout(() => {
      refuse('silent');
      socket.destroy();
    }, options.firstLineTimeoutMs ?? FIRST_LINE_TIMEOUT_MS);
    socket.once('close', () => clearTimeout(silent));
    const onData = (chunk: Buffer): void => {
      first = Buffer.concat([first, chunk]);
      const nl = first.indexOf(0x0a);
      if (nl < 0 && first.length < FIRST_LINE_MAX) return;
      clearTimeout(silent);
      socket.off('data', onData);
      socket.pause();
      const line = first.subarray(0, nl < 0 ? first.length : nl).toString('latin1').trim();
      if (line === PULL_HELLO) {
        if (role !== 'signer') {
          refuse('not_signer');
          log.warn({ event: 'relay.refused', source: address, reason: `a ${role ?? 'certificate-less'} peer offered itself as a signer` }, 'refused a signer');
          socket.end('REFUSED a signer certificate of the pull CA is required\n');
          return;
        }
        addSigner(socket, nameOf(cert!));
        return;
      }
      if (role === 'signer' || role === 'relay' || (options.requireClientCert === true && role !== 'client')) {
        refuse('not_client');
        writeRaw(socket, 403, new SignetError('PEER_REFUSED', 'this relay takes clients with a client certificate of the pull CA only'));
        return;
      }
      socket.unshift(first);
      httpServer.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
  });

  const address = await new Promise<{ port: number }>((resolve, reject) => {
    tlsServer.once('error', reject);
    tlsServer.listen(options.port, options.host, () => resolve(tlsServer.address() as { port: number }));
  });
  log.info({ event: 'relay.listening', host: options.host, port: address.port }, 'signet relay is listening');

  function status(): RelayStatus {
    const names = [...signerNames()].sort();
    const sorted = [...pairWaits].sort((a, b) => a - b);
    const q = (p: number): number => (sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 100) / 100);
    return {
      signers: names.map((name) => ({ name, idle: idle.filter((c) => c.name === name).length, active: active.get(name) ?? 0 })),
      idle: idle.length,
      active: [...active.values()].reduce((a, b) => a + b, 0),
      queue: { depth: waiters.length, max: maxQueue },
      latency_ms: { pair_p50: q(0.5), pair_p99: q(0.99), paired: sorted.length },
      refused: { ...refused },
    };
  }

  return {
    url: `https://${options.host.includes(':') ? `[${options.host}]` : options.host}:${address.port}`,
    port: address.port,
    status,
    async close() {
      for (const w of waiters.splice(0)) {
        if (w.timer) clearTimeout(w.timer);
        w.reject(new SignetError('RELAY_NO_SIGNER', 'the relay is shutting down'));
      }
      await new Promise<void>((resolve) => {
        tlsServer.close(() => resolve());
        for (const s of open) s.destroy();
      });
    },
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function writeRaw(socket: Socket, status: number, err: SignetError): void {
  const body = JSON.stringify(err.toJSON());
  const reason = status === 503 ? 'Service Unavailable' : status === 403 ? 'Forbidden' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

