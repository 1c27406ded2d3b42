#!/usr/bin/env bash
# Build (once) and print the path of a Debian sid root holding the newest verifiers: rpm 6 with
# rpm-sequoia, sq 1.x and sqv. Debian 12's rpm (4.18) and sq (0.27) predate RFC 9580 and rpm's v6
# signature layout, so the tests that check those formats run these tools inside this root
# (chroot with the test's directory bind-mounted). Cached: later calls only print the path.
#
#   SIGNET_SID_ROOT   where the root lives (default /var/cache/signet/sid-root)
#   SIGNET_SID_MIRROR Debian mirror (default http://deb.debian.org/debian)
#
# Needs root and debootstrap (scripts/interop-tools.txt); takes a few minutes the first time.
set -euo pipefail
root=${SIGNET_SID_ROOT:-/var/cache/signet/sid-root}
mirror=${SIGNET_SID_MIRROR:-http://deb.debian.org/debian}
pkgs=rpm,sq,sqv,ca-certificates
if [ -f "$root/.signet-ready" ]; then echo "$root"; exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "signet: the sid root needs root to build (debootstrap --variant=minbase sid $root)" >&2
  exit 1
fi
command -v debootstrap >/dev/null || { echo "signet: debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }
mkdir -p "$(dirname "$root")"
# One builder at a time: parallel test files may all ask for the root at once.
exec 9>"$root.lock"
flock 9
if [ -f "$root/.signet-ready" ]; then echo "$root"; exit 0; fi
tmp="$root.partial"
rm -rf "$tmp"
echo "sid-root: debootstrap --variant=minbase --include=$pkgs sid (a few minutes, cached)" >&2
debootstrap --variant=minbase --include="$pkgs" sid "$tmp" "$mirror" >"$root.log" 2>&1 || {
  echo "signet: debootstrap of sid failed; see $root.log" >&2; tail -5 "$root.log" >&2; exit 1; }
touch "$tmp/.signet-ready"
rm -rf "$root"
mv "$tmp" "$root"
echo "$root"
