#!/usr/bin/env bash
# Builds real, unsigned noarch RPM packages with rpmbuild: the corpus that the interop tests and
# `npm run bench:rpm` sign. Contents are random bytes, so every run gives new packages; the names,
# sizes and file counts are fixed by the profile.
#
#   scripts/make-rpm-corpus.sh OUT_DIR [small|release]
#
#   small    8 packages, about 3 MB (tests): six of 64 KiB, one of 256 KiB in 400 files, one of 2 MiB
#   release  84 packages, about 165 MB (benchmarks): 4 x 20 MiB, 16 x 3 MiB, 60 between 200 KiB and
#            1 MiB, 4 x 512 KiB in 400 files each; the size of one real distribution update
#
# Needs rpmbuild (Debian package: rpm).
set -euo pipefail

out=${1:?usage: make-rpm-corpus.sh OUT_DIR [small|release]}
profile=${2:-small}
case "$profile" in small|release) ;; *) echo "make-rpm-corpus: unknown profile '$profile' (small or release)" >&2; exit 2 ;; esac
command -v rpmbuild >/dev/null || { echo "make-rpm-corpus: rpmbuild not found (install the Debian package rpm)" >&2; exit 2; }

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One line per package: NAME SIZE_KIB FILE_COUNT
packages() {
  if [ "$profile" = small ]; then
    for i in 1 2 3 4 5 6; do echo "pkg-small$i 64 1"; done
    echo "pkg-many 256 400"
    echo "pkg-big 2048 1"
  else
    for i in 1 2 3 4; do echo "pkg-huge$i 20480 1"; done
    for i in $(seq 1 16); do echo "pkg-large$i 3072 1"; done
    for i in $(seq 1 60); do echo "pkg-mid$i $((200 + (i * 13) % 800)) 1"; done
    for i in 1 2 3 4; do echo "pkg-many$i 512 400"; done
  fi
}

packages | while read -r name kib count; do
  payload="$work/payload/$name"
  mkdir -p "$payload"
  each=$(( kib / count )); [ "$each" -gt 0 ] || each=1
  for n in $(seq 1 "$count"); do head -c $(( each * 1024 )) /dev/urandom > "$payload/f$n.bin"; done
  cat > "$work/$name.spec" <<SPEC
Name: $name
Version: 1.0
Release: 1
Summary: signet test package $name
License: MIT
BuildArch: noarch
%description
A package built for signet's tests and benchmarks.
%install
mkdir -p %{buildroot}/usr/share/$name
cp $payload/* %{buildroot}/usr/share/$name/
%files
/usr/share/$name
SPEC
  # gzip payloads (fast to build), no brp scripts (nothing to strip in random data).
  if ! rpmbuild --quiet -bb --define "_topdir $work/build" --define "_binary_payload w6.gzdio" \
      --define "__os_install_post %{nil}" "$work/$name.spec" >"$work/$name.log" 2>&1; then
    echo "make-rpm-corpus: rpmbuild failed for $name:" >&2
    tail -n 20 "$work/$name.log" >&2
    exit 1
  fi
done

find "$work/build/RPMS" -name '*.rpm' -exec mv {} "$out"/ \;
echo "make-rpm-corpus: $(find "$out" -maxdepth 1 -name '*.rpm' | wc -l) packages, $(du -sh "$out" | cut -f1) in $out"
