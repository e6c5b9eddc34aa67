#!/usr/bin/env bash
# Scale-out benchmark (issue 15): berth on PostgreSQL + S3 with 1, 2 and 3 replicas behind
# HAProxy on loopback, beside the single-process SQLite + disk baseline, on the same machine.
#
# For each setup, prints:
#   - push: PUSHES concurrent skopeo pushes of an image of IMG_LAYERS random gzip-less layers of
#     IMG_LAYER_MB MiB each (from one OCI layout built here), MB/s = bytes of all pushes / wall;
#   - pull: the same images pulled back concurrently into fresh layouts, MB/s;
#   - manifest GET: wrk -c 32 -t 2 for WRK_SECS s (after a 2 s warm-up) with Basic auth through
#     the balancer (the baseline: straight to the process), req/s and p99 ms.
# On 2 cores every replica shares the same two cores with PostgreSQL, the S3 server (moto, a
# Python process) and the balancer: the figures show the cost of the shared engines, not scaling.
#
# Usage: bench/replicas.sh
#   BERTH_BIN=path   berth binary (default: cargo build --release -p berth, target/release/berth)
#   PUSHES=4 IMG_LAYERS=2 IMG_LAYER_MB=16 WRK_SECS=10 REPLICAS="1 2 3" KEEP=1
# Needs: haproxy wrk skopeo curl jq psql, and scripts/install-deps.sh (PostgreSQL, moto).
# Not run in CI.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
LUA="$HERE/registry/wrk.lua"
PUSHES=${PUSHES:-4}
IMG_LAYERS=${IMG_LAYERS:-2}
IMG_LAYER_MB=${IMG_LAYER_MB:-16}
WRK_SECS=${WRK_SECS:-10}
REPLICAS=${REPLICAS:-"1 2 3"}
PASSWORD=bench-password
CREDS="admin:$PASSWORD"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
for t in haproxy wrk skopeo curl jq psql python3; do
  command -v "$t" >/dev/null || die "missing $t (apt-get install -y haproxy wrk skopeo curl jq postgresql-client)"
done

if [[ -z ${BERTH_BIN:-} ]]; then
  log "building berth (release)"
  cargo build --release -q -p berth
  BERTH_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/berth
fi
[[ -x $BERTH_BIN ]] || die "no berth binary at $BERTH_BIN"

WORK=$(mktemp -d /tmp/berth-replicas.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

PG_URL=$(scripts/services/postgres.sh)
scripts/services/s3.sh
export AWS_ACCESS_KEY_ID=berth-test AWS_SECRET_ACCESS_KEY=berth-test-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:${BERTH_TEST_S3_PORT:-29000} AWS_ALLOW_HTTP=true
BERTH_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export BERTH_MASTER_KEY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One OCI layout with the test image (random, incompressible layers).
log "building the image: $IMG_LAYERS x $IMG_LAYER_MB MiB"
python3 - "$WORK/image" "$IMG_LAYERS" "$IMG_LAYER_MB" <<'PY'
import hashlib, io, json, os, sys, tarfile
root, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(f"{root}/blobs/sha256", exist_ok=True)
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{root}/blobs/sha256/{d}", "wb").write(b)
    return {"digest": "sha256:" + d, "size": len(b)}
layers, diffs = [], []
for i in range(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = os.urandom(mb << 20)
        info = tarfile.TarInfo(f"data{i}.bin"); info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    d = put(raw); d["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    layers.append(d); diffs.append(d["digest"])
cfg = put(json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": diffs}}).encode())
cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
m = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg, "layers": layers}).encode())
m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
m["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
open(f"{root}/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [m]}))
PY
IMAGE_BYTES=$(du -cb "$WORK"/image/blobs/sha256/* | tail -1 | cut -f1)

start_berth() { # data_dir port [env...]
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  env BERTH_ADMIN_PASSWORD=$PASSWORD BERTH_LOG=warn "$@" \
    "$BERTH_BIN" serve --listen "127.0.0.1:$port" --data-dir "$dir" >>"$WORK/berth.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] && return
    sleep 0.1
  done
  die "berth on $port did not become ready (see $WORK/berth.log)"
}

start_balancer() { # port backend_ports...
  local port=$1; shift
  local cfg="$WORK/haproxy-$port.cfg"
  {
    printf 'global\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 2s\n'
    printf '  timeout client 300s\n  timeout server 300s\n  option redispatch\n  retries 3\n'
    printf 'frontend registry\n  bind 127.0.0.1:%s\n  default_backend replicas\n' "$port"
    printf 'backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n'
    local i=0
    for b in "$@"; do printf '  server r%d 127.0.0.1:%s check inter 1s\n' $i "$b"; i=$((i + 1)); done
  } >"$cfg"
  haproxy -db -f "$cfg" >>"$WORK/haproxy.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && return; sleep 0.1; done
  die "haproxy did not start"
}

now() { date +%s.%N; }

# copies direction addr: PUSHES concurrent skopeo copies (push: layout -> registry; pull: registry
# -> fresh layouts); prints MB/s over the wall time of all of them.
copies() {
  local direction=$1 addr=$2 t0 t1 i pids=() failed=0
  rm -rf "$WORK/pull"; mkdir -p "$WORK/pull"
  t0=$(now)
  for i in $(seq 1 "$PUSHES"); do
    if [[ $direction == push ]]; then
      skopeo copy -q --dest-tls-verify=false --dest-creds "$CREDS" \
        "oci:$WORK/image:v1" "docker://$addr/bench/app$i:v1" >>"$WORK/skopeo.log" 2>&1 &
    else
      skopeo copy -q --src-tls-verify=false --src-creds "$CREDS" \
        "docker://$addr/bench/app$i:v1" "oci:$WORK/pull/$i:v1" >>"$WORK/skopeo.log" 2>&1 &
    fi
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  t1=$(now)
  [[ $failed == 0 ]] || die "a $direction failed (see $WORK/skopeo.log)"
  awk -v b="$IMAGE_BYTES" -v n="$PUSHES" -v a="$t0" -v z="$t1" 'BEGIN{printf "%.1f", b*n/1e6/(z-a)}'
}

measure() { # label addr
  local label=$1 addr=$2
  local push pull
  push=$(copies push "$addr")
  pull=$(copies pull "$addr")
  local auth="Authorization: Basic $(printf '%s' "$CREDS" | base64)"
  local accept="Accept: application/vnd.oci.image.manifest.v1+json"
  local url="http://$addr/v2/bench/app1/manifests/v1"
  wrk -t 2 -c 32 -d 2s -H "$auth" -H "$accept" -s "$LUA" "$url" >/dev/null 2>&1 || true
  local out; out=$(wrk -t 2 -c 32 -d "${WRK_SECS}s" --latency -H "$auth" -H "$accept" -s "$LUA" "$url" 2>&1 | grep WRKRESULT)
  local rps p99 errs
  rps=$(awk '{print $3}' <<<"$out"); p99=$(awk '{printf "%.2f", $5/1000}' <<<"$out"); errs=$(awk '{print $6+$7+$8+$9+$10}' <<<"$out")
  printf '%-28s %10s %10s %12s %10s %8s\n' "$label" "$push" "$pull" "$rps" "$p99" "$errs"
}


printf '%-28s %10s %10s %12s %10s %8s\n' setup "push MB/s" "pull MB/s" "manifest/s" "p99 ms" errors

port=$(free_port)
start_berth "$WORK/single" "$port"
measure "1 process, SQLite + disk" "127.0.0.1:$port"
kill "${PIDS[-1]}"; unset 'PIDS[-1]'

for n in $REPLICAS; do
  db="bench_$(date +%s)_$n"
  psql "$PG_URL" -qc "CREATE DATABASE $db"
  pg=${PG_URL%/*}/$db
  prefix="s3://berth-test/bench-$(date +%s%N)"
  ports=()
  for r in $(seq 1 "$n"); do
    p=$(free_port); ports+=("$p")
    start_berth "$WORK/r$n-$r" "$p" BERTH_METADATA_URL="$pg" BERTH_BLOBS_URL="$prefix"
  done
  lb=$(free_port)
  start_balancer "$lb" "${ports[@]}"
  measure "$n replica(s), PostgreSQL + S3" "127.0.0.1:$lb"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
done
