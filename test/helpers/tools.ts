// Interop tests run real tools (gpg, sq, rpmkeys, …). A missing tool is installed through
// scripts/install-tools.sh when running as root; otherwise the test fails naming the package.
// Never a silent skip: under CI=true and everywhere else alike.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LIST = fileURLToPath(new URL('../../scripts/interop-tools.txt', import.meta.url));
const INSTALL = fileURLToPath(new URL('../../scripts/install-tools.sh', import.meta.url));

function packageOf(): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync(LIST, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [cmd, pkg] = t.split(/\s+/);
    if (cmd && pkg) map.set(cmd, pkg);
  }
  return map;
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Make sure every command is on PATH, or throw an Error naming the Debian packages to install. */
export function requireTools(...commands: string[]): void {
  const packages = packageOf();
  for (const c of commands) {
    if (!packages.has(c)) throw new Error(`requireTools: ${c} is not listed in scripts/interop-tools.txt`);
  }
  let missing = commands.filter((c) => !hasCommand(c));
  if (missing.length > 0 && process.getuid?.() === 0) {
    spawnSync('bash', [INSTALL], { stdio: 'inherit' });
    missing = missing.filter((c) => !hasCommand(c));
  }
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((c) => packages.get(c)))].join(' ');
    throw new Error(`missing tools ${missing.join(', ')}: apt-get install -y ${pkgs}`);
  }
}
