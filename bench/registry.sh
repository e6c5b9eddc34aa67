#!/usr/bin/env bash
# Registry benchmark: berth against the CNCF distribution registry (Debian `docker-registry`, 2.8),
# both on 127.0.0.1, same log level (warn, no per-request access log), measured one at a time.
#
# Prints, for both and as a ratio berth/distribution, with a PASS/MISS column against the targets
# of issue 2:
#   - push and pull throughput of a 256 MiB layer: monolithic (POST + one PUT with the body) and
#     chunked (POST, PATCH 16 MiB chunks with Content-Range, final PUT); pull as one GET and as
#     16 MiB Range GETs; median of 3, MB/s = 10^6 bytes/s from curl's %{time_total} summed over
#     the requests of the operation;
#   - a whole image with skopeo (4 gzip layers of 32 MiB random data, from an OCI layout built here,
#     into each registry and back out to a fresh layout), wall time, median of 3;
#   - manifest GET and blob HEAD requests/s and p99 latency (wrk -c 32 -t 2 --latency, 10 s after a
#     2 s warm-up), with Basic auth and anonymous;
#   - peak RSS (VmHWM) of each registry's server processes over the whole run.
#
# Auth: pushes, pulls and skopeo use credentials on both sides (berth never allows anonymous push).
#   distribution: htpasswd (bcrypt, `htpasswd -Bbn`) for the authenticated phase; the anonymous phase
#     restarts it on the same storage without `auth:`.
#   berth: user admin, password from BERTH_ADMIN_PASSWORD at first start, Basic on every request;
#     the anonymous phase stops berth, marks namespace `bench` public in meta.db with sqlite3 and
#     starts it again on the same data dir (there is no management API yet).
#   Peak RSS is the larger VmHWM of the two processes of each registry.
#
# Usage: bench/registry.sh
#   BERTH_BIN=path      berth binary (default: cargo build --release -p berth, target/release/berth)
#   BENCH_ONLY=distribution   run distribution only (for developing this script)
#   LAYER_MB=256 CHUNK_MB=16 REPS=3 IMG_LAYERS=4 IMG_LAYER_MB=32 WRK_SECS=10 WRK_WARMUP_SECS=2
#   KEEP=1              keep the temp dir (/tmp/berth-bench.*) and server logs
# Needs: docker-registry wrk apache2-utils(htpasswd) sqlite3 skopeo curl jq (apt-get install -y ...).
# Not run in CI.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
LUA="$HERE/registry/wrk.lua"

LAYER_MB=${LAYER_MB:-256}
CHUNK_MB=${CHUNK_MB:-16}
REPS=${REPS:-3}
IMG_LAYERS=${IMG_LAYERS:-4}
IMG_LAYER_MB=${IMG_LAYER_MB:-32}
WRK_SECS=${WRK_SECS:-10}
WRK_WARMUP_SECS=${WRK_WARMUP_SECS:-2}
WRK_CONNS=32
WRK_THREADS=2
LOG_LEVEL=warn
BENCH_ONLY=${BENCH_ONLY:-}
DIST_BIN=${DIST_BIN:-/usr/bin/docker-registry}

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

for t in curl wrk htpasswd sqlite3 skopeo jq sha256sum split awk "$DIST_BIN"; do
  command -v "$t" >/dev/null || die "missing $t (apt-get install -y docker-registry wrk apache2-utils sqlite3 skopeo curl jq)"
done

REGS=(distribution berth)
[[ $BENCH_ONLY == distribution ]] && REGS=(distribution)

# ---------------------------------------------------------------------------------------------
# berth binary
BERTH=""
if [[ $BENCH_ONLY != distribution ]]; then
  if [[ -n ${BERTH_BIN:-} ]]; then
    BERTH=$BERTH_BIN
  else
    log "building berth (cargo build --release -p berth)"
    (cd "$ROOT" && cargo build --release -p berth) || die "cargo build failed"
    tdir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
    BERTH=$tdir/release/berth
  fi
  [[ -x $BERTH ]] || die "berth binary $BERTH not executable"
fi

# ---------------------------------------------------------------------------------------------
# temp dir, servers, cleanup
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
declare -A PID=() PORT=() BASE=() CRED=() HWM=() HWMS=()
SERVER_PIDS=()

stop_pid() { # pid: TERM, wait up to 10 s, then KILL
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  return 0
}
cleanup() {
  local p
  for p in "${SERVER_PIDS[@]}"; do stop_pid "$p"; done
  if [[ ${KEEP:-} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

record_hwm() { # reg: fold the running process's VmHWM (KiB) into HWM[reg]
  local reg=$1 kb
  kb=$(awk '/^VmHWM:/ {print $2}' "/proc/${PID[$reg]}/status" 2>/dev/null)
  [[ -n $kb ]] || { log "no VmHWM for $reg (pid ${PID[$reg]}): process gone?"; return; }
  HWMS[$reg]="${HWMS[$reg]:-}${HWMS[$reg]:+ + }$((kb / 1024))"
  if [[ -z ${HWM[$reg]:-} ]] || ((kb > HWM[$reg])); then HWM[$reg]=$kb; fi
}

stop_server() { # reg
  local reg=$1
  record_hwm "$reg"
  stop_pid "${PID[$reg]}"
}

wait_ready() { # reg logfile
  local reg=$1 logf=$2 i code
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "${PID[$reg]}" 2>/dev/null; then
      log "$reg exited during start; log:"; cat "$logf" >&2; die "$reg did not start"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "${BASE[$reg]}/v2/" 2>/dev/null)
    [[ $code == 200 || $code == 401 ]] && return 0
    sleep 0.1
  done
  cat "$logf" >&2
  die "$reg not ready after 30 s"
}

DIST_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
BERTH_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
htpasswd -Bbn bench "$DIST_PASS" >"$WORK/htpasswd" 2>/dev/null || die "htpasswd failed"
mkdir -p "$WORK/dist-data" "$WORK/berth-data"
PORT[distribution]=$(free_port)
PORT[berth]=$(free_port)
while [[ ${PORT[berth]} == "${PORT[distribution]}" ]]; do PORT[berth]=$(free_port); done
BASE[distribution]=http://127.0.0.1:${PORT[distribution]}
BASE[berth]=http://127.0.0.1:${PORT[berth]}
CRED[distribution]=bench:$DIST_PASS
CRED[berth]=admin:$BERTH_PASS

start_distribution() { # auth|anon
  local mode=$1 cfg=$WORK/dist-$1.yml
  {
    cat <<EOF
version: 0.1
log:
  level: $LOG_LEVEL
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/dist-data
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${PORT[distribution]}
  secret: bench-$DIST_PASS
EOF
    if [[ $mode == auth ]]; then
      cat <<EOF
auth:
  htpasswd:
    realm: basic-realm
    path: $WORK/htpasswd
EOF
    fi
  } >"$cfg"
  "$DIST_BIN" serve "$cfg" >>"$WORK/dist.log" 2>&1 &
  PID[distribution]=$!
  SERVER_PIDS+=("$!")
  wait_ready distribution "$WORK/dist.log"
  log "distribution ($mode) pid ${PID[distribution]} on ${BASE[distribution]}"
}

start_berth() {
  BERTH_ADMIN_PASSWORD=$BERTH_PASS BERTH_LOG=$LOG_LEVEL BERTH_GC_INTERVAL_SECS=0 \
    "$BERTH" serve --listen "127.0.0.1:${PORT[berth]}" --data-dir "$WORK/berth-data" >>"$WORK/berth.log" 2>&1 &
  PID[berth]=$!
  SERVER_PIDS+=("$!")
  wait_ready berth "$WORK/berth.log"
  log "berth pid ${PID[berth]} on ${BASE[berth]}"
}

# ---------------------------------------------------------------------------------------------
# helpers
AUTH=() # curl auth args for the current phase
set_auth() { # reg on|off
  if [[ $2 == on ]]; then AUTH=(-u "${CRED[$1]}"); else AUTH=(); fi
}

# req METHOD URL [curl args]: sets CODE TIME LOC; headers in $WORK/hdr
req() {
  local m=$1 url=$2 out
  shift 2
  out=$(curl -sS -X "$m" -H 'Expect:' ${AUTH[@]+"${AUTH[@]}"} -D "$WORK/hdr" -w '%{http_code} %{time_total} %{size_download}' "$@" "$url" 2>"$WORK/curl.err")
  CODE=${out%% *}
  TIME=$(echo "$out" | awk '{print $2}')
  SIZE=$(echo "$out" | awk '{print $3}')
  LOC=$(awk 'tolower($1) == "location:" {sub(/\r$/, ""); $1 = ""; sub(/^ /, ""); l = $0} END {print l}' "$WORK/hdr")
}
report_fail() { # what reg expected
  {
    echo "---- $2: $1: expected $3, got ${CODE:-none}"
    cat "$WORK/curl.err"
    sed 's/\r$//' "$WORK/hdr"
    [[ -s $WORK/body ]] && head -c 2000 "$WORK/body" && echo
    echo "----"
  } | tee -a "$WORK/failures" >&2
}
abs_url() { # reg location
  case $2 in
    http://* | https://*) echo "$2" ;;
    /*) echo "${BASE[$1]}$2" ;;
    *) echo "${BASE[$1]}/$2" ;;
  esac
}
with_digest() { # url digest
  case $1 in *\?*) echo "$1&digest=$2" ;; *) echo "$1?digest=$2" ;; esac
}
fadd() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f", a + b}'; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN {if (t > 0) printf "%.1f", b / t / 1e6; else print "ERR"}'; }
median() { # numbers...; ERR if any is ERR
  local v
  for v in "$@"; do [[ $v == ERR ]] && { echo ERR; return; }; done
  printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "ERR"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f", (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# push_mono reg repo file digest -> prints seconds or ERR
push_mono() {
  local reg=$1 repo=$2 file=$3 dg=$4 t url
  : >"$WORK/body"
  req POST "${BASE[$reg]}/v2/$repo/blobs/uploads/" -o "$WORK/body" -H 'Content-Length: 0'
  [[ $CODE == 202 ]] || { report_fail "monolithic POST" "$reg" 202; echo ERR; return; }
  t=$TIME
  url=$(with_digest "$(abs_url "$reg" "$LOC")" "$dg")
  req PUT "$url" -o "$WORK/body" -H 'Content-Type: application/octet-stream' --data-binary "@$file"
  [[ $CODE == 201 ]] || { report_fail "monolithic PUT" "$reg" 201; echo ERR; return; }
  fadd "$t" "$TIME"
}

# push_chunked reg repo digest chunkfiles... -> prints seconds or ERR
push_chunked() {
  local reg=$1 repo=$2 dg=$3 t url c off=0 sz
  shift 3
  : >"$WORK/body"
  req POST "${BASE[$reg]}/v2/$repo/blobs/uploads/" -o "$WORK/body" -H 'Content-Length: 0'
  [[ $CODE == 202 ]] || { report_fail "chunked POST" "$reg" 202; echo ERR; return; }
  t=$TIME
  url=$(abs_url "$reg" "$LOC")
  for c in "$@"; do
    sz=$(stat -c %s "$c")
    req PATCH "$url" -o "$WORK/body" -H 'Content-Type: application/octet-stream' \
      -H "Content-Range: $off-$((off + sz - 1))" --data-binary "@$c"
    [[ $CODE == 202 ]] || { report_fail "chunked PATCH $off-$((off + sz - 1))" "$reg" 202; echo ERR; return; }
    t=$(fadd "$t" "$TIME")
    off=$((off + sz))
    url=$(abs_url "$reg" "$LOC")
  done
  req PUT "$(with_digest "$url" "$dg")" -o "$WORK/body" -H 'Content-Type: application/octet-stream' -H 'Content-Length: 0'
  [[ $CODE == 201 ]] || { report_fail "chunked final PUT" "$reg" 201; echo ERR; return; }
  fadd "$t" "$TIME"
}

# pull_single reg repo digest size -> seconds or ERR
pull_single() {
  local reg=$1 repo=$2 dg=$3 size=$4
  : >"$WORK/body"
  req GET "${BASE[$reg]}/v2/$repo/blobs/$dg" -L -o /dev/null
  [[ $CODE == 200 && $SIZE == "$size" ]] || { report_fail "blob GET (size $SIZE, want $size)" "$reg" 200; echo ERR; return; }
  echo "$TIME"
}

# pull_ranges reg repo digest size chunkbytes -> seconds or ERR
pull_ranges() {
  local reg=$1 repo=$2 dg=$3 size=$4 cb=$5 off=0 end t=0
  : >"$WORK/body"
  while ((off < size)); do
    end=$((off + cb - 1))
    ((end >= size)) && end=$((size - 1))
    req GET "${BASE[$reg]}/v2/$repo/blobs/$dg" -L -o /dev/null -H "Range: bytes=$off-$end"
    [[ $CODE == 206 && $SIZE == $((end - off + 1)) ]] || { report_fail "blob Range GET $off-$end (size $SIZE)" "$reg" 206; echo ERR; return; }
    t=$(fadd "$t" "$TIME")
    off=$((end + 1))
  done
  echo "$t"
}

verify_blob() { # reg repo digest: full GET through sha256sum (untimed)
  local reg=$1 repo=$2 dg=$3 got
  got=$(curl -sS -L ${AUTH[@]+"${AUTH[@]}"} "${BASE[$reg]}/v2/$repo/blobs/$dg" | sha256sum | cut -d' ' -f1)
  if [[ sha256:$got != "$dg" ]]; then
    echo "---- $reg: blob $dg pulled back with digest sha256:$got" | tee -a "$WORK/failures" >&2
    return 1
  fi
}

new_header() { # file: overwrite the first 64 bytes with fresh random bytes (unique digest per push)
  head -c 64 /dev/urandom | dd of="$1" bs=64 count=1 conv=notrunc status=none
}

gzip0() { # stdin -> gzip with stored deflate blocks (random data does not compress; keep it cheap)
  if command -v python3 >/dev/null; then
    python3 -c 'import gzip, sys; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), 0, mtime=0))'
  else
    gzip -1 -n
  fi
}

# make_image dir tag: OCI layout with IMG_LAYERS gzip layers of IMG_LAYER_MB random MiB each.
# Sets IMG_DIGEST (manifest digest) and IMG_BYTES (manifest + config + layers).
make_image() {
  local dir=$1 tag=$2 i tmp=$WORK/imgtmp layers="" diffs="" d dd sz total=0 cfg cd cs man md ms
  rm -rf "$dir" "$tmp"
  mkdir -p "$dir/blobs/sha256" "$tmp"
  for ((i = 1; i <= IMG_LAYERS; i++)); do
    head -c $((IMG_LAYER_MB * 1048576)) /dev/urandom >"$tmp/data$i.bin"
    tar -C "$tmp" --owner=0 --group=0 --mtime=@0 -cf "$tmp/layer.tar" "data$i.bin"
    dd=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
    gzip0 <"$tmp/layer.tar" >"$tmp/layer.tgz"
    d=$(sha256sum "$tmp/layer.tgz" | cut -d' ' -f1)
    sz=$(stat -c %s "$tmp/layer.tgz")
    mv "$tmp/layer.tgz" "$dir/blobs/sha256/$d"
    total=$((total + sz))
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$sz}"
    diffs+="${diffs:+,}\"sha256:$dd\""
    rm -f "$tmp/data$i.bin" "$tmp/layer.tar"
  done
  cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffs]}}"
  printf '%s' "$cfg" >"$tmp/config"
  cd=$(sha256sum "$tmp/config" | cut -d' ' -f1)
  cs=$(stat -c %s "$tmp/config")
  mv "$tmp/config" "$dir/blobs/sha256/$cd"
  man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cd\",\"size\":$cs},\"layers\":[$layers]}"
  printf '%s' "$man" >"$tmp/manifest"
  md=$(sha256sum "$tmp/manifest" | cut -d' ' -f1)
  ms=$(stat -c %s "$tmp/manifest")
  mv "$tmp/manifest" "$dir/blobs/sha256/$md"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$md" "$ms" "$tag" >"$dir/index.json"
  IMG_BYTES=$((total + cs + ms))
  IMG_DIGEST=sha256:$md
  rm -rf "$tmp"
}

# skopeo_push reg srcdir tag repo -> seconds or ERR
skopeo_push() {
  local reg=$1 src=$2 tag=$3 repo=$4 t0 t1
  t0=$(date +%s%N)
  if ! skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds "${CRED[$reg]}" \
    "oci:$src:$tag" "docker://127.0.0.1:${PORT[$reg]}/$repo:$tag" >"$WORK/skopeo.out" 2>&1; then
    { echo "---- $reg: skopeo copy into the registry failed:"; cat "$WORK/skopeo.out"; echo "----"; } | tee -a "$WORK/failures" >&2
    echo ERR; return
  fi
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", (b - a) / 1e9}'
}

# skopeo_pull reg repo tag dstdir want_manifest_digest -> seconds or ERR
skopeo_pull() {
  local reg=$1 repo=$2 tag=$3 dst=$4 want=$5 t0 t1 got
  rm -rf "$dst"
  t0=$(date +%s%N)
  if ! skopeo --insecure-policy copy -q --src-tls-verify=false --src-creds "${CRED[$reg]}" \
    "docker://127.0.0.1:${PORT[$reg]}/$repo:$tag" "oci:$dst:$tag" >"$WORK/skopeo.out" 2>&1; then
    { echo "---- $reg: skopeo copy out of the registry failed:"; cat "$WORK/skopeo.out"; echo "----"; } | tee -a "$WORK/failures" >&2
    echo ERR; return
  fi
  t1=$(date +%s%N)
  got=$(jq -r '.manifests[0].digest' "$dst/index.json")
  if [[ $got != "$want" ]]; then
    echo "---- $reg: skopeo pulled manifest $got, pushed $want" | tee -a "$WORK/failures" >&2
    echo ERR; return
  fi
  rm -rf "$dst"
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", (b - a) / 1e9}'
}

# run_wrk reg key method url -> sets R_RPS[key,reg] R_P99[key,reg] (ms)
declare -A R=()
run_wrk() {
  local reg=$1 key=$2 method=$3 url=$4 hdrs=() out line code
  hdrs=(-H 'Accept: application/vnd.oci.image.manifest.v1+json')
  [[ ${#AUTH[@]} -gt 0 ]] && hdrs+=(-H "Authorization: Basic $(printf '%s' "${AUTH[1]}" | base64 -w0)")
  # one curl first, so a wrong status shows up with its body
  if [[ $method == HEAD ]]; then
    code=$(curl -sS -I -o "$WORK/body" -w '%{http_code}' "${hdrs[@]}" "$url" 2>&1)
  else
    code=$(curl -sS -o "$WORK/body" -w '%{http_code}' "${hdrs[@]}" "$url" 2>&1)
  fi
  if [[ $code != 200 ]]; then
    { echo "---- $reg: $key: $method $url -> $code"; head -c 2000 "$WORK/body"; echo; echo "----"; } | tee -a "$WORK/failures" >&2
    R[rps,$key,$reg]=ERR; R[p99,$key,$reg]=ERR
    return
  fi
  WRK_METHOD=$method wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d "${WRK_WARMUP_SECS}s" --timeout 5s -s "$LUA" "${hdrs[@]}" "$url" >/dev/null 2>&1
  out=$(WRK_METHOD=$method timeout $((WRK_SECS + 30)) wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d "${WRK_SECS}s" --timeout 5s --latency -s "$LUA" "${hdrs[@]}" "$url" 2>&1)
  echo "$out" >>"$WORK/wrk.log"
  line=$(echo "$out" | grep '^WRKRESULT' | tail -1)
  if [[ -z $line ]]; then
    { echo "---- $reg: $key: wrk printed no result:"; echo "$out"; echo "----"; } | tee -a "$WORK/failures" >&2
    R[rps,$key,$reg]=ERR; R[p99,$key,$reg]=ERR
    return
  fi
  # WRKRESULT requests rps p50_us p99_us status connect read write timeout bytes
  read -r _ n rps p50 p99 est econ erd ewr eto bytes <<<"$line"
  log "  $reg $key: $n requests, $rps req/s, p50 $((p50))us p99 $((p99))us, errors status=$est connect=$econ read=$erd write=$ewr timeout=$eto"
  if ((est + econ + erd + ewr + eto > 0)); then
    { echo "---- $reg: $key: wrk reported errors (status=$est connect=$econ read=$erd write=$ewr timeout=$eto):"; echo "$out"; echo "----"; } | tee -a "$WORK/failures" >&2
  fi
  R[rps,$key,$reg]=$rps
  R[p99,$key,$reg]=$(awk -v u="$p99" 'BEGIN {printf "%.2f", u / 1000}')
}

# ---------------------------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "work dir $WORK; layer ${LAYER_MB} MiB, chunks ${CHUNK_MB} MiB, $REPS reps, image ${IMG_LAYERS}x${IMG_LAYER_MB} MiB, wrk ${WRK_SECS}s"
start_distribution auth
[[ -n $BERTH ]] && start_berth

# ---- blob push/pull -------------------------------------------------------------------------
LAYER=$WORK/layer.bin
LAYER_BYTES=$((LAYER_MB * 1048576))
CHUNK_BYTES=$((CHUNK_MB * 1048576))
head -c "$LAYER_BYTES" /dev/urandom >"$LAYER"
declare -A S=() # S[metric,reg] = space-separated samples (MB/s)
add_sample() { S[$1,$2]="${S[$1,$2]:-} $3"; }

for ((rep = 1; rep <= REPS; rep++)); do
  # alternate which registry goes first
  order=("${REGS[@]}")
  ((rep % 2 == 0)) && [[ ${#REGS[@]} -eq 2 ]] && order=("${REGS[1]}" "${REGS[0]}")

  new_header "$LAYER"
  dg=sha256:$(sha256sum "$LAYER" | cut -d' ' -f1)
  for reg in "${order[@]}"; do
    set_auth "$reg" on
    t=$(push_mono "$reg" bench/blob "$LAYER" "$dg")
    [[ $t == ERR ]] && v=ERR || v=$(mbps "$LAYER_BYTES" "$t"); add_sample push_mono "$reg" "$v"
    ((rep == 1)) && { verify_blob "$reg" bench/blob "$dg" || true; }
    t=$(pull_single "$reg" bench/blob "$dg" "$LAYER_BYTES")
    [[ $t == ERR ]] && v=ERR || v=$(mbps "$LAYER_BYTES" "$t"); add_sample pull_single "$reg" "$v"
    t=$(pull_ranges "$reg" bench/blob "$dg" "$LAYER_BYTES" "$CHUNK_BYTES")
    [[ $t == ERR ]] && v=ERR || v=$(mbps "$LAYER_BYTES" "$t"); add_sample pull_ranges "$reg" "$v"
  done

  new_header "$LAYER"
  dg=sha256:$(sha256sum "$LAYER" | cut -d' ' -f1)
  rm -f "$WORK"/chunk.*
  split -b "$CHUNK_BYTES" -d -a 4 "$LAYER" "$WORK/chunk."
  for reg in "${order[@]}"; do
    set_auth "$reg" on
    t=$(push_chunked "$reg" bench/blob "$dg" "$WORK"/chunk.*)
    [[ $t == ERR ]] && v=ERR || v=$(mbps "$LAYER_BYTES" "$t"); add_sample push_chunked "$reg" "$v"
    ((rep == 1)) && { verify_blob "$reg" bench/blob "$dg" || true; }
  done
  rm -f "$WORK"/chunk.*
  log "rep $rep: push mono ${S[push_mono,distribution]} | ${S[push_mono,berth]:-}; chunked ${S[push_chunked,distribution]} | ${S[push_chunked,berth]:-}; pull ${S[pull_single,distribution]} | ${S[pull_single,berth]:-}"
done
rm -f "$LAYER"

# ---- digest verification: a body that does not match ?digest= must be refused -----------------
declare -A DIGEST_CHECK=()
head -c 1048576 /dev/urandom >"$WORK/small"
for reg in "${REGS[@]}"; do
  set_auth "$reg" on
  : >"$WORK/body"
  req POST "${BASE[$reg]}/v2/bench/blob/blobs/uploads/" -o "$WORK/body" -H 'Content-Length: 0'
  if [[ $CODE != 202 ]]; then DIGEST_CHECK[$reg]="POST $CODE"; continue; fi
  req PUT "$(with_digest "$(abs_url "$reg" "$LOC")" "sha256:$(head -c 64 /dev/urandom | sha256sum | cut -d' ' -f1)")" \
    -o "$WORK/body" -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/small"
  DIGEST_CHECK[$reg]="$CODE $(jq -r '.errors[0].code // empty' "$WORK/body" 2>/dev/null)"
  if [[ $CODE != 400 ]]; then report_fail "PUT with a wrong digest" "$reg" "400 DIGEST_INVALID"; fi
done
rm -f "$WORK/small"

# ---- skopeo ---------------------------------------------------------------------------------
for ((rep = 1; rep <= REPS; rep++)); do
  order=("${REGS[@]}")
  ((rep % 2 == 0)) && [[ ${#REGS[@]} -eq 2 ]] && order=("${REGS[1]}" "${REGS[0]}")
  make_image "$WORK/img" "rep$rep"
  md=$IMG_DIGEST
  for reg in "${order[@]}"; do
    t=$(skopeo_push "$reg" "$WORK/img" "rep$rep" bench/img)
    [[ $t == ERR ]] && v=ERR || v=$(mbps "$IMG_BYTES" "$t"); add_sample skopeo_push "$reg" "$v"
    t=$(skopeo_pull "$reg" bench/img "rep$rep" "$WORK/pulled" "$md")
    [[ $t == ERR ]] && v=ERR || v=$(mbps "$IMG_BYTES" "$t"); add_sample skopeo_pull "$reg" "$v"
  done
  log "rep $rep: skopeo push ${S[skopeo_push,distribution]} | ${S[skopeo_push,berth]:-}; pull ${S[skopeo_pull,distribution]} | ${S[skopeo_pull,berth]:-}"
done
rm -rf "$WORK/img"

# ---- wrk: authenticated ---------------------------------------------------------------------
# wrk does not know that a HEAD response has no body: with a non-zero Content-Length it waits for
# the body and never completes a request (wg/wrk has no HEAD handling). So the blob HEAD benchmark
# asks for the zero-byte blob, pushed into bench/img here; the manifest GET asks for tag rep1.
EMPTY_DIGEST=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
: >"$WORK/empty"
MANIFEST_PATH=/v2/bench/img/manifests/rep1
BLOB_PATH=/v2/bench/img/blobs/$EMPTY_DIGEST
for reg in "${REGS[@]}"; do
  set_auth "$reg" on
  t=$(push_mono "$reg" bench/img "$WORK/empty" "$EMPTY_DIGEST")
  [[ $t == ERR ]] && log "$reg: pushing the zero-byte blob failed"
  run_wrk "$reg" manifest_auth GET "${BASE[$reg]}$MANIFEST_PATH"
  run_wrk "$reg" head_auth HEAD "${BASE[$reg]}$BLOB_PATH"
done

# ---- restart anonymous ----------------------------------------------------------------------
stop_server distribution
start_distribution anon
BERTH_ANON_HOW=""
if [[ -n $BERTH ]]; then
  stop_server berth
  if sqlite3 "$WORK/berth-data/meta.db" "UPDATE namespaces SET public=1 WHERE name='bench'; SELECT changes();" >"$WORK/sql.out" 2>&1 &&
    [[ $(tail -1 "$WORK/sql.out") == 1 ]]; then
    BERTH_ANON_HOW="namespace bench marked public in meta.db, berth restarted"
  else
    { echo "---- berth: could not mark namespace bench public:"; cat "$WORK/sql.out"; echo "----"; } | tee -a "$WORK/failures" >&2
    BERTH_ANON_HOW="n/a: could not mark namespace public"
  fi
  start_berth
fi

# ---- wrk: anonymous -------------------------------------------------------------------------
for reg in "${REGS[@]}"; do
  set_auth "$reg" off
  if [[ $reg == berth && $BERTH_ANON_HOW == n/a* ]]; then
    R[rps,manifest_anon,berth]=n/a; R[p99,manifest_anon,berth]=n/a
    R[rps,head_anon,berth]=n/a; R[p99,head_anon,berth]=n/a
    continue
  fi
  run_wrk "$reg" manifest_anon GET "${BASE[$reg]}$MANIFEST_PATH"
  run_wrk "$reg" head_anon HEAD "${BASE[$reg]}$BLOB_PATH"
done

# ---- peak RSS -------------------------------------------------------------------------------
for reg in "${REGS[@]}"; do stop_server "$reg"; done

# ---------------------------------------------------------------------------------------------
# table
num() { [[ $1 =~ ^[0-9.]+$ ]]; }
ratio() { # berth dist
  if num "$1" && num "$2" && awk -v d="$2" 'BEGIN {exit !(d > 0)}'; then
    awk -v b="$1" -v d="$2" 'BEGIN {printf "%.2fx", b / d}'
  else echo "n/a"; fi
}
verdict() { # ratio op target
  local r=${1%x}
  num "$r" || { echo "n/a"; return; }
  if awk -v r="$r" -v t="$3" -v op="$2" 'BEGIN {exit !((op == ">=") ? (r >= t) : (r <= t))}'; then echo PASS; else echo MISS; fi
}
ROWS=()
row() { # label dist berth op target
  local r
  r=$(ratio "$3" "$2")
  ROWS+=("$1|$2|$3|$r|$4 $5x|$(verdict "$r" "$4" "$5")")
}
med() { median ${S[$1,$2]:-ERR}; }
bval() { [[ -n $BERTH ]] && echo "$1" || echo "n/a"; }

row "push ${LAYER_MB} MiB monolithic (MB/s)" "$(med push_mono distribution)" "$(bval "$(med push_mono berth)")" ">=" 1.5
row "push ${LAYER_MB} MiB chunked ${CHUNK_MB} MiB (MB/s)" "$(med push_chunked distribution)" "$(bval "$(med push_chunked berth)")" ">=" 1.5
row "pull ${LAYER_MB} MiB one GET (MB/s)" "$(med pull_single distribution)" "$(bval "$(med pull_single berth)")" ">=" 1.5
row "pull ${LAYER_MB} MiB ${CHUNK_MB} MiB Ranges (MB/s)" "$(med pull_ranges distribution)" "$(bval "$(med pull_ranges berth)")" ">=" 1.5
row "skopeo push image (MB/s)" "$(med skopeo_push distribution)" "$(bval "$(med skopeo_push berth)")" ">=" 1.5
row "skopeo pull image (MB/s)" "$(med skopeo_pull distribution)" "$(bval "$(med skopeo_pull berth)")" ">=" 1.5
for k in manifest_anon:"manifest GET anon" head_anon:"blob HEAD anon" manifest_auth:"manifest GET Basic" head_auth:"blob HEAD Basic"; do
  key=${k%%:*} label=${k#*:}
  row "$label (req/s)" "${R[rps,$key,distribution]:-ERR}" "$(bval "${R[rps,$key,berth]:-ERR}")" ">=" 6
  row "$label p99 (ms)" "${R[p99,$key,distribution]:-ERR}" "$(bval "${R[p99,$key,berth]:-ERR}")" "<=" 0.1
done
mib() { [[ -n ${HWM[$1]:-} ]] && awk -v k="${HWM[$1]}" 'BEGIN {printf "%.1f", k / 1024}' || echo n/a; }
row "peak RSS (MiB)" "$(mib distribution)" "$(bval "$(mib berth)")" "<=" 0.3

echo
echo "berth vs distribution $("$DIST_BIN" --version 2>/dev/null | awk '{print $NF}'), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, loopback, log level $LOG_LEVEL"
echo "load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "berth: ${BERTH:-not run}"
echo "throughput: median of $REPS, MB/s = 10^6 B/s; wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECS}s --latency after ${WRK_WARMUP_SECS}s warm-up"
echo
{
  echo "metric|distribution|berth|berth/dist|target|result"
  printf '%s\n' "${ROWS[@]}"
} | column -t -s '|' -o '  '
echo
for reg in "${REGS[@]}"; do
  echo "samples $reg: push mono [${S[push_mono,$reg]:-} ] chunked [${S[push_chunked,$reg]:-} ] pull [${S[pull_single,$reg]:-} ] ranges [${S[pull_ranges,$reg]:-} ] skopeo push [${S[skopeo_push,$reg]:-} ] pull [${S[skopeo_pull,$reg]:-} ]; VmHWM per process (MiB): ${HWMS[$reg]:-n/a}"
done
echo "wrong-digest PUT answered: $(for reg in "${REGS[@]}"; do printf '%s %s; ' "$reg" "${DIGEST_CHECK[$reg]:-}"; done)"
echo "anonymous: distribution restarted without auth; berth: ${BERTH_ANON_HOW:-not run}"
echo "blob HEAD: the zero-byte blob (wrk waits for a body after HEAD when Content-Length > 0); manifest GET: bench/img:rep1 (OCI manifest)"
echo "auth: distribution htpasswd (bcrypt, htpasswd -Bbn); berth Basic as admin"
if [[ -s $WORK/failures ]]; then
  echo
  echo "FAILURES (see above for full output):"
  grep '^---- ' "$WORK/failures" | sed 's/^---- /  /'
  exit 2
fi
