// Pre-test step of `npm test`: install missing interop tools when running as root.
// Not root and tools missing: warn here; each interop test then fails naming the package.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./install-tools.sh', import.meta.url));
const r = spawnSync('bash', [script], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write('signet: some interop tools are missing; the tests that need them will fail.\n');
}
