#!/usr/bin/env bash
# End to end, as an installer in an air-gapped data center would do it:
#
#   1. build the signed bundle (twice: the archive must be byte-identical),
#      a later release, a release whose daemon cannot start, a bundle signed by
#      another key, one with a flipped byte and one with a file added;
#   2. make a minimal Debian root with debootstrap, without any of the
#      build's -dev packages (cached in $CLOISTER_E2E_CACHE, default
#      ~/.cache/cloister-e2e, so later runs skip the download);
#   3. in that root, in a network namespace with only loopback, as an
#      unprivileged user, run tests/e2e/inside_root.sh: install with --prefix,
#      init, unseal, health over HTTPS, upgrade, a failed upgrade rolled back,
#      downgrade refused, tampered bundles refused, backup and restore,
#      uninstall;
#   4. install the .deb built by CPack into the same root, as root.
#
# Prints the figures: bundle size, install time, start to serving unsealed.
# Needs root (debootstrap, chroot, namespaces).
#
#   tests/e2e/bundle_e2e.sh BUILD_DIR NEXT_BINARIES_DIR NEXT_VERSION
set -euo pipefail

build_dir=$(cd "$1" && pwd)
next_dir=$(cd "$2" && pwd)
next_version=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${CLOISTER_E2E_CACHE:-${HOME:-/root}/.cache/cloister-e2e}
mirror=${CLOISTER_E2E_MIRROR:-http://deb.debian.org/debian}

log() { printf '\n=== %s\n' "$*"; }
fail() { printf 'E2E FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "the end-to-end test needs root (debootstrap, chroot, network namespace)"
for c in debootstrap unshare chroot ip openssl cpack dpkg-deb rpm; do
  command -v "$c" >/dev/null || fail "'$c' is missing (make test installs it)"
done

work=$(mktemp -d /tmp/cloister-e2e.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# ---- 1. bundles ----

log "Building bundles"
openssl genpkey -algorithm ed25519 -out "$work/release.pem" 2>/dev/null
openssl pkey -in "$work/release.pem" -pubout -out "$work/release.pub"
openssl genpkey -algorithm ed25519 -out "$work/other.pem" 2>/dev/null
bundle() { "$src/packaging/make-bundle.sh" --build-dir "$build_dir" --out "$work/$1" "${@:2}" 2>/dev/null; }

a=$(bundle a --signing-key "$work/release.pem")
a_again=$(bundle a-again --signing-key "$work/release.pem")
cmp "$a" "$a_again" || fail "building the same bundle twice gave different archives"
echo "reproducible: $(basename "$a") built twice, same SHA-256 $(sha256sum "$a" | cut -c1-16)..."
version=$(basename "$a" | sed -E 's/^cloister-([0-9.]+)-linux.*/\1/')
bundle_bytes=$(stat -c %s "$a")

b=$(bundle b --signing-key "$work/release.pem" --binaries "$next_dir")
[ "$(basename "$b")" = "cloister-$next_version-linux-x86_64.tar.gz" ] || fail "the later bundle is $(basename "$b")"

# A release whose daemon exits at start: the upgrade must roll back.
broken_version=$(echo "$next_version" | awk -F. '{ printf "%d.%d.%d", $1, $2, $3 + 1 }')
mkdir -p "$work/broken-bin"
cat >"$work/broken-bin/cloisterd" <<EOF
#!/bin/sh
if [ "\$1" = --version ]; then echo "cloisterd $broken_version"; exit 0; fi
echo "cloisterd: this release cannot start" >&2
exit 1
EOF
chmod +x "$work/broken-bin/cloisterd"
cp "$next_dir/cloisterctl" "$work/broken-bin/"
c=$(bundle c --signing-key "$work/release.pem" --binaries "$work/broken-bin")

evil=$(bundle evil --signing-key "$work/other.pem")

# Tampered copies of bundle A, not re-signed.
tamper() {  # tamper NAME COMMAND...: unpack A, change it, pack it again
  local dir="$work/$1"
  mkdir -p "$dir/x"
  tar -xzf "$a" -C "$dir/x"
  (cd "$dir/x/cloister-$version-linux-x86_64" && eval "${@:2}")
  tar -czf "$dir/$(basename "$a")" -C "$dir/x" "cloister-$version-linux-x86_64"
  rm -rf "$dir/x"
}
tamper flipped 'printf "\x01" | dd of=bin/cloisterctl bs=1 seek=4096 count=1 conv=notrunc status=none'
tamper extra 'echo "#!/bin/sh" > bin/helper'

# ---- 2. a clean Debian root ----

log "Preparing a minimal Debian root"
rootfs="$cache/bookworm-minbase-openssl.tar"
if [ ! -f "$rootfs" ]; then
  mkdir -p "$cache"
  started=$SECONDS
  debootstrap --variant=minbase --include=openssl bookworm "$work/bootstrap" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
  tar -cf "$rootfs.tmp" -C "$work/bootstrap" .
  mv "$rootfs.tmp" "$rootfs"
  rm -rf "$work/bootstrap"
  echo "debootstrap took $((SECONDS - started)) s (cached in $rootfs)"
fi
root="$work/root"
mkdir -p "$root"
tar -xf "$rootfs" -C "$root"
if chroot "$root" dpkg-query -W -f '${Package}\n' | grep -E -- '-dev$|^libpoco|^libsqlcipher|^libboost|^libyaml-cpp'; then
  fail "the Debian root has packages the bundle is meant to bring"
fi
echo "root has $(chroot "$root" dpkg-query -W -f '${Package}\n' | wc -l) packages, none of the build's"

chroot "$root" useradd --create-home --shell /bin/bash installer
home="$root/home/installer"
cp "$a" "$b" "$c" "$work/release.pub" "$src/tests/e2e/inside_root.sh" "$home/"
mkdir -p "$home/evil" "$home/flipped" "$home/extra"
cp "$evil" "$home/evil/"
cp "$work/flipped/$(basename "$a")" "$home/flipped/"
cp "$work/extra/$(basename "$a")" "$home/extra/"
chroot "$root" chown -R installer:installer /home/installer

# ---- 3. install, upgrade, roll back, back up, restore ----

log "Installing in the Debian root, offline, as an unprivileged user"
# A new network namespace (loopback only: no route out), mount namespace
# (its own /proc) and PID namespace (everything started dies with it).
unshare --net --mount --pid --fork -- bash -c '
  set -e
  ip link set lo up
  mount -t proc proc "$1/proc"
  exec chroot --userspec=installer:installer "$1" /usr/bin/env -i HOME=/home/installer \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 \
    bash /home/installer/inside_root.sh "$2" "$3" "$4"
' _ "$root" "$version" "$next_version" "$broken_version" || fail "the installation scenario failed (above)"

# ---- 4. the .deb and .rpm from the same install rules ----

log "Packages"
(cd "$build_dir" && cpack -G "DEB;RPM" -B "$work/pkg" >"$work/cpack.log" 2>&1) || { tail -20 "$work/cpack.log"; fail "cpack failed"; }
deb=$(ls "$work"/pkg/*.deb)
rpm_file=$(ls "$work"/pkg/*.rpm)
release="opt/cloister/releases/$version"
deb_files=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
rpm_files=$(rpm -qlp "$rpm_file" 2>/dev/null)
for f in bin/cloisterd bin/cloisterctl bin/cloister-verify lib/libsqlcipher.so.0 installer/install.sh share/policies/baseline/baseline.yaml; do
  echo "$deb_files" | grep -qx "./$release/$f" || fail "$(basename "$deb") lacks $release/$f"
  echo "$rpm_files" | grep -qx "/$release/$f" || fail "$(basename "$rpm_file") lacks /$release/$f"
done
echo "$(basename "$deb") and $(basename "$rpm_file") hold the release layout"
cp "$deb" "$root/tmp/cloister.deb"
# As root in the Debian root, with its own /proc ($ORIGIN is read from it).
as_root() { unshare --mount --pid --fork -- bash -c 'mount -t proc proc "$1/proc" && exec chroot "$@"' _ "$root" "$@"; }
as_root dpkg -i /tmp/cloister.deb >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i failed"; }
as_root test -L /opt/cloister/current || fail "the package did not activate its release"
chroot "$root" getent passwd cloister >/dev/null || fail "the package did not create the cloister user"
[ "$(stat -c %a "$root/var/lib/cloister")" = 700 ] || fail "/var/lib/cloister is not 0700"
[ "$(as_root /opt/cloister/current/bin/cloisterd --version)" = "cloisterd $version" ] || fail "the packaged cloisterd does not run"
as_root dpkg -r cloister >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r failed"; }
[ -d "$root/var/lib/cloister" ] && [ ! -e "$root/opt/cloister/current" ] || fail "removing the package should keep the data and drop the release"
echo "the .deb installs, activates (user, 0700 data, configuration) and removes cleanly in the Debian root"

log "Figures"
echo "bundle size: $bundle_bytes bytes ($(basename "$a"), this build's binaries)"
cat "$home/figures.txt"
echo "E2E PASSED"
