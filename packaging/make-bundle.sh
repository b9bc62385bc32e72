#!/usr/bin/env bash
# Builds the signed offline bundle cloister-<version>-linux-x86_64.tar.gz from
# a CMake build tree:
#
#   bin/ lib/ share/ installer/ VERSION   the install rules' layout (packaging/CMakeLists.txt)
#   share/requirements                    the oldest glibc the binaries and libraries accept
#   sbom.cdx.json                         CycloneDX SBOM: every bundled library, its Debian
#                                         package, version and licence
#   SHA256SUMS, SHA256SUMS.sig            every file's SHA-256; Ed25519 signature of SHA256SUMS
#
# The same build gives the same bytes: file times are the commit's time (or
# SOURCE_DATE_EPOCH), owners and modes are fixed, and the archive is sorted.
#
#   packaging/make-bundle.sh --build-dir build-release --signing-key release.pem --out dist
set -euo pipefail

die() { printf 'make-bundle: %s\n' "$*" >&2; exit 1; }

BUILD_DIR=""
SIGNING_KEY=""
OUT_DIR=dist
BINARIES=""
SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=$2; shift ;;
    --signing-key) SIGNING_KEY=$2; shift ;;
    --out) OUT_DIR=$2; shift ;;
    # Binaries to bundle instead of the build's (tests/e2e: a later release).
    --binaries) BINARIES=$2; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift
done
[ -n "$BUILD_DIR" ] || die "--build-dir is required"
[ -f "$BUILD_DIR/CMakeCache.txt" ] || die "$BUILD_DIR is not a CMake build tree"
[ -f "$SIGNING_KEY" ] || die "--signing-key must name the Ed25519 private key (PEM) that signs releases"
openssl pkey -in "$SIGNING_KEY" -noout -text 2>/dev/null | grep -q '^ED25519 Private-Key' ||
  die "$SIGNING_KEY is not an Ed25519 private key in PEM form"
for c in cmake openssl sha256sum objdump dpkg dpkg-query tar gzip strip; do
  command -v "$c" >/dev/null || die "'$c' is needed to build the bundle"
done

EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$SOURCE_DIR" log -1 --format=%ct 2>/dev/null || true)}
[[ "$EPOCH" =~ ^[0-9]+$ ]] || die "set SOURCE_DATE_EPOCH: there is no git commit to take the time from"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/stage"

cmake --install "$BUILD_DIR" --prefix "$stage" --strip >/dev/null
if [ -n "$BINARIES" ]; then
  for b in cloisterd cloisterctl cloister-verify; do
    if [ -f "$BINARIES/$b" ]; then
      cp "$BINARIES/$b" "$stage/bin/$b"
      if head -c4 "$stage/bin/$b" | grep -q ELF; then strip --strip-unneeded "$stage/bin/$b"; fi
    fi
  done
fi

version=$("$stage/bin/cloisterd" --version | awk '{ print $2 }')
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "cloisterd --version gave '$version'"
echo "$version" >"$stage/VERSION"
name="cloister-$version-linux-x86_64"

# The oldest glibc everything accepts: the highest GLIBC_x.y symbol version
# any bundled ELF file needs.
glibc=$(for f in "$stage"/bin/* "$stage"/lib/*; do
  head -c4 "$f" | grep -q ELF && objdump -T "$f"
done | grep -oE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' | sed 's/GLIBC_//' | sort -uV | tail -1)
printf 'arch x86_64\nglibc %s\n' "$glibc" >"$stage/share/requirements"

# ---- SBOM ----

json_string() { printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }

# The Debian package that ships a library file of this name.
owning_package() {
  dpkg -S "x86_64-linux-gnu/$1" 2>/dev/null | awk -v n="/$1" '{ p = $NF; if (substr(p, length(p) - length(n) + 1) == n) { sub(/:$/, "", $1); print $1; exit } }' |
    sed 's/:.*//; s/,.*//'
}

# The licence of a Debian package: the machine-readable copyright file's
# licence for "Files: *", or a pointer to the file when it has none.
package_licence() {
  local f="/usr/share/doc/$1/copyright" lic=""
  [ -f "$f" ] && lic=$(awk '/^Files: *\*[[:space:]]*$/ { f = 1; next } f && /^License:/ { sub(/^License: */, ""); print; exit } /^$/ { f = 0 }' "$f")
  printf '%s\n' "${lic:-LicenseRef-Debian-copyright (/usr/share/doc/$1/copyright)}"
}

{
  printf '{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.5",\n  "version": 1,\n'
  printf '  "metadata": {\n    "timestamp": "%s",\n' "$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
  printf '    "component": {"type": "application", "bom-ref": "cloister", "name": "cloister", "version": %s}\n  },\n' "$(json_string "$version")"
  printf '  "components": ['
  sep=""
  for lib in $(cd "$stage/lib" && ls | LC_ALL=C sort); do
    pkg=$(owning_package "$lib")
    [ -n "$pkg" ] || die "no Debian package ships $lib; cannot describe it in the SBOM"
    pkg_version=$(dpkg-query -W -f='${Version}' "$pkg")
    licence=$(package_licence "$pkg")
    sha=$(sha256sum "$stage/lib/$lib" | cut -c1-64)
    printf '%s\n    {"type": "library", "bom-ref": %s, "name": %s, "version": %s,' "$sep" "$(json_string "$lib")" "$(json_string "$pkg")" "$(json_string "$pkg_version")"
    printf '\n     "purl": %s,' "$(json_string "pkg:deb/debian/$pkg@$pkg_version?arch=amd64&distro=debian-12")"
    printf '\n     "licenses": [{"license": {"name": %s}}],' "$(json_string "$licence")"
    printf '\n     "hashes": [{"alg": "SHA-256", "content": "%s"}],' "$sha"
    printf '\n     "properties": [{"name": "cloister:file", "value": %s}]}' "$(json_string "lib/$lib")"
    sep=","
  done
  printf '\n  ]\n}\n'
} >"$stage/sbom.cdx.json"

# ---- fixed modes and times, checksums, signature, archive ----

find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$stage"/bin/* "$stage/installer/install.sh"

(cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r f; do sha256sum "$f"; done) >"$work/SHA256SUMS"
mv "$work/SHA256SUMS" "$stage/SHA256SUMS"
openssl pkeyutl -sign -inkey "$SIGNING_KEY" -rawin -in "$stage/SHA256SUMS" -out "$stage/SHA256SUMS.sig"
chmod 0644 "$stage/SHA256SUMS" "$stage/SHA256SUMS.sig"
find "$stage" -exec touch -h -d "@$EPOCH" {} +

mv "$stage" "$work/$name"
mkdir -p "$OUT_DIR"
tar --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu -C "$work" -cf - "$name" |
  gzip -n -9 >"$OUT_DIR/$name.tar.gz.tmp"
mv "$OUT_DIR/$name.tar.gz.tmp" "$OUT_DIR/$name.tar.gz"

fingerprint=$(openssl pkey -in "$SIGNING_KEY" -pubout -outform DER | sha256sum | cut -c1-64)
printf '%s\n' "$OUT_DIR/$name.tar.gz"
printf '  version %s, %s bytes, %s libraries, needs glibc %s\n' "$version" "$(stat -c %s "$OUT_DIR/$name.tar.gz")" \
  "$(ls "$work/$name/lib" | wc -l)" "$glibc" >&2
printf '  SHA256SUMS %s, signed by release key SHA-256 %s\n' "$(sha256sum "$work/$name/SHA256SUMS" | cut -c1-64)" "$fingerprint" >&2
