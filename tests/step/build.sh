#!/usr/bin/env bash
# Builds smallstep's `step` CLI 0.15.16 and `step-ca` 0.19.0 from Debian bookworm's Go source
# packages into OUTDIR (static, CGO_ENABLED=0); a no-op when OUTDIR already holds both.
#
#   usage: build.sh OUTDIR [MIRROR]     MIRROR defaults to http://deb.debian.org/debian
#
# Debian ships the sources as -dev packages under /usr/share/gocode but no main packages, so the
# mains are tests/step/cmd/*. golang-github-smallstep-cli-dev also leaves out ten internal
# directories (flags, jose, token, utils/cautils, ...) that the orig tarball of the source package
# holds; it is fetched from MIRROR and checked against the signed Sources index. In GOPATH mode a
# private copy of github.com/smallstep/cli hides the system one, so the whole tree is copied:
# the orig tarball, then the -dev package's files (they carry Debian's changes) over it, then
# tests/step/overlay and tests/step/patches. Run as root when packages are missing.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 OUTDIR [MIRROR]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "$1")
mirror=${2:-http://deb.debian.org/debian}
mirror=${mirror%/}

if [ -x "$out/step" ] && [ -x "$out/step-ca" ]; then
  exit 0
fi

# The patches are made for these versions; another version needs them checked again.
cli_src=golang-github-smallstep-cli
cli_version=0.15.16+ds-3
orig=${cli_src}_0.15.16+ds.orig.tar.gz
orig_sha256=ae72a3d8d72ce6f2dc63f1ea843539ff44a2dea9a64ffc9647c05a16911bc594
declare -A want_version=(
  [golang-github-smallstep-cli-dev]=$cli_version
  [golang-github-smallstep-certificates-dev]=0.19.0-1
)

packages=(
  golang-go patch xz-utils
  golang-github-smallstep-certificates-dev golang-github-smallstep-cli-dev
  # imported only by the directories that golang-github-smallstep-cli-dev leaves out
  golang-github-pquerna-otp-dev golang-sslmate-src-go-pkcs12-dev
  golang-github-smallstep-truststore-dev golang-gopkg-square-go-jose.v2-dev
)

tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

bash "$here/../install-deps.sh" "${packages[@]}"
for pkg in "${!want_version[@]}"; do
  have=$(dpkg-query -W -f='${Version}' "$pkg")
  if [ "$have" != "${want_version[$pkg]}" ]; then
    echo "tests/step/build.sh: $pkg is $have, the patches are for ${want_version[$pkg]}" >&2
    exit 1
  fi
done

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.build.XXXXXX")

# Signed InRelease -> Sources.xz (sha256 from InRelease) -> orig tarball (sha256 from Sources).
fetch() { # URL FILE [SHA256]
  /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$1" "$2" ${3:+"SHA256:$3"} >/dev/null
}
fetch "$mirror/dists/bookworm/InRelease" "$tmp/InRelease"
gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$tmp/InRelease" 2>/dev/null ||
  { echo "tests/step/build.sh: bad signature on $mirror/dists/bookworm/InRelease" >&2; exit 1; }
sources_sha256=$(awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == "main/source/Sources.xz" { print $1 }' "$tmp/InRelease")
fetch "$mirror/dists/bookworm/main/source/Sources.xz" "$tmp/Sources.xz" "$sources_sha256"
listed=$(xz -dc "$tmp/Sources.xz" | awk -v pkg="$cli_src" -v ver="$cli_version" -v f="$orig" '
  /^Package: / { p = $2 } /^Version: / { v = $2 } /^Checksums-Sha256:/ { c = 1; next } /^[^ ]/ { c = 0 }
  c && p == pkg && v == ver && $3 == f { print $1 }')
if [ "$listed" != "$orig_sha256" ]; then
  echo "tests/step/build.sh: bookworm's Sources lists $orig with sha256 '${listed}', expected $orig_sha256" >&2
  exit 1
fi
fetch "$mirror/pool/main/g/$cli_src/$orig" "$tmp/$orig" "$orig_sha256"
echo "$orig_sha256  $tmp/$orig" | sha256sum -c --quiet

gopath=$tmp/gopath
cli=$gopath/src/github.com/smallstep/cli
mkdir -p "$cli" "$gopath/src/redis-tls-test" "$tmp/out"
tar -xzf "$tmp/$orig" -C "$cli" --strip-components=1
cp -a /usr/share/gocode/src/github.com/smallstep/cli/. "$cli/"
# `step certificate lint` needs zlint, which Debian does not package.
rm "$cli/command/certificate/lint.go"
cp -a "$here/overlay/cli/." "$cli/"
for p in "$here"/patches/*.patch; do
  patch -s -p1 -d "$cli" < "$p"
done
cp -a "$here/cmd/." "$gopath/src/redis-tls-test/"

export GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE=$tmp/gocache GOFLAGS='' GOENV=off GOPROXY=off CGO_ENABLED=0
for cmd in step step-ca; do
  go build -trimpath -ldflags='-s -w' -o "$tmp/out/$cmd" "redis-tls-test/$cmd"
  STEPPATH=$tmp/steppath HOME=$tmp "$tmp/out/$cmd" version >/dev/null
done
{
  echo "orig $orig sha256 $orig_sha256"
  dpkg-query -W -f='${Package} ${Version}\n' golang-go "${!want_version[@]}" | sort
  go version
} > "$tmp/out/BUILDINFO"

# Atomic: OUTDIR appears complete or not at all; a concurrent build that won keeps its copy.
if ! mv -T "$tmp/out" "$out" 2>/dev/null && ! { [ -x "$out/step" ] && [ -x "$out/step-ca" ]; }; then
  echo "tests/step/build.sh: could not move the build to $out" >&2
  exit 1
fi
