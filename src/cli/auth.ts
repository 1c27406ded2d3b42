// `signet role …`, `signet login`, `signet unwrap`, `signet token …` (design.md CLI contract).
// Commands that print one value (role_id, secret_id, wrapping token, token) print only it.
import { Command, Option } from 'commander';
import { SECRET_ID_CREATION_PATH } from '../client/client.js';
import { SignetError } from '../errors.js';
import { makeClient, printJson, printLine, readInputFile, withClient, type GlobalOptions } from './common.js';

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

function positiveInt(value: string): number {
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) throw new SignetError('USAGE', `want a positive whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** The credential an unauthenticated command was given: --token or SIGNET_TOKEN only. */
function explicitToken(g: GlobalOptions, what: string): string {
  const token = (g.token ?? process.env.SIGNET_TOKEN ?? '').trim();
  if (token === '') throw new SignetError('USAGE', `${what}: set SIGNET_TOKEN (or --token) to the wrapping token`);
  return token;
}

export function registerAuthCommands(program: Command): void {
  const role = program.command('role').description('manage AppRoles: CI identities that log in with role_id + secret_id');

  role
    .command('create')
    .description('create an AppRole; prints its role_id')
    .argument('<name>', 'role name (lower-case letters, digits, . _ -)')
    .option('--policy <file>', 'policy document (YAML), stored as policy NAME and bound to the role')
    .option('--policies <names>', 'bind existing policies (comma-separated; repeatable)', list)
    .option('--token-ttl <duration>', 'TTL of tokens its logins get (default 20m)')
    .option('--secret-ttl <duration>', 'default TTL of its secret_ids (default 10m)')
    .option('--secret-uses <n>', 'default uses of its secret_ids (default 1)', positiveInt)
    .action(async (name: string, opts: { policy?: string; policies?: string[]; tokenTtl?: string; secretTtl?: string; secretUses?: number }, cmd: Command) => {
      const g = globals(cmd);
      if (opts.policy === undefined && opts.policies === undefined) throw new SignetError('USAGE', 'role create needs --policy FILE or --policies NAMES');
      const policy = opts.policy === undefined ? undefined : readInputFile(opts.policy).toString('utf8');
      const created = await withClient(g, (c) =>
        c.createRole(name, {
          ...(opts.policies ? { policies: opts.policies } : {}),
          ...(policy !== undefined ? { policy } : {}),
          ...(opts.tokenTtl ? { token_ttl: opts.tokenTtl } : {}),
          ...(opts.secretTtl ? { secret_id_ttl: opts.secretTtl } : {}),
          ...(opts.secretUses !== undefined ? { secret_id_uses: opts.secretUses } : {}),
        }),
      );
      if (g.json) printJson(created);
      else printLine(created.role_id);
    });

  role
    .command('list')
    .description('list AppRoles')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const { roles } = await withClient(g, (c) => c.listRoles());
      if (g.json) printJson(roles);
      else for (const r of roles) printLine(`${r.name}\t${r.role_id}\t${r.policies.join(',')}\ttoken_ttl=${r.token_ttl}`);
    });

  role
    .command('read')
    .description("show a role: role_id, policies, TTLs")
    .argument('<name>', 'role name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) => c.getRole(name));
      if (g.json) printJson(r);
      else printLine(`${r.name}\t${r.role_id}\t${r.policies.join(',')}\ttoken_ttl=${r.token_ttl}\tsecret_id_ttl=${r.secret_id_ttl}\tsecret_id_uses=${r.secret_id_uses}`);
    });

  role
    .command('delete')
    .description('delete a role, its secret_ids, and revoke the tokens it issued')
    .argument('<name>', 'role name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) => c.deleteRole(name));
      if (g.json) printJson(r);
      else process.stderr.write(`signet: deleted role ${r.deleted}; revoked ${r.revoked_tokens} token(s)\n`);
    });

  role
    .command('secret')
    .description('issue a secret_id (single use, 10 minutes by default); prints it, or with --wrap-ttl a wrapping token')
    .argument('<name>', 'role name')
    .option('--wrap-ttl <duration>', 'return a wrapping token valid this long instead of the secret_id (unwrap once with `signet unwrap`)')
    .option('--uses <n>', 'logins the secret_id allows (default: the role\'s, 1)', positiveInt)
    .option('--ttl <duration>', 'lifetime of the secret_id (default: the role\'s, 10m)')
    .action(async (name: string, opts: { wrapTtl?: string; uses?: number; ttl?: string }, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) =>
        c.secretId(name, {
          ...(opts.wrapTtl ? { wrap_ttl: opts.wrapTtl } : {}),
          ...(opts.uses !== undefined ? { uses: opts.uses } : {}),
          ...(opts.ttl ? { ttl: opts.ttl } : {}),
        }),
      );
      if (g.json) printJson(r);
      else printLine('wrap_info' in r ? r.wrap_info.token : r.secret_id);
    });

  program
    .command('login')
    .description('log in with an AppRole; prints a short-lived token (use it as SIGNET_TOKEN)')
    .requiredOption('--role-id <id>', 'the role_id (not secret)')
    .addOption(new Option('--secret-id <id>', 'the secret_id (or env SIGNET_SECRET_ID, which ps cannot see)').env('SIGNET_SECRET_ID'))
    .action(async (opts: { roleId: string; secretId?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!opts.secretId) throw new SignetError('USAGE', 'login needs --secret-id or SIGNET_SECRET_ID');
      const secretId = opts.secretId.trim();
      const client = makeClient(g, { anonymous: true });
      try {
        const r = await client.login(opts.roleId.trim(), secretId);
        if (g.json) printJson(r);
        else printLine(r.token);
      } finally {
        client.close();
      }
    });

  program
    .command('unwrap')
    .description('unwrap a wrapping token (SIGNET_TOKEN) exactly once; prints the secret it holds')
    .option('--role <name>', 'accept only a secret_id wrapped for this role')
    .option('--expect-path <path>', 'accept only a response created at this path')
    .action(async (opts: { role?: string; expectPath?: string }, cmd: Command) => {
      const g = globals(cmd);
      const token = explicitToken(g, 'unwrap');
      const expected = opts.expectPath ?? (opts.role !== undefined ? `auth/approle/role/${opts.role}/secret-id` : SECRET_ID_CREATION_PATH);
      const r = await withClient({ ...g, token }, (c) => c.unwrap(expected));
      if (g.json) printJson(r);
      else if (typeof r.data.secret_id === 'string') printLine(r.data.secret_id);
      else printJson(r.data);
    });

  const token = program.command('token').description('list, look up and revoke tokens (by accessor; secrets are never shown)');

  token
    .command('list')
    .description('list tokens by accessor (admin)')
    .option('--all', 'include revoked and expired tokens')
    .action(async (opts: { all?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const { tokens } = await withClient(g, (c) => c.listTokens());
      const now = Date.now();
      const shown = opts.all ? tokens : tokens.filter((t) => t.revoked === null && (t.expires === null || Date.parse(t.expires) > now));
      if (g.json) printJson(shown);
      else for (const t of shown) printLine(`${t.accessor}\t${t.display_name}\t${t.policies.join(',')}\t${t.expires ?? 'never'}${t.revoked ? `\trevoked ${t.revoked}` : ''}`);
    });

  token
    .command('lookup')
    .description('show a token by accessor (admin), or the token in use')
    .argument('[accessor]', 'token accessor (default: this token)')
    .action(async (accessor: string | undefined, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const t = await withClient(g, (c) => c.lookupToken(accessor));
      if (g.json) printJson(t);
      else printLine(`${t.accessor}\t${t.display_name}\t${t.policies.join(',')}\t${t.expires ?? 'never'}${t.revoked ? `\trevoked ${t.revoked}` : ''}`);
    });

  token
    .command('revoke')
    .description('revoke a token and the tokens it created (admin), or --self')
    .argument('[accessor]', 'token accessor')
    .option('--self', 'revoke the token in use')
    .action(async (accessor: string | undefined, opts: { self?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if ((accessor === undefined) === !opts.self) throw new SignetError('USAGE', 'token revoke wants an ACCESSOR or --self');
      const r = await withClient(g, (c) => c.revokeToken(accessor));
      if (g.json) printJson(r);
      else process.stderr.write(`signet: revoked ${r.revoked.length} token(s)\n`);
    });
}
