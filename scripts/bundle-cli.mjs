// `npm run build`, after tsc: the two per-package entry points, bundled into CommonJS.
//
//   dist/cli/signet-entry.cjs  bin/signet runs it for `signet rpm …` (src/cli/run-signet.ts)
//   dist/cli/signet-gpg.cjs    bin/signet-gpg runs it (src/cli/run-signet-gpg.ts)
//   dist/cli/bundle/*.cjs      their lazily loaded parts (approvals, progress bar, signature checks)
//
// A pipeline that signs one package per job starts one of these once per package. Started from
// the ES module build, Node spends a fifth of that start in its ES module loader: resolving,
// reading and linking some thirty files one by one. One CommonJS file (and a few chunks loaded
// only when used) starts about 20 ms sooner (docs/performance.md). The bundle is the same code as
// the ES module build, compiled from the same dist/ files; everything else (the server, the other
// commands, and `rpm` lines the entry hands on) runs from the ES module build.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli');
rmSync(join(cli, 'bundle'), { recursive: true, force: true });

await build({
  cwd: root,
  input: { 'signet-entry': join(cli, 'run-signet.js'), 'signet-gpg': join(cli, 'run-signet-gpg.js') },
  platform: 'node',
  // Node's own modules, and the full program the entry hands other command lines to
  // (`import('./signet.js')`, which stays an import of dist/cli/signet.js beside the bundle).
  external: [/^node:/, /^\.\/signet\.js$/],
  logLevel: 'warn',
  output: {
    dir: cli,
    format: 'cjs',
    entryFileNames: '[name].cjs',
    chunkFileNames: 'bundle/[name]-[hash].cjs',
    sourcemap: true,
  },
});
