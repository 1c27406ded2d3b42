// Start a real signet server on loopback (port 0) in a temp data dir, with logs captured.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/serve.js';

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly dataDir: string;
  readonly adminToken: string;
  /** Every JSON log line the server wrote. */
  readonly logs: string[];
  close(): Promise<void>;
}

export function logSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      cb();
    },
  });
}

export async function startTestServer(options: Partial<ServeOptions> & { dataDir?: string; keepData?: boolean } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), 'signet-test-')), 'data');
  const logs: string[] = [];
  let adminToken = '';
  const server = await startServer({
    listen: '127.0.0.1:0',
    logLevel: 'info',
    logDestination: logSink(logs),
    onAdminToken: (token) => {
      adminToken = token.revealString();
    },
    ...options,
    dataDir,
  });
  return {
    server,
    url: server.url,
    dataDir,
    adminToken,
    logs,
    async close() {
      await server.close();
      if (!options.keepData && options.dataDir === undefined) rmSync(join(dataDir, '..'), { recursive: true, force: true });
    },
  };
}

export async function api(
  t: { url: string },
  method: string,
  path: string,
  init: { token?: string; json?: unknown; body?: Buffer | string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any; text: string }> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: Buffer | string | undefined = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (body !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/octet-stream';
  }
  const res = await fetch(new URL(path, t.url), { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}
