#!/usr/bin/env bash
# make demo: a throwaway appliance in ./.demo, initialized with a key-file
# seal and the dev/test/prod environments, unsealed, served until Ctrl-C.
# Every run starts fresh.
set -euo pipefail

build_dir=${1:-build}
port=${2:-8443}
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/.demo"
cloisterd="$root/$build_dir/appliance/server/cloisterd"
cloisterctl="$root/$build_dir/appliance/cli/cloisterctl"

rm -rf "$demo"
mkdir -p "$demo"
chmod 700 "$demo"

"$cloisterd" --data-dir "$demo/data" --address 127.0.0.1 --port "$port" \
  --log-file "$demo/log/cloisterd.log" --policy-dir "$root/policies" --ready-file "$demo/ready.json" 2>"$demo/console.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; echo; echo "Stopped. The demo appliance is gone on the next make demo."' EXIT
trap 'exit 0' INT TERM

for _ in $(seq 1 100); do
  [ -s "$demo/ready.json" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "cloisterd failed to start:" >&2
    cat "$demo/console.log" >&2
    if grep -q "in use" "$demo/console.log"; then
      echo "Port $port is taken; choose another: make demo PORT=9443" >&2
    fi
    trap - EXIT
    exit 1
  fi
  sleep 0.1
done

export CLOISTER_ADDR="https://127.0.0.1:$port"
export CLOISTER_CACERT="$demo/data/tls/cert.pem"
"$cloisterctl" --json operator init --key-file "$demo/unseal.key" --name demo >"$demo/init.json"
"$cloisterctl" operator unseal >/dev/null
field() { sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" "$demo/init.json"; }
token=$(field initial_admin_token)
admin_user=$(field initial_admin_user)
admin_password=$(field initial_admin_password)
verifier_key=$(CLOISTER_TOKEN="$token" "$cloisterctl" audit public-key)
fingerprint=$(field tls_fingerprint)

cat <<MSG

  Cloister demo appliance is running (initialized, unsealed).

  URL:                 https://127.0.0.1:$port
  Admin user:          $admin_user
  Admin password:      $admin_password
  Initial admin token: $token
  TLS certificate:     $CLOISTER_CACERT
  SHA-256 fingerprint: $fingerprint
  Environments:        dev, test, prod
  Audit verifier key:  $verifier_key
  Unseal key file:     $demo/unseal.key
  Log:                 $demo/log/cloisterd.log
  Policy packs:        $root/policies (loaded; bind them with cloisterctl policy binding put)

  Try, in another terminal:
    export CLOISTER_ADDR=$CLOISTER_ADDR CLOISTER_CACERT=$CLOISTER_CACERT
    $build_dir/appliance/cli/cloisterctl login $admin_user     # the admin password above
    $build_dir/appliance/cli/cloisterctl whoami
    $build_dir/appliance/cli/cloisterctl user create alice --role author@dev
    $build_dir/appliance/cli/cloisterctl audit events
    $build_dir/appliance/cli/cloisterctl policy list
    $build_dir/appliance/cli/cloisterctl policy test policies
    export CLOISTER_TOKEN=$token
    curl --cacert \$CLOISTER_CACERT \$CLOISTER_ADDR/v1/sys/health
    curl --cacert \$CLOISTER_CACERT -H "Authorization: Bearer \$CLOISTER_TOKEN" \$CLOISTER_ADDR/v1/environments

  Press Ctrl-C to stop.
MSG
wait "$pid"
