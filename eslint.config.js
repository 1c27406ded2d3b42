import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What a pure core may not import: any path through these folders (relative or not). */
const CORE_FORBIDDEN = '(^|/)(store|server|cli|client|rpm-io|repo|keys|auth|policy|sign)(/|$)';
const PURE_CORE = 'the pure cores (src/openpgp, src/rpm, src/tlog, src/sha2) import nothing from the store, server, CLI, client or services (docs/architecture.md "Layers")';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.signet/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', fetch: 'readonly', performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Layers (docs/architecture.md "Layers"): each folder may import only what sits below it.
  // test/layers.test.ts runs ESLint on forbidden imports so these rules cannot silently stop working.
  {
    // The pure domain cores: bytes in, bytes out. No storage, no HTTP, no CLI, no client, no
    // RPM file I/O; never another layer's types either.
    files: ['src/openpgp/**/*.ts', 'src/rpm/**/*.ts', 'src/tlog/**/*.ts', 'src/sha2/**/*.ts'],
    ignores: ['src/tlog/service.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: CORE_FORBIDDEN, message: PURE_CORE }] }] },
  },
  {
    // ... and their code does no I/O either (their tests may read fixtures).
    files: ['src/openpgp/**/*.ts', 'src/rpm/**/*.ts', 'src/tlog/**/*.ts', 'src/sha2/**/*.ts'],
    ignores: ['src/tlog/service.ts', 'src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: CORE_FORBIDDEN, message: PURE_CORE },
          { regex: '^node:(fs|fs/promises|net|http|https|http2|tls|dgram|child_process|worker_threads)$', message: 'the pure cores do no I/O: file, network and process access belong in the layers above (e.g. src/rpm-io)' },
        ],
      }],
    },
  },
  {
    // LogService drives the pure log core over storage: it may name the Store interface's types,
    // never an engine, and nothing of the server, CLI or client.
    files: ['src/tlog/service.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: '(^|/)(server|cli|client|rpm-io)(/|$)|(^|/)store/(sqlite|postgres|migrate)(/|$)', message: PURE_CORE },
          { regex: '(^|/)store(/|$)', allowTypeImports: true, message: 'LogService may import the Store interface\'s types only' },
        ],
      }],
    },
  },
  {
    // RPM file I/O sits on the RPM core, below every command and service.
    files: ['src/rpm-io/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)(store|server|cli|client|repo)(/|$)', message: 'src/rpm-io is file I/O over the RPM core: it imports no store, server, CLI, client or repo code' }] }] },
  },
  {
    // The API contract sits below both the server and the client: schemas, bounds and the OpenAPI
    // generator over zod, the name rules and the kinds; never a layer that serves or calls it.
    files: ['src/api/**/*.ts'],
    ignores: ['src/api/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: '(^|/)(store|server|cli|client|rpm-io|repo|keys|auth|sign|tlog|openpgp)(/|$)|(^|/)policy/(?!kinds\\.js$)', message: 'src/api (the HTTP contract) imports only zod, errors, names, policy/kinds and its own modules: server and client both import it, never the reverse (docs/architecture.md "Layers")' },
          { regex: '^node:', message: 'src/api does no I/O: it is schemas only' },
        ],
      }],
    },
  },
  {
    // Repository signing and the publish gate are a library the CLI calls, not the reverse.
    files: ['src/repo/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)cli(/|$)', message: 'src/repo does not import src/cli: move what both need below them (e.g. src/rpm-io)' }] }] },
  },
  {
    // A route module registers its own routes; what two routes share lives in src/server/*.ts.
    files: ['src/server/routes/*.ts'],
    ignores: ['src/server/routes/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: '^\\./', message: 'route modules do not import each other: put what they share in src/server/ (e.g. answer.ts, auth-common.ts)' }] }] },
  },
  {
    // Each storage engine stands alone; moving data between engines is src/store/migrate.
    files: ['src/store/sqlite/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)postgres(/|$)', message: 'the SQLite store does not import the PostgreSQL store' }] }] },
  },
  {
    files: ['src/store/postgres/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)sqlite(/|$)', message: 'the PostgreSQL store does not import the SQLite store' }] }] },
  },
  {
    // Tests poke at untyped JSON responses.
    files: ['test/**/*.ts', 'src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
