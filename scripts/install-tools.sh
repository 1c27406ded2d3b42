#!/usr/bin/env bash
# Install the Debian packages behind every missing command in scripts/interop-tools.txt.
# Only as root; otherwise print what to install and exit 1. Used by .ci/run and `npm test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
while read -r cmd pkg; do
  case "$cmd" in ''|'#'*) continue ;; esac
  command -v "$cmd" >/dev/null 2>&1 && continue
  # An absolute path may be a glob (server binaries off PATH, e.g. /usr/lib/postgresql/*/bin).
  case "$cmd" in /*) compgen -G "$cmd" >/dev/null && continue ;; esac
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done < "$here/interop-tools.txt"
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "signet: interop tests need: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install-tools: apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
