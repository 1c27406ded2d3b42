// What the launcher bin/signet runs for `signet rpm …`, bundled as dist/cli/signet-entry.cjs
// (scripts/bundle-cli.mjs): main() of src/cli/entry.ts with the launcher's last-resort report.
import { main } from './entry.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`signet: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
