#!/usr/bin/env bash
# The installer's side of bundle_e2e.sh, run inside the clean Debian root as
# an unprivileged user, with loopback only. Each step checks what it claims.
#
#   inside_root.sh VERSION NEXT_VERSION BROKEN_VERSION
set -euo pipefail

version=$1 next=$2 broken=$3
cd "$HOME"
prefix="$HOME/cloister"
port=18443
bundle_a="cloister-$version-linux-x86_64.tar.gz"
bundle_b="cloister-$next-linux-x86_64.tar.gz"
bundle_c="cloister-$broken-linux-x86_64.tar.gz"
data="$prefix/var/lib/cloister"
export CLOISTER_ADDR="https://127.0.0.1:$port" CLOISTER_CACERT="$data/tls/cert.pem"
ctl() { "$prefix/opt/cloister/current/bin/cloisterctl" "$@"; }
installer() { "$prefix/opt/cloister/current/installer/install.sh" --prefix "$prefix" "$@"; }

step() { printf -- '--- %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
expect_fail() {  # expect_fail PATTERN COMMAND...: must exit non-zero and say PATTERN
  local out
  if out=$("${@:2}" 2>&1); then fail "expected '$*' to fail; it said: $out"; fi
  echo "$out" | grep -q -- "$1" || fail "expected '$1' from '${*:2}'; it said: $out"
  echo "  refused as expected: $(echo "$out" | grep -m1 -- "$1" | cut -c1-160)"
}
health_field() { ctl health | awk -v k="$1" '$1 == k { print $2 }'; }

step "nothing installed yet, no network but loopback"
[ ! -e "$prefix" ] || fail "$prefix exists"
if (exec 3<>/dev/tcp/deb.debian.org/80) 2>/dev/null; then fail "the root has a network route out"; fi

step "tampered bundles are refused before anything runs"
for bad in flipped extra evil; do
  mkdir -p "$bad/x"
  tar -xzf "$bad/"cloister-*.tar.gz -C "$bad/x"
done
expect_fail "checksum mismatch: bin/cloisterctl" flipped/x/*/installer/install.sh --trusted-key release.pub --prefix "$HOME/never" --no-systemd
expect_fail "not listed: bin/helper" extra/x/*/installer/install.sh --trusted-key release.pub --prefix "$HOME/never" --no-systemd
expect_fail "does not verify with the trusted key" evil/x/*/installer/install.sh --trusted-key release.pub --prefix "$HOME/never" --no-systemd
[ ! -e "$HOME/never/opt/cloister/current" ] || fail "a refused bundle left an installation"

step "install $version"
tar -xzf "$bundle_a"
started=$(now_ms)
"cloister-$version-linux-x86_64/installer/install.sh" --trusted-key release.pub --prefix "$prefix" --no-systemd --port "$port"
install_ms=$(($(now_ms) - started))
[ "$(stat -c %a "$data")" = 700 ] || fail "the data directory is not 0700"
[ "$(stat -c %a "$prefix/etc/cloister/cloister.yaml")" = 640 ] || fail "the configuration is not 0640"
grep -q "port: $port" "$prefix/etc/cloister/cloister.yaml" || fail "the configuration lacks the port"

step "re-running the install changes nothing"
rerun=$("cloister-$version-linux-x86_64/installer/install.sh" --trusted-key release.pub --prefix "$prefix" --no-systemd --port "$port")
echo "$rerun" | grep -q "already installed" || fail "a second install did not recognise the first: $rerun"

step "init and unseal over HTTPS"
ctl --json operator init --key-file "$HOME/unseal.key" --name e2e >init.json
token=$(grep -o '"initial_admin_token": *"[^"]*"' init.json | sed 's/.*: *"//; s/"$//')
[ -n "$token" ] || fail "no admin token in the init answer"
export CLOISTER_TOKEN=$token
ctl operator unseal >/dev/null
[ "$(health_field sealed)" = false ] || fail "not unsealed"
[ "$(health_field version)" = "$version" ] || fail "health reports another version"

step "every library cloisterd loads, but glibc and the C++ runtime, comes from the bundle"
pid=$(cat "$data/cloisterd.pid")
foreign=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$pid/maps" | sort -u |
  grep -v "^$prefix/opt/cloister/releases/$version/lib/" |
  grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux-x86-64|libpthread|libdl|librt)\.so' || true)
[ -z "$foreign" ] || fail "libraries from outside the bundle: $foreign"

step "start to serving unsealed (key-file seal)"
installer --stop >/dev/null
started=$(now_ms)
installer --start >/dev/null
serve_ms=$(($(now_ms) - started))
[ "$(health_field sealed)" = false ] || fail "not unsealed after a restart"

ctl user create alice --role author@dev >/dev/null
ctl user list | grep -q alice || fail "alice was not created"

step "a tampered or foreign-signed bundle is refused by cloisterctl upgrade too"
expect_fail "checksum mismatch" ctl upgrade "flipped/$bundle_a" --force
expect_fail "does not verify" ctl upgrade "evil/$bundle_a" --force
[ "$(health_field version)" = "$version" ] || fail "a refused upgrade changed the release"

step "upgrade $version -> $next"
ctl upgrade "$bundle_b"
[ "$(health_field version)" = "$next" ] || fail "not running $next after the upgrade"
[ "$(health_field sealed)" = false ] || fail "sealed after the upgrade"
ctl user list | grep -q alice || fail "alice is gone after the upgrade"

step "a downgrade is refused"
expect_fail "older than the installed" ctl upgrade "$bundle_a"
[ "$(health_field version)" = "$next" ] || fail "a refused downgrade changed the release"

step "an upgrade whose daemon cannot start rolls back on its own"
expect_fail "Rolled back to $next" ctl upgrade "$bundle_c" --health-timeout 15
[ "$(health_field version)" = "$next" ] || fail "not back on $next after the rollback"
ctl user list | grep -q alice || fail "alice is gone after the rollback"
ctl audit verify >/dev/null || fail "the ledger does not verify after the rollback"

step "backup, then a newer change"
ctl backup create --out "$HOME/backup.cbk"
ctl backup verify "$HOME/backup.cbk" --ledger --key-file "$HOME/unseal.key" | grep -q "Ledger:      ok" || fail "the backup does not verify"
ctl user create bob --role author@dev >/dev/null
cp backup.cbk tampered.cbk
printf '\x00' | dd of=tampered.cbk bs=1 seek=20000 count=1 conv=notrunc status=none
expect_fail "does not match" ctl backup verify tampered.cbk
head -c 10000 backup.cbk >truncated.cbk
expect_fail "truncated" ctl backup verify truncated.cbk

step "restore"
expect_fail "cloisterd is running" ctl backup restore backup.cbk --data-dir "$data"
installer --stop >/dev/null
expect_fail "does not match" ctl backup restore tampered.cbk --data-dir "$data" --allow-older
expect_fail "would drop the" ctl backup restore backup.cbk --data-dir "$data"
ctl backup restore backup.cbk --data-dir "$data" --allow-older
installer --start >/dev/null
ctl user list | grep -q alice || fail "alice is missing after the restore"
if ctl user list | grep -q bob; then fail "bob, created after the backup, is still there"; fi
ctl --json audit events --action system.restore | grep -q '"system.restore"' || fail "the restore is not in the ledger"
ctl audit verify >/dev/null || fail "the ledger does not verify after the restore"

step "uninstall keeps the data unless purged"
expect_fail "confirm with --yes" installer --uninstall --purge </dev/null
installer --uninstall
[ ! -e "$prefix/opt/cloister" ] || fail "the release is still there"
[ -f "$data/cloister.db" ] && [ -f "$data/keyring.json" ] || fail "uninstall lost the data"

step "purge"
tar -xzf "$bundle_b"
"cloister-$next-linux-x86_64/installer/install.sh" --trusted-key release.pub --prefix "$prefix" --no-systemd >/dev/null
"$prefix/opt/cloister/current/installer/install.sh" --prefix "$prefix" --uninstall --purge --yes >/dev/null
[ ! -e "$data" ] && [ ! -e "$prefix/etc/cloister" ] || fail "--purge left data or configuration"

{
  echo "install time: ${install_ms} ms (verify, preflight, place, configure, start, health)"
  echo "start to serving unsealed: ${serve_ms} ms (key-file seal)"
} >figures.txt
echo "inside the root: all steps passed"
