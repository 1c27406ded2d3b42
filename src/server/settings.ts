// Server settings: flags and environment first, then an optional YAML settings file for what the
// flags do not cover. Unknown fields are refused, so a typo never silently changes behaviour.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SignetError } from '../errors.js';

const settingsFileSchema = z
  .object({
    listen: z.string().optional(),
    store: z.string().optional(),
    master_key_file: z.string().optional(),
    tls: z
      .object({
        cert: z.string(),
        key: z.string(),
        /** TLS 1.3 only unless an operator opts into 1.2 for old clients. */
        min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.3'),
      })
      .strict()
      .optional(),
    limits: z
      .object({
        max_artifact_bytes: z.number().int().positive().optional(),
        max_json_bytes: z.number().int().positive().max(64 * 1024 * 1024).optional(),
      })
      .strict()
      .optional(),
    /**
     * The URL clients reach this deployment at (behind a reverse proxy: the proxy's). A new log's
     * origin is derived from it (`host[:port][/path]/log`) unless `tlog.origin` says otherwise.
     */
    public_url: z.string().max(2048).optional(),
    /** Timeouts (milliseconds) and caps of the listening socket; defaults in docs/security.md. */
    connections: z
      .object({
        header_timeout_ms: z.number().int().min(100).max(600_000).optional(),
        request_timeout_ms: z.number().int().min(100).max(86_400_000).optional(),
        keep_alive_timeout_ms: z.number().int().min(100).max(600_000).optional(),
        idle_timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
        max: z.number().int().min(1).max(1_000_000).optional(),
        max_per_source: z.number().int().min(1).max(1_000_000).optional(),
      })
      .strict()
      .optional(),
    /** The transparency log. `origin` names the log (checkpoint line 1, log key name) for good;
     *  `key_backend` says where a new log's checkpoint key is made (docs/key-backends.md). */
    tlog: z
      .object({
        origin: z.string().min(1).max(255).regex(/^[^\s+]+$/, 'no white space or +').optional(),
        key_backend: z.enum(['sealed', 'pkcs11']).optional(),
      })
      .strict()
      .optional(),
    /** Where keys live (docs/key-backends.md): the default backend of `key create`, the PKCS#11
     *  token, and whether the token's AES key wraps the data keys of sealed keys. */
    keys: z
      .object({
        default_backend: z.enum(['sealed', 'pkcs11']).optional(),
        pkcs11: z
          .object({
            module: z.string().min(1),
            token_label: z.string().min(1).max(32),
            pin_file: z.string().min(1),
            sessions: z.number().int().min(1).max(64).optional(),
          })
          .strict()
          .optional(),
        master_in_token: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** Server-side vetting (docs/vetting.md): a directory of read-only git mirrors and keyrings. */
    vet: z.object({ mirrors: z.string().min(1).max(4096) }).strict().optional(),
    /** CIDR blocks of reverse proxies whose X-Forwarded-For names the client (default: none). */
    trust_proxy: z.array(z.string().max(64)).max(256).optional(),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .optional(),
  })
  .strict();

export type SettingsFile = z.infer<typeof settingsFileSchema>;

export function readSettingsFile(path: string): SettingsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new SignetError('CONFIG_INVALID', `cannot read settings file ${path}`);
  }
  if (text.length > 1024 * 1024) throw new SignetError('CONFIG_INVALID', 'settings file is larger than 1 MiB');
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 0 }) ?? {};
  } catch (err) {
    throw new SignetError('CONFIG_INVALID', `settings file is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = settingsFileSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = issue?.path.join('.') || '(top)';
    const what = issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : issue?.message;
    throw new SignetError('CONFIG_INVALID', `settings file ${at}: ${what}`);
  }
  return r.data;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new SignetError('USAGE', `--listen wants HOST:PORT, got ${JSON.stringify(listen)}`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/**
 * The log origin a public URL implies: C2SP tlog-checkpoint wants "a schema-less URL" naming the
 * log, so `https://sign.example.org/signet/` gives `sign.example.org/signet/log`.
 */
export function originFromPublicUrl(publicUrl: string): string {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    throw new SignetError('CONFIG_INVALID', `public_url is not a URL: ${JSON.stringify(publicUrl)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SignetError('CONFIG_INVALID', 'public_url must be an http(s) URL');
  if (url.username || url.password || url.search || url.hash) {
    throw new SignetError('CONFIG_INVALID', 'public_url must not carry credentials, a query or a fragment');
  }
  const path = url.pathname.replace(/\/+$/, '');
  const origin = `${url.host}${path}/log`;
  if (/[\s+]/u.test(decodeURIComponent(origin)) || origin.includes('+')) {
    throw new SignetError('CONFIG_INVALID', 'public_url gives a log origin with white space or +');
  }
  return origin;
}

/** The configured log origin: `tlog.origin`, else one derived from `public_url`, else none. */
export function configuredLogOrigin(settings: SettingsFile): string | undefined {
  if (settings.tlog?.origin !== undefined) return settings.tlog.origin;
  if (settings.public_url !== undefined) return originFromPublicUrl(settings.public_url);
  return undefined;
}
