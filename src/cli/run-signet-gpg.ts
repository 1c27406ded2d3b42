// What the launcher bin/signet-gpg runs, bundled as dist/cli/signet-gpg.cjs
// (scripts/bundle-cli.mjs): main() of src/cli/signet-gpg.ts with the launcher's last-resort report.
import { main } from './signet-gpg.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`signet-gpg: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
