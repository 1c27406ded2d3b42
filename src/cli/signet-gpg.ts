// signet-gpg: the gpg-compatible shim. The full argument subset for rpmsign, git, repo-add,
// makepkg and debsign is built by the shim issue; until then it says so and exits 2 (an
// unsupported invocation never signs by guesswork).
export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  if (args.includes('--version')) {
    process.stdout.write('gpg (GnuPG) 2.2.40\nsignet-gpg 0.1.0 (signs through a signet server)\n');
    return;
  }
  process.stderr.write('signet-gpg: this invocation is not supported yet; supported: --version\n');
  process.exitCode = 2;
}
