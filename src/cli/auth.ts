// `signet role …`, `signet login`, `signet unwrap`, `signet token …` (README "CLI"; docs/auth.md).
// Commands that print one value (role_id, secret_id, wrapping token, token) print only it.
import { Command, Option } from './commander.js';
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
    .option('--bound-cidr <cidr>', 'logins must come from these source blocks (comma-separated; repeatable)', list)
    .action(async (name: string, opts: { policy?: string; policies?: string[]; tokenTtl?: string; secretTtl?: string; secretUses?: number; boundCidr?: string[] }, cmd: Command) => {
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
          ...(opts.boundCidr ? { bound_cidrs: opts.boundCidr } : {}),
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
    .option('--cidr <cidr>', 'the secret_id logs in only from these source blocks (comma-separated; repeatable)', list)
    .action(async (name: string, opts: { wrapTtl?: string; uses?: number; ttl?: string; cidr?: string[] }, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) =>
        c.secretId(name, {
          ...(opts.wrapTtl ? { wrap_ttl: opts.wrapTtl } : {}),
          ...(opts.uses !== undefined ? { uses: opts.uses } : {}),
          ...(opts.ttl ? { ttl: opts.ttl } : {}),
          ...(opts.cidr ? { cidrs: opts.cidr } : {}),
        }),
      );
      if (g.json) printJson(r);
      else printLine('wrap_info' in r ? r.wrap_info.token : r.secret_id);
    });

  role
    .command('secret-list')
    .description("list a role's live secret_ids by accessor (uses left, expiry; never the secret)")
    .argument('<name>', 'role name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const { secret_ids } = await withClient(g, (c) => c.listSecretIds(name));
      if (g.json) printJson(secret_ids);
      else for (const x of secret_ids) printLine(`${x.accessor}\tuses_left=${x.uses_left}\t${x.expires}${x.cidrs.length ? `\t${x.cidrs.join(',')}` : ''}`);
    });

  role
    .command('secret-destroy')
    .description('destroy a secret_id by accessor (e.g. after an unwrap reported WRAPPING_TOKEN_USED)')
    .argument('<name>', 'role name')
    .argument('<accessor>', 'secret_id accessor (from role secret-list)')
    .action(async (name: string, accessor: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) => c.destroySecretId(name, accessor));
      if (g.json) printJson(r);
      else process.stderr.write(`signet: destroyed secret_id ${r.destroyed}\n`);
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

  registerJwtCommands(program);

  const token = program.command('token').description('list, look up and revoke tokens (by accessor; secrets are never shown)');

  token
    .command('create')
    .description('create a token bound to policies (admin); prints it once')
    .requiredOption('--policy <names>', 'policy name, or several separated by commas (repeatable)', (v: string, p: string[] = []) => [...p, ...v.split(',')])
    .option('--ttl <duration>', 'lifetime, or with --renewable the lifetime each renewal gives (default 20m, at most 32d)')
    .option('--renewable', 'renewable with `signet token renew` until --max-ttl after creation')
    .option('--max-ttl <duration>', 'with --renewable: the hard end, counted from creation (default 32d, at most 366d)')
    .option('--orphan', 'not a child of the token in use: revoking that one leaves this one valid (for a timer made with the first-start admin token)')
    .option('--display-name <name>', 'shown in token list and the audit log')
    .action(async (opts: { policy: string[]; ttl?: string; renewable?: boolean; maxTtl?: string; displayName?: string; orphan?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (opts.maxTtl !== undefined && !opts.renewable) throw new SignetError('USAGE', '--max-ttl goes with --renewable');
      const r = await withClient(g, (c) =>
        c.createToken({
          policies: opts.policy.map((p) => p.trim()).filter((p) => p !== ''),
          ...(opts.ttl ? { ttl: opts.ttl } : {}),
          ...(opts.renewable ? { renewable: true } : {}),
          ...(opts.orphan ? { orphan: true } : {}),
          ...(opts.maxTtl ? { max_ttl: opts.maxTtl } : {}),
          ...(opts.displayName ? { display_name: opts.displayName } : {}),
        }),
      );
      if (g.json) printJson(r);
      else {
        printLine(r.token);
        process.stderr.write(`signet: token ${r.accessor} expires ${r.expires}${r.renewable ? `, renewable until ${r.max_expires}` : ''}\n`);
      }
    });

  token
    .command('renew')
    .description('extend the token in use (a renewable token, up to its max TTL); the token itself does not change')
    .option('--increment <duration>', 'new lifetime from now (default: the token\'s TTL)')
    .action(async (opts: { increment?: string }, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) => c.renewSelf(opts.increment ? { increment: opts.increment } : {}));
      if (g.json) printJson(r);
      else {
        printLine(r.expires);
        if (r.warning) process.stderr.write(`signet: ${r.warning} (${r.max_expires})\n`);
      }
    });

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

function claimPair(value: string, previous: Record<string, string[]> = {}): Record<string, string[]> {
  const i = value.indexOf('=');
  if (i <= 0) throw new SignetError('USAGE', `--bound-claim wants CLAIM=VALUE, got ${JSON.stringify(value)}`);
  const claim = value.slice(0, i);
  return { ...previous, [claim]: [...(previous[claim] ?? []), value.slice(i + 1)] };
}

function registerJwtCommands(program: Command): void {
  const jwt = program.command('auth').description('other ways to log in').command('jwt').description('CI identity tokens (OIDC JWTs from GitLab CI, GitHub Actions, …)');
  const role = jwt.command('role').description('manage JWT roles: issuer, key set, audience, bound claims -> policies');

  role
    .command('create')
    .description('create a JWT role bound to an issuer and claims')
    .argument('<name>', 'role name (lower-case letters, digits, . _ -)')
    .requiredOption('--issuer <url>', 'the iss the tokens must carry, e.g. https://gitlab.example.org')
    .requiredOption('--audience <aud>', 'an aud the tokens must carry (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--jwks-url <url>', "the issuer's JWKS URL (e.g. https://gitlab.example.org/oauth/discovery/keys)")
    .option('--jwks-file <file>', 'a JWKS file stored with the role (air-gapped hosts)')
    .option('--bound-claim <claim=value>', 'a claim the token must carry with exactly this value (repeatable; repeating a claim allows any of its values)', claimPair)
    .option('--policy <file>', 'policy document (YAML), stored as policy NAME and bound to the role')
    .option('--policies <names>', 'bind existing policies (comma-separated)', list)
    .option('--token-ttl <duration>', 'TTL of the signet tokens its logins get (default 20m)')
    .option('--clock-skew <duration>', 'tolerated clock difference with the issuer (default 60s, at most 5m)')
    .option('--algorithms <algs>', 'accepted signature algorithms (default: RS/PS/ES 256-512, EdDSA)', list)
    .action(
      async (
        name: string,
        opts: { issuer: string; audience: string[]; jwksUrl?: string; jwksFile?: string; boundClaim?: Record<string, string[]>; policy?: string; policies?: string[]; tokenTtl?: string; clockSkew?: string; algorithms?: string[] },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        if (opts.policy === undefined && opts.policies === undefined) throw new SignetError('USAGE', 'auth jwt role create needs --policy FILE or --policies NAMES');
        if ((opts.jwksUrl === undefined) === (opts.jwksFile === undefined)) throw new SignetError('USAGE', 'give one of --jwks-url and --jwks-file');
        if (!opts.boundClaim) throw new SignetError('USAGE', 'at least one --bound-claim CLAIM=VALUE is required');
        let jwks: unknown;
        if (opts.jwksFile !== undefined) {
          try {
            jwks = JSON.parse(readInputFile(opts.jwksFile).toString('utf8'));
          } catch (err) {
            if (err instanceof SignetError) throw err;
            throw new SignetError('FILE_UNREADABLE', `${opts.jwksFile} is not JSON`);
          }
        }
        const created = await withClient(g, (c) =>
          c.createJwtRole(name, {
            issuer: opts.issuer,
            audiences: opts.audience,
            bound_claims: opts.boundClaim,
            ...(opts.jwksUrl !== undefined ? { jwks_url: opts.jwksUrl } : {}),
            ...(jwks !== undefined ? { jwks } : {}),
            ...(opts.policies ? { policies: opts.policies } : {}),
            ...(opts.policy !== undefined ? { policy: readInputFile(opts.policy).toString('utf8') } : {}),
            ...(opts.tokenTtl ? { token_ttl: opts.tokenTtl } : {}),
            ...(opts.clockSkew ? { clock_skew: opts.clockSkew } : {}),
            ...(opts.algorithms ? { algorithms: opts.algorithms } : {}),
          }),
        );
        if (g.json) printJson(created);
        else printLine(String(created.name));
      },
    );

  role
    .command('list')
    .description('list JWT roles')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const { roles } = await withClient(g, (c) => c.listJwtRoles());
      if (g.json) printJson(roles);
      else for (const r of roles) printLine(`${r.name}\t${r.issuer}\t${r.policies.join(',')}`);
    });

  role
    .command('read')
    .description('show a JWT role')
    .argument('<name>', 'role name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      printJson(await withClient(globals(cmd), (c) => c.getJwtRole(name)));
    });

  role
    .command('delete')
    .description('delete a JWT role and revoke the tokens it issued')
    .argument('<name>', 'role name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) => c.deleteJwtRole(name));
      if (g.json) printJson(r);
      else process.stderr.write(`signet: deleted JWT role ${r.deleted}; revoked ${r.revoked_tokens} token(s)\n`);
    });

  jwt
    .command('login')
    .description("log in with the CI job's identity token; prints a short-lived signet token")
    .requiredOption('--role <name>', 'JWT role name')
    .option('--jwt-file <file>', 'read the JWT from FILE (default: env SIGNET_JWT)')
    .action(async (opts: { role: string; jwtFile?: string }, cmd: Command) => {
      const g = globals(cmd);
      const jwtText = (opts.jwtFile !== undefined ? readInputFile(opts.jwtFile).toString('utf8') : (process.env.SIGNET_JWT ?? '')).trim();
      if (jwtText === '') throw new SignetError('USAGE', 'auth jwt login needs SIGNET_JWT or --jwt-file');
      const client = makeClient(g, { anonymous: true });
      try {
        const r = await client.jwtLogin(opts.role, jwtText);
        if (g.json) printJson(r);
        else printLine(r.token);
      } finally {
        client.close();
      }
    });
}
