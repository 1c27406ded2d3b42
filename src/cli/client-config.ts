// The client configuration file, for programs that call signet without a way to pass flags or
// environment: signet-gpg under rpmsign/git/makepkg, and Pulp, which runs its signing script with
// an environment of its own (only PULP_SIGNING_KEY_FINGERPRINT and CORRELATION_ID).
//
//   addr: https://signet.example.org:7780
//   token_file: /etc/signet/ci-token        # or token: … (then the file must not be readable by others)
//   ca_file: /etc/signet/ca.pem
//   default_key: release                     # signet sign and signet-gpg, when no key is given
//   timeout: 60s                             # how long the server may stay silent (--timeout)
//
// Found at $SIGNET_CONFIG, else $XDG_CONFIG_HOME/signet/client.yaml (~/.config/…), else
// /etc/signet/client.yaml. Flags and SIGNET_* environment variables take precedence over it.
// The location is fixed: a file next to an artifact never configures anything.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type * as Yaml from 'yaml';
import type * as Zod from 'zod';
import { SignetError } from '../errors.js';
import { parseTimeout } from './timeout.js';

export interface ClientConfig {
  readonly path?: string;
  readonly addr?: string;
  readonly token?: string;
  readonly caFile?: string;
  readonly defaultKey?: string;
  /** Milliseconds (`timeout:` as 30s, 2m, …). */
  readonly timeout?: number;
}

// yaml and zod are loaded only when a configuration file exists (most runs have none): every
// `signet` command would otherwise pay for them at startup. Synchronous, as loadClientConfig is.
const requireCjs = createRequire(import.meta.url);

function buildSchema() {
  const { z } = requireCjs('zod') as typeof Zod;
  return z
    .object({
      addr: z.string().min(1).max(2048).optional(),
      token: z.string().min(1).max(4096).optional(),
      token_file: z.string().min(1).max(4096).optional(),
      ca_file: z.string().min(1).max(4096).optional(),
      default_key: z.string().min(1).max(256).optional(),
      timeout: z.union([z.string().min(1).max(32), z.number().positive()]).optional(),
    })
    .strict()
    .refine((c) => !(c.token !== undefined && c.token_file !== undefined), 'give token or token_file, not both');
}
let schemaCache: ReturnType<typeof buildSchema> | undefined;

export function configCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.SIGNET_CONFIG) return [resolve(env.SIGNET_CONFIG)];
  const out: string[] = [];
  const xdg = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : undefined;
  const home = env.HOME ?? safeHome();
  if (xdg) out.push(join(xdg, 'signet', 'client.yaml'));
  else if (home) out.push(join(home, '.config', 'signet', 'client.yaml'));
  out.push('/etc/signet/client.yaml');
  return out;
}

function safeHome(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}

function invalid(path: string, why: string): SignetError {
  return new SignetError('CONFIG_INVALID', `${path}: ${why}`);
}

/** Read the first configuration file that exists; none is fine (everything stays unset). */
export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const explicit = Boolean(env.SIGNET_CONFIG);
  for (const path of configCandidates(env)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !explicit) continue;
      throw invalid(path, `cannot read (${code ?? 'error'})`);
    }
    let parsed: unknown;
    try {
      parsed = (requireCjs('yaml') as typeof Yaml).parse(text) ?? {};
    } catch {
      throw invalid(path, 'not valid YAML');
    }
    const result = (schemaCache ??= buildSchema()).safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw invalid(path, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
    }
    const c = result.data;
    let token = c.token;
    if (token !== undefined && (statSync(path).mode & 0o077) !== 0) {
      throw invalid(path, 'holds a token but is readable by group or others (chmod 600, or use token_file)');
    }
    if (c.token_file !== undefined) {
      const tokenPath = resolve(path, '..', c.token_file);
      try {
        token = readFileSync(tokenPath, 'utf8').trim();
      } catch (err) {
        throw invalid(path, `cannot read token_file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      // The same rule as for an inline token: a token others can read is not a secret.
      if ((statSync(tokenPath).mode & 0o077) !== 0) throw invalid(path, `token_file ${c.token_file} is readable by group or others (chmod 600)`);
    }
    let timeout: number | undefined;
    if (c.timeout !== undefined) {
      try {
        timeout = parseTimeout(String(c.timeout), 'timeout');
      } catch (err) {
        throw invalid(path, (err as Error).message);
      }
    }
    return {
      path,
      ...(timeout !== undefined ? { timeout } : {}),
      ...(c.addr !== undefined ? { addr: c.addr } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(c.ca_file !== undefined ? { caFile: resolve(path, '..', c.ca_file) } : {}),
      ...(c.default_key !== undefined ? { defaultKey: c.default_key } : {}),
    };
  }
  return {};
}
