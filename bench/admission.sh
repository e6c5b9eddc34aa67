#!/usr/bin/env bash
# The admission webhook's benchmark (issue 12; not run by CI): a release berth with its HTTPS
# admission listener and scan-on-push over the test advisory feeds, and a second process
# (crates/berth/examples/admission_load.rs) posting AdmissionReviews for Deployments of a
# blocked (one in ten) and an allowed image at RATE/s for SECONDS_ over loopback. Prints
# p50/p90/p99/max from the client and the server's own decision-time histogram; the target is
# p99 under 5 ms.
#
#   bench/admission.sh                     # 500/s for 10 s, release build
#   RATE=1000 SECONDS_=20 bench/admission.sh
#   PROFILE=dev bench/admission.sh         # the test build (slower, no release build)
#   SCANNER_BERTH=target/debug/berth NO_SCANNER=1 bench/admission.sh
#       # measure a registry-only release build (--no-default-features); the images are pushed
#       # and scanned first by SCANNER_BERTH on the same data directory and port
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
rate=${RATE:-500}
seconds=${SECONDS_:-10}
flags=()
[ "$profile" = release ] && flags+=(--release)
[ -n "${NO_SCANNER:-}" ] && flags+=(--no-default-features)
cargo build --quiet "${flags[@]}" -p berth --bin berth --example admission_load
target=${CARGO_TARGET_DIR:-target}/${profile/dev/debug}
berth=$target/berth
load=$target/examples/admission_load
setup_berth=${SCANNER_BERTH:-$berth}

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
aport=$(free_port)
feeds=crates/vulndb/tests/fixtures/feeds
"$setup_berth" db import --db "$work/db" "$feeds/alpine/v3.10-main.json" crates/berth/tests/fixtures/sas/osv >/dev/null
cluster=$("$berth" admin cluster create bench --json --data-dir "$work/data")
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ClusterId"])' "$cluster")
token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["Token"])' "$cluster")
export BERTH_ADMIN_PASSWORD=bench-password
serve() {
  BERTH_LOG=warn BERTH_SCAN_ON_PUSH=true BERTH_SCAN_DB_DIR="$work/db" \
    BERTH_ADMISSION_LISTEN="127.0.0.1:$aport" \
    "$1" serve --listen "127.0.0.1:$port" --data-dir "$work/data" &
  pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$aport") 2>/dev/null && return
    sleep 0.1
  done
}
args=("http://127.0.0.1:$port" "https://127.0.0.1:$aport" "$work/data" "$id" "$token" "$rate" "$seconds")
if [ "$setup_berth" != "$berth" ]; then
  serve "$setup_berth"
  PHASE=setup "$load" "${args[@]}"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  serve "$berth"
  PHASE=load "$load" "${args[@]}"
else
  serve "$berth"
  "$load" "${args[@]}"
fi
