#!/usr/bin/env bash
# Cloister installer: verify, install, upgrade (with automatic rollback),
# roll back, uninstall, and start/stop an installation without systemd.
#
# Nothing from a bundle runs before its signature and every checksum have
# been verified against the release key the installer trusts.
#
#   installer/install.sh --trusted-key release.pub            install from this bundle
#   installer/install.sh --upgrade [--bundle FILE.tar.gz]     upgrade an installation
#   installer/install.sh --help                               everything else
set -euo pipefail
umask 022

readonly SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'EOF'
Usage: install.sh [MODE] [OPTIONS]

Modes (default: install):
  --check           verify the bundle and run the preflight checks; change nothing
  --upgrade         upgrade the installation to this bundle (or --bundle); rolls
                    back on its own if the new release fails its health check
  --rollback        go back to the release before the last upgrade and restore
                    the data snapshot the upgrade took
  --uninstall       stop and remove Cloister; keeps configuration, data and logs
                    unless --purge
  --start, --stop, --status
                    control cloisterd in a --no-systemd installation
  --activate, --deactivate
                    used by the .deb and .rpm package scripts

Options:
  --bundle PATH         the bundle: a cloister-*.tar.gz or an extracted directory
                        (default: the bundle this script belongs to)
  --trusted-key FILE    Ed25519 public key (PEM) the bundle must be signed with;
                        required to install, kept for later upgrades
  --prefix DIR          install everything under DIR (default /)
  --no-systemd          no systemd unit: the installer starts cloisterd itself
                        (implied when not run as root)
  --address ADDR        listener address for a new configuration (default 0.0.0.0)
  --port N              listener port for a new configuration (default 8443)
  --force               allow a downgrade, or reinstall the same version
  --health-timeout S    seconds to wait for the health check (default 60)
  --min-free-mb N       free disk the preflight asks for (default 512)
  --purge               with --uninstall: also delete configuration, data and logs
  --yes                 answer yes to --purge's question
  -h, --help            this text
EOF
}

# ---- output ----

say() { printf '%s\n' "$*"; }
step() { printf '==> %s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

# ---- arguments ----

MODE=install
BUNDLE=""
TRUSTED_KEY=""
PREFIX=""
SYSTEMD=auto
ADDRESS=0.0.0.0
PORT=8443
FORCE=0
HEALTH_TIMEOUT=60
MIN_FREE_MB=512
PURGE=0
YES=0

while [ $# -gt 0 ]; do
  case "$1" in
    --check | --upgrade | --rollback | --uninstall | --start | --stop | --status | --activate | --deactivate)
      MODE=${1#--} ;;
    --bundle) BUNDLE=${2:?--bundle needs a path}; shift ;;
    --trusted-key) TRUSTED_KEY=${2:?--trusted-key needs a file}; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift ;;
    --no-systemd) SYSTEMD=no ;;
    --address) ADDRESS=${2:?--address needs an address}; shift ;;
    --port) PORT=${2:?--port needs a number}; shift ;;
    --force) FORCE=1 ;;
    --health-timeout) HEALTH_TIMEOUT=${2:?--health-timeout needs seconds}; shift ;;
    --min-free-mb) MIN_FREE_MB=${2:?--min-free-mb needs a number}; shift ;;
    --purge) PURGE=1 ;;
    --yes) YES=1 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "--port must be 1-65535, not '$PORT'"
[[ "$HEALTH_TIMEOUT" =~ ^[0-9]+$ ]] || die "--health-timeout must be a number of seconds"
[[ "$MIN_FREE_MB" =~ ^[0-9]+$ ]] || die "--min-free-mb must be a number"
if [ -n "$PREFIX" ]; then
  mkdir -p "$PREFIX" || die "cannot create --prefix $PREFIX"
  PREFIX=$(cd "$PREFIX" && pwd)
  [ "$PREFIX" = / ] && PREFIX=""
fi

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

# ---- the installed layout ----

readonly OPT="$PREFIX/opt/cloister"
readonly RELEASES="$OPT/releases"
readonly CURRENT="$OPT/current"
readonly ETC="$PREFIX/etc/cloister"
readonly CONFIG="$ETC/cloister.yaml"
readonly STATE="$ETC/install.conf"
readonly KEYRING_DIR="$ETC/release-keys"
readonly DATA="$PREFIX/var/lib/cloister"
readonly LOGS="$PREFIX/var/log/cloister"
readonly SNAPSHOTS="$DATA/upgrades"
readonly PIDFILE="$DATA/cloisterd.pid"
readonly UNIT=/etc/systemd/system/cloister.service
# The files that are the appliance's state; everything else in DATA is
# regenerated (TLS) or belongs to the operator (backups).
readonly DATA_FILES="cloister.db cloister.db-wal cloister.db-shm keyring.json"

# install.conf: what the installation was set up with, read by upgrades.
load_state() {
  [ -f "$STATE" ] || die "no Cloister installation under '${PREFIX:-/}' ($STATE is missing)"
  # shellcheck disable=SC1090
  . "$STATE"
  SYSTEMD=$INSTALLED_SYSTEMD
}

save_state() {
  local tmp="$STATE.tmp"
  {
    echo "# Written by install.sh; read by upgrades and uninstall."
    echo "INSTALLED_SYSTEMD=$SYSTEMD"
    echo "SERVICE_USER=$SERVICE_USER"
    echo "PREVIOUS_RELEASE=${PREVIOUS_RELEASE:-}"
    echo "LAST_SNAPSHOT=${LAST_SNAPSHOT:-}"
  } >"$tmp"
  chmod 0640 "$tmp"
  mv -f "$tmp" "$STATE"
}

# ---- verification ----

need_commands() {
  local missing=()
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] || die "required commands not found: ${missing[*]} (install them and re-run)"
}

# Extracts a .tar.gz bundle into a new directory under $2 and prints the
# bundle directory. Extraction never writes outside it: GNU tar refuses
# absolute names and '..', and the result is checked file by file next.
extract_bundle() {
  local archive=$1 under=$2 dir
  mkdir -p "$under"
  dir=$(mktemp -d "$under/.bundle.XXXXXX")
  tar -xzf "$archive" -C "$dir" --no-same-owner --no-same-permissions --delay-directory-restore 2>"$dir.err" ||
    { local why; why=$(head -3 "$dir.err"); rm -rf "$dir" "$dir.err"; die "cannot unpack $archive: $why"; }
  rm -f "$dir.err"
  local top=("$dir"/*)
  [ ${#top[@]} -eq 1 ] && [ -d "${top[0]}" ] || { rm -rf "$dir"; die "$archive is not a Cloister bundle (expected one top directory)"; }
  printf '%s\n' "${top[0]}"
}

# Verifies a bundle directory: the Ed25519 signature of SHA256SUMS with the
# trusted key, then that SHA256SUMS names exactly the files present, then
# every checksum.
verify_bundle() {
  local dir=$1 key=$2
  need_commands openssl sha256sum find sort
  [ -f "$key" ] || die "trusted key $key not found"
  openssl pkey -pubin -in "$key" -noout -text 2>/dev/null | grep -q '^ED25519 Public-Key' ||
    die "trusted key $key is not an Ed25519 public key in PEM form"
  [ -f "$dir/SHA256SUMS" ] && [ -f "$dir/SHA256SUMS.sig" ] ||
    die "bundle $dir has no SHA256SUMS and SHA256SUMS.sig: not a signed Cloister bundle"
  local out
  if ! out=$(openssl pkeyutl -verify -pubin -inkey "$key" -rawin -in "$dir/SHA256SUMS" -sigfile "$dir/SHA256SUMS.sig" 2>&1); then
    die "REFUSED: the signature of SHA256SUMS does not verify with the trusted key $key (key SHA-256 $(key_fingerprint "$key")). The bundle was signed by another key or altered. Nothing was installed."
  fi
  # Only regular files and directories; every file listed, nothing extra.
  local odd
  odd=$(cd "$dir" && find . ! -type f ! -type d | head -3)
  [ -z "$odd" ] || die "REFUSED: the bundle holds links or special files ($odd). Nothing was installed."
  if grep -qvE '^[0-9a-f]{64}  [A-Za-z0-9][A-Za-z0-9._+/-]*$' "$dir/SHA256SUMS" || grep -qE '(^|/)\.\.(/|$)' "$dir/SHA256SUMS"; then
    die "REFUSED: SHA256SUMS has a malformed line. Nothing was installed."
  fi
  local listed present
  listed=$(cut -c67- "$dir/SHA256SUMS" | LC_ALL=C sort)
  present=$(cd "$dir" && find . -type f ! -path ./SHA256SUMS ! -path ./SHA256SUMS.sig | sed 's|^\./||' | LC_ALL=C sort)
  if [ "$listed" != "$present" ]; then
    local extra missing
    extra=$(LC_ALL=C comm -13 <(echo "$listed") <(echo "$present") | head -5 | paste -sd' ')
    missing=$(LC_ALL=C comm -23 <(echo "$listed") <(echo "$present") | head -5 | paste -sd' ')
    die "REFUSED: the bundle's files do not match SHA256SUMS${extra:+; not listed: $extra}${missing:+; missing: $missing}. Nothing was installed."
  fi
  local failed
  if ! failed=$(cd "$dir" && sha256sum --check --strict --quiet SHA256SUMS 2>&1); then
    failed=$(echo "$failed" | grep -oE '^[^:]+: FAILED' | sed 's/: FAILED//' | head -5 | paste -sd' ')
    die "REFUSED: checksum mismatch: ${failed:-see sha256sum -c}. The bundle was altered or damaged. Nothing was installed."
  fi
  say "Verified: signature by key SHA-256 $(key_fingerprint "$key"), $(wc -l <"$dir/SHA256SUMS") files."
}

key_fingerprint() { openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | sha256sum | cut -c1-64; }

bundle_version() {
  local v
  v=$(head -1 "$1/VERSION" 2>/dev/null) || die "bundle $1 has no VERSION file"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bundle $1 has a malformed VERSION '$v'"
  printf '%s\n' "$v"
}

# 0 when $1 is an older version than $2.
version_lt() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$1" ]; }

# The bundle to act on, verified; sets BUNDLE_DIR and BUNDLE_VERSION.
# Trusted key: --trusted-key, else the one kept by the installation.
resolve_bundle() {
  local source=${BUNDLE:-$(dirname "$SCRIPT_DIR")}
  local key=$TRUSTED_KEY
  [ -n "$key" ] || key="$KEYRING_DIR/trusted.pem"
  [ -f "$key" ] || die "--trusted-key is required: the Ed25519 public key the release is signed with"
  if [ -f "$source" ]; then
    need_commands tar gzip mktemp
    mkdir -p "$OPT"
    BUNDLE_DIR=$(extract_bundle "$source" "$OPT")
    CLEANUP="$(dirname "$BUNDLE_DIR")"
    trap 'rm -rf "$CLEANUP"' EXIT
  elif [ -d "$source" ]; then
    BUNDLE_DIR=$(cd "$source" && pwd)
  else
    die "bundle $source not found"
  fi
  step "Verifying $(basename "$BUNDLE_DIR")"
  verify_bundle "$BUNDLE_DIR" "$key"
  BUNDLE_VERSION=$(bundle_version "$BUNDLE_DIR")
  USED_KEY=$key
}

# ---- preflight ----

PREFLIGHT_FAILED=0
check() {  # check OK|FAIL WHAT DETAIL
  if [ "$1" = OK ]; then printf '  ok    %-14s %s\n' "$2" "$3"; else
    printf '  FAIL  %-14s %s\n' "$2" "$3"
    PREFLIGHT_FAILED=$((PREFLIGHT_FAILED + 1))
  fi
}

existing_ancestor() {
  local p=$1
  while [ ! -e "$p" ]; do p=$(dirname "$p"); done
  printf '%s\n' "$p"
}

free_mb() { df -Pk "$(existing_ancestor "$1")" | awk 'NR==2 { print int($4 / 1024) }'; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

preflight() {  # preflight CHECK_PORT
  step "Preflight checks"
  local arch glibc need_glibc
  arch=$(uname -m)
  if [ "$arch" = x86_64 ]; then check OK architecture "$arch"; else check FAIL architecture "$arch (this bundle is for x86_64)"; fi

  need_glibc=$(awk '$1 == "glibc" { print $2 }' "$BUNDLE_DIR/share/requirements" 2>/dev/null || true)
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }' || true)
  if [ -z "$glibc" ]; then
    check FAIL glibc "cannot tell the C library's version (getconf GNU_LIBC_VERSION)"
  elif [ -n "$need_glibc" ] && version_lt "$glibc" "$need_glibc"; then
    check FAIL glibc "$glibc (this bundle needs $need_glibc or later)"
  else
    check OK glibc "$glibc${need_glibc:+ (needs $need_glibc)}"
  fi

  local release_mb need_mb have_mb
  release_mb=$(du -sm "$BUNDLE_DIR" | awk '{ print $1 }')
  need_mb=$((release_mb * 2 + MIN_FREE_MB))
  have_mb=$(free_mb "$OPT")
  if [ "$have_mb" -ge "$need_mb" ]; then check OK "disk $OPT" "${have_mb} MiB free (needs $need_mb)"; else
    check FAIL "disk $OPT" "${have_mb} MiB free, needs $need_mb"; fi
  have_mb=$(free_mb "$DATA")
  if [ "$have_mb" -ge "$MIN_FREE_MB" ]; then check OK "disk $DATA" "${have_mb} MiB free (needs $MIN_FREE_MB)"; else
    check FAIL "disk $DATA" "${have_mb} MiB free, needs $MIN_FREE_MB"; fi

  if [ "$1" = yes ]; then
    if port_in_use "$PORT"; then check FAIL port "$PORT is in use (choose another with --port)"; else check OK port "$PORT is free"; fi
  fi

  local cmds=(tar gzip sha256sum openssl find sort awk sed df du mktemp ln mv cp chmod getconf setsid)
  [ "$SYSTEMD" = yes ] && cmds+=(systemctl useradd)
  local missing=()
  for c in "${cmds[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  if [ ${#missing[@]} -eq 0 ]; then check OK commands "${#cmds[@]} found"; else check FAIL commands "missing: ${missing[*]}"; fi

  if [ "$SYSTEMD" = yes ]; then
    if [ -d /run/systemd/system ]; then check OK systemd "running"; else
      check FAIL systemd "not running here (use --no-systemd)"; fi
  fi
  [ "$PREFLIGHT_FAILED" -eq 0 ] || die "preflight failed ($PREFLIGHT_FAILED problems above); nothing was changed"
}

# ---- placing a release ----

place_release() {  # place_release DIR VERSION: copy a verified bundle to releases/VERSION
  local src=$1 version=$2 dest="$RELEASES/$2"
  mkdir -p "$RELEASES"
  local tmp="$RELEASES/.$version.tmp"
  rm -rf "$tmp"
  cp -R "$src" "$tmp"
  chmod -R u+rwX,go+rX,go-w "$tmp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

switch_current() {  # atomically point current at releases/VERSION
  ln -sfn "releases/$1" "$OPT/.current.tmp"
  mv -T "$OPT/.current.tmp" "$CURRENT"
}

current_version() { [ -L "$CURRENT" ] && basename "$(readlink "$CURRENT")"; }

# ---- configuration ----

render() {  # render TEMPLATE: fills the @NAME@ placeholders
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@OPT@|$OPT|g" -e "s|@ETC@|$ETC|g" -e "s|@DATA@|$DATA|g" \
    -e "s|@LOGS@|$LOGS|g" -e "s|@ADDRESS@|$ADDRESS|g" -e "s|@PORT@|$PORT|g" -e "s|@USER@|$SERVICE_USER|g" "$1"
}

configure() {
  step "Configuring"
  if [ "$IS_ROOT" = 1 ]; then
    SERVICE_USER=cloister
    if ! getent passwd cloister >/dev/null 2>&1; then
      need_commands useradd
      useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin cloister
      say "Created system user cloister."
    fi
  else
    SERVICE_USER=$(id -un)
  fi
  mkdir -p "$ETC" "$KEYRING_DIR" "$DATA" "$DATA/backups" "$SNAPSHOTS" "$LOGS"
  chmod 0750 "$ETC"
  chmod 0700 "$LOGS"
  chmod 0755 "$KEYRING_DIR"
  chmod 0700 "$DATA" "$DATA/backups" "$SNAPSHOTS"
  if [ "$IS_ROOT" = 1 ]; then
    chown root:cloister "$ETC"
    chown -R cloister:cloister "$DATA" "$LOGS"
  fi
  if [ -n "$TRUSTED_KEY" ]; then
    install -m 0644 "$TRUSTED_KEY" "$KEYRING_DIR/trusted.pem.tmp"
    mv -f "$KEYRING_DIR/trusted.pem.tmp" "$KEYRING_DIR/trusted.pem"
  fi
  if [ -f "$CONFIG" ]; then
    say "Kept the existing configuration $CONFIG."
  else
    render "$CURRENT/share/templates/cloister.yaml.in" >"$CONFIG.tmp"
    chmod 0640 "$CONFIG.tmp"
    [ "$IS_ROOT" = 1 ] && chown root:cloister "$CONFIG.tmp"
    mv -f "$CONFIG.tmp" "$CONFIG"
    say "Wrote $CONFIG."
  fi
  if [ "$SYSTEMD" = yes ]; then
    render "$CURRENT/share/templates/cloister.service.in" >"$UNIT.tmp"
    chmod 0644 "$UNIT.tmp"
    mv -f "$UNIT.tmp" "$UNIT"
    systemctl daemon-reload
    systemctl enable cloister.service >/dev/null 2>&1
    say "Installed and enabled the systemd unit $UNIT."
  fi
  save_state
}

# ---- the service ----

running_pid() {
  local pid
  [ -f "$PIDFILE" ] && pid=$(cat "$PIDFILE") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

service_start() {
  if [ "$SYSTEMD" = yes ]; then
    systemctl restart cloister.service
    return
  fi
  if running_pid >/dev/null; then return; fi
  local log="$LOGS/console.log"
  setsid "$CURRENT/bin/cloisterd" --config "$CONFIG" </dev/null >>"$log" 2>&1 &
  echo $! >"$PIDFILE"
}

service_stop() {
  if [ "$SYSTEMD" = yes ]; then
    systemctl stop cloister.service || true
    return
  fi
  local pid
  pid=$(running_pid) || { rm -f "$PIDFILE"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "cloisterd (pid $pid) did not stop in 30 s; killing it."
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PIDFILE"
}

listen_port() { awk '/^listener:/ { l = 1; next } /^[^ #]/ { l = 0 } l && $1 == "port:" { print $2; exit }' "$CONFIG"; }

# Waits for the health endpoint over HTTPS. Prints the health lines; fails
# when cloisterd exits, the version differs, or the time runs out. A
# key-file appliance must come up unsealed (its migrations have run).
health_check() {  # health_check EXPECTED_VERSION
  local expected=$1 port deadline out
  port=$(listen_port)
  port=${port:-8443}
  deadline=$((SECONDS + HEALTH_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if [ "$SYSTEMD" != yes ] && ! running_pid >/dev/null; then
      HEALTH_PROBLEM="cloisterd exited (see $LOGS/console.log: $(tail -1 "$LOGS/console.log" 2>/dev/null))"
      return 1
    fi
    if out=$("$CURRENT/bin/cloisterctl" --addr "https://127.0.0.1:$port" --ca-cert "$DATA/tls/cert.pem" health 2>/dev/null); then :; fi
    if echo "$out" | grep -q '^version '; then
      local version sealed seal_type initialized
      version=$(echo "$out" | awk '$1 == "version" { print $2 }')
      sealed=$(echo "$out" | awk '$1 == "sealed" { print $2 }')
      initialized=$(echo "$out" | awk '$1 == "initialized" { print $2 }')
      seal_type=$(echo "$out" | awk '$1 == "seal_type" { print $2 }')
      if [ "$version" != "$expected" ]; then
        HEALTH_PROBLEM="the appliance reports version $version, expected $expected"
        return 1
      fi
      if [ "$initialized" = true ] && [ "$sealed" = true ] && [ "$seal_type" = key_file ]; then
        sleep 0.2
        continue  # the key-file seal unseals at start: wait for it
      fi
      HEALTH="version $version, $([ "$initialized" = true ] || echo "not initialized, ")$([ "$sealed" = true ] && echo sealed || echo unsealed)"
      return 0
    fi
    sleep 0.2
  done
  HEALTH_PROBLEM="no healthy answer on port $port within ${HEALTH_TIMEOUT}s"
  return 1
}

# ---- data snapshots (upgrades) ----

# Copies the appliance's state files while cloisterd is stopped, with their
# checksums; prints the snapshot directory.
take_snapshot() {  # take_snapshot NAME
  local dir="$SNAPSHOTS/$1"
  mkdir -p "$dir"
  chmod 0700 "$dir"
  local f
  for f in $DATA_FILES; do
    [ -f "$DATA/$f" ] && cp -p "$DATA/$f" "$dir/$f"
  done
  cp -p "$CONFIG" "$dir/cloister.yaml"
  (cd "$dir" && sha256sum -- * >SHA256SUMS)
  [ "$IS_ROOT" = 1 ] && chown -R cloister:cloister "$dir"
  printf '%s\n' "$dir"
}

# Puts a snapshot back; what was in the data directory is moved into the
# snapshot's 'replaced-<time>' folder, never deleted.
restore_snapshot() {  # restore_snapshot DIR
  local dir=$1
  (cd "$dir" && sha256sum --check --quiet --strict SHA256SUMS) || die "snapshot $dir does not match its checksums; restore it by hand"
  local aside
  aside="$dir/replaced-$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$aside"
  local f
  for f in $DATA_FILES; do
    [ -f "$DATA/$f" ] && mv "$DATA/$f" "$aside/$f"
  done
  for f in $DATA_FILES; do
    [ -f "$dir/$f" ] && cp -p "$dir/$f" "$DATA/$f"
  done
  cp -p "$dir/cloister.yaml" "$CONFIG"
  [ "$IS_ROOT" = 1 ] && chown -R cloister:cloister "$DATA" && chown root:cloister "$CONFIG"
  RESTORED_ASIDE=$aside
}

# ---- modes ----

settle_systemd_mode() {
  if [ "$SYSTEMD" = auto ]; then
    if [ "$IS_ROOT" = 1 ] && [ -d /run/systemd/system ]; then SYSTEMD=yes; else SYSTEMD=no; fi
  fi
  if [ "$SYSTEMD" = yes ] && [ "$IS_ROOT" = 0 ]; then die "a systemd installation needs root; use --prefix DIR --no-systemd"; fi
  if [ "$IS_ROOT" = 0 ] && [ -z "$PREFIX" ]; then die "installing without root needs --prefix DIR --no-systemd"; fi
}

print_next_steps() {
  local port
  port=$(listen_port)
  cat <<EOF

Cloister $1 is installed in $OPT/current and serving on https://127.0.0.1:${port:-8443} ($HEALTH).
Next, initialize and unseal it (see share/doc/install-guide.md):
  export CLOISTER_ADDR=https://127.0.0.1:${port:-8443} CLOISTER_CACERT=$DATA/tls/cert.pem
  $CURRENT/bin/cloisterctl operator init
  $CURRENT/bin/cloisterctl operator unseal      # once per share, up to the threshold
EOF
}

do_install() {
  settle_systemd_mode
  resolve_bundle
  local installed
  installed=$(current_version || true)
  if [ -n "$installed" ] && [ "$installed" != "$BUNDLE_VERSION" ]; then
    die "Cloister $installed is already installed under '${PREFIX:-/}'; upgrade with --upgrade"
  fi
  preflight "$([ -n "$installed" ] && echo no || echo yes)"
  local started=$SECONDS
  if [ -n "$installed" ] && [ "$FORCE" = 0 ]; then
    step "Cloister $installed is already installed: checking its configuration"
  else
    step "Installing Cloister $BUNDLE_VERSION into $RELEASES/$BUNDLE_VERSION"
    place_release "$BUNDLE_DIR" "$BUNDLE_VERSION"
    switch_current "$BUNDLE_VERSION"
  fi
  [ -n "$TRUSTED_KEY" ] || TRUSTED_KEY=$USED_KEY
  PREVIOUS_RELEASE=""; LAST_SNAPSHOT=""
  [ -f "$STATE" ] && . "$STATE"  # keeps the rollback record of a re-run
  configure
  step "Starting cloisterd"
  service_start
  health_check "$BUNDLE_VERSION" || die "cloisterd did not become healthy: $HEALTH_PROBLEM"
  say "Installed in $((SECONDS - started)) s."
  print_next_steps "$BUNDLE_VERSION"
}

do_check() {
  settle_systemd_mode
  resolve_bundle
  preflight "$([ -L "$CURRENT" ] && echo no || echo yes)"
  say "Bundle $BUNDLE_VERSION verified and this machine passes the preflight checks. Nothing was changed."
}

rollback_after_failure() {  # rollback_after_failure OLD NEW SNAPSHOT REASON
  local old=$1 new=$2 snapshot=$3 reason=$4
  say "Health check of $new failed: $reason"
  step "Rolling back to $old"
  service_stop
  switch_current "$old"
  restore_snapshot "$snapshot"
  mv "$RESTORED_ASIDE" "$snapshot/failed-$new"
  service_start
  if health_check "$old"; then
    PREVIOUS_RELEASE=""; LAST_SNAPSHOT=""
    save_state
    die "upgrade to $new FAILED ($reason). Rolled back to $old and restored the data snapshot $snapshot; the data the failed release saw is kept in $snapshot/failed-$new. The appliance is $HEALTH."
  fi
  die "upgrade to $new FAILED ($reason), and $old did not come back after the rollback either ($HEALTH_PROBLEM). Data snapshot: $snapshot. See $LOGS."
}

do_upgrade() {
  load_state
  resolve_bundle
  local old new=$BUNDLE_VERSION
  old=$(current_version) || die "no current release under $OPT"
  if [ "$old" = "$new" ] && [ "$FORCE" = 0 ]; then
    say "Cloister $new is already installed; nothing to do (--force reinstalls it)."
    return 0
  fi
  if version_lt "$new" "$old" && [ "$FORCE" = 0 ]; then
    die "REFUSED: $new is older than the installed $old. A downgrade can leave the database at a schema the old release does not know; pass --force to do it anyway."
  fi
  preflight no
  local started=$SECONDS
  step "Upgrading Cloister $old -> $new"
  place_release "$BUNDLE_DIR" "$new"
  say "Stopping cloisterd."
  service_stop
  local snapshot
  snapshot=$(take_snapshot "$old-to-$new-$(date -u +%Y%m%dT%H%M%SZ)")
  say "Data snapshot: $snapshot"
  PREVIOUS_RELEASE=$old
  LAST_SNAPSHOT=$snapshot
  save_state
  switch_current "$new"
  say "Starting $new (it applies any schema migration as it unseals)."
  service_start
  if ! health_check "$new"; then
    rollback_after_failure "$old" "$new" "$snapshot" "$HEALTH_PROBLEM"
  fi
  # Keep the release before this one, for --rollback; drop older ones.
  local r
  for r in "$RELEASES"/*; do
    r=$(basename "$r")
    [ "$r" = "$new" ] || [ "$r" = "$old" ] || rm -rf "${RELEASES:?}/$r"
  done
  say "Upgraded $old -> $new in $((SECONDS - started)) s: $HEALTH."
  say "The previous release and the data snapshot are kept; 'install.sh --rollback' goes back to them."
}

do_rollback() {
  load_state
  [ -n "${PREVIOUS_RELEASE:-}" ] && [ -d "$RELEASES/$PREVIOUS_RELEASE" ] && [ -d "${LAST_SNAPSHOT:-}" ] ||
    die "nothing to roll back to: no upgrade is on record"
  local now
  now=$(current_version)
  step "Rolling back $now -> $PREVIOUS_RELEASE"
  service_stop
  switch_current "$PREVIOUS_RELEASE"
  restore_snapshot "$LAST_SNAPSHOT"
  service_start
  health_check "$PREVIOUS_RELEASE" || die "$PREVIOUS_RELEASE did not become healthy: $HEALTH_PROBLEM"
  say "Rolled back to $PREVIOUS_RELEASE ($HEALTH). The data written since the upgrade is kept in $RESTORED_ASIDE."
  PREVIOUS_RELEASE=""; LAST_SNAPSHOT=""
  save_state
}

do_uninstall() {
  load_state
  if [ "$PURGE" = 1 ] && [ "$YES" = 0 ]; then
    if [ -t 0 ]; then
      printf 'This deletes %s, %s and %s: the database, the keyring, every backup in it and the logs.\nType "purge" to go on: ' "$ETC" "$DATA" "$LOGS"
      local answer
      read -r answer
      [ "$answer" = purge ] || die "not purged; nothing was changed"
    else
      die "--purge deletes the data; confirm with --yes when not run interactively. Nothing was changed."
    fi
  fi
  step "Stopping cloisterd"
  service_stop
  if [ "$SYSTEMD" = yes ]; then
    systemctl disable cloister.service >/dev/null 2>&1 || true
    rm -f "$UNIT"
    systemctl daemon-reload || true
  fi
  rm -rf "$OPT"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$ETC" "$DATA" "$LOGS"
    if [ "$IS_ROOT" = 1 ] && [ "${SERVICE_USER:-}" = cloister ] && getent passwd cloister >/dev/null 2>&1; then
      userdel cloister 2>/dev/null || true
    fi
    say "Cloister is removed, with its configuration, data and logs."
  else
    rm -f "$STATE"
    say "Cloister is removed. Kept: $ETC (configuration), $DATA (database, keyring, backups), $LOGS."
    say "Reinstalling later finds them again; --uninstall --purge deletes them."
  fi
}

# The package scripts: the package manager has placed this release.
do_activate() {
  settle_systemd_mode
  local version
  version=$(bundle_version "$(dirname "$SCRIPT_DIR")")
  switch_current "$version"
  PREVIOUS_RELEASE=""; LAST_SNAPSHOT=""
  [ -f "$STATE" ] && . "$STATE" && SYSTEMD=${INSTALLED_SYSTEMD}
  configure
  if [ "$SYSTEMD" = yes ]; then
    service_start
    say "Cloister $version is active: systemctl status cloister"
  else
    say "Cloister $version is installed; systemd is not running here, start it with $CURRENT/installer/install.sh --start"
  fi
}

do_deactivate() {
  [ -f "$STATE" ] || return 0
  load_state
  service_stop
  if [ "$SYSTEMD" = yes ]; then
    systemctl disable cloister.service >/dev/null 2>&1 || true
    rm -f "$UNIT"
  fi
  rm -f "$CURRENT" "$STATE"
}

case "$MODE" in
  install) do_install ;;
  check) do_check ;;
  upgrade) do_upgrade ;;
  rollback) do_rollback ;;
  uninstall) do_uninstall ;;
  start)
    load_state
    service_start
    health_check "$(current_version)" || die "cloisterd did not become healthy: $HEALTH_PROBLEM"
    say "cloisterd is running: $HEALTH" ;;
  stop) load_state; service_stop; say "cloisterd is stopped." ;;
  status)
    load_state
    if [ "$SYSTEMD" = yes ]; then systemctl status cloister.service; exit $?; fi
    if pid=$(running_pid); then say "cloisterd is running (pid $pid), release $(current_version)"; else
      say "cloisterd is not running"; exit 3; fi ;;
  activate) do_activate ;;
  deactivate) do_deactivate ;;
esac
