#!/usr/bin/env bash
# Console latency: the tag page of a repository holding 10,000 tags, as the server answers it.
#
# Starts berth on a fresh data directory, pushes one small image and tags it 10,000 times
# (manifest PUTs, 16 in parallel from one curl), logs in to the console through its form, then
# requests the tag page REQS times: the first page, pages deep in the list (keyset `after=`),
# and searches. Prints p50/p99/max of curl's time to first byte on 127.0.0.1 (the server's time
# plus a loopback round trip) and the HTML size.
#
# The target (issue 16) is p99 < 20 ms for a release build: BERTH_BIN=target/release/berth.
# A debug build is several times slower and says nothing about the target.
#
# Usage: bench/console.sh
#   BERTH_BIN=path   berth binary (default: target/release/berth, else target/debug/berth)
#   TAGS=10000 REQS=300 KEEP=1
# Needs: curl, python3. Not run in CI.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${BERTH_BIN:-}
if [ -z "$BIN" ]; then
  if [ -x "$TARGET/release/berth" ]; then BIN=$TARGET/release/berth; else BIN=$TARGET/debug/berth; fi
fi
TAGS=${TAGS:-10000}
REQS=${REQS:-300}
PW=bench-console-password
WORK=$(mktemp -d /tmp/berth-console-bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

echo "binary: $BIN"
BERTH_ADMIN_PASSWORD=$PW BERTH_LOG=warn "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" \
  >"$WORK/berth.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "$URL/healthz" >/dev/null && break; sleep 0.1; done

# One image: a config and a layer, monolithic uploads.
push_blob() { # file
  local digest loc
  digest="sha256:$(sha256sum "$1" | cut -d' ' -f1)"
  loc=$(curl -fsS -u admin:$PW -X POST -D - -o /dev/null "$URL/v2/bench/tags/blobs/uploads/" |
    tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  case "$loc" in http*) ;; *) loc="$URL$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$digest" ;; *) loc="$loc?digest=$digest" ;; esac
  curl -fsS -u admin:$PW -X PUT -H 'content-type: application/octet-stream' --data-binary @"$1" "$loc" >/dev/null
  echo "$digest"
}
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$WORK/config.json"
head -c 1024 /dev/urandom >"$WORK/layer.bin"
CD=$(push_blob "$WORK/config.json")
LD=$(push_blob "$WORK/layer.bin")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}' \
  "$CD" "$(stat -c %s "$WORK/config.json")" "$LD" "$(stat -c %s "$WORK/layer.bin")" >"$WORK/manifest.json"

echo "tagging $TAGS times..."
seq -f "url = \"$URL/v2/bench/tags/manifests/v%05g\"" 1 "$TAGS" >"$WORK/urls.txt"
start=$(date +%s)
curl -fsS --no-progress-meter -u admin:$PW -X PUT -H 'content-type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary @"$WORK/manifest.json" --parallel --parallel-max 16 -K "$WORK/urls.txt" -o /dev/null
echo "tagged in $(( $(date +%s) - start )) s"

# Log in through the form (pre-login cookie + its token, then the session cookie).
JAR=$WORK/cookies
TOKEN=$(curl -fsS -c "$JAR" "$URL/ui/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -fsS -b "$JAR" -c "$JAR" -o /dev/null --data-urlencode "username=admin" --data-urlencode "password=$PW" \
  --data-urlencode "csrf=$TOKEN" "$URL/ui/login"
INST=$(curl -fsS -b "$JAR" "$URL/ui/instances" | sed -n 's/.*namespaces?i=\([^"&]*\).*/\1/p' | head -1)
TAGS_URL="$URL/ui/tags?i=$INST&repo=bench%2Ftags"
code=$(curl -s -o "$WORK/page.html" -w '%{http_code}' -b "$JAR" "$TAGS_URL")
[ "$code" = 200 ] || { echo "tag page answered $code"; exit 1; }
grep -o '[0-9][0-9]* tags' "$WORK/page.html" | head -1

# Warm up, then measure: a third first pages, a third deep pages, a third searches.
for _ in $(seq 20); do curl -s -o /dev/null -b "$JAR" "$TAGS_URL"; done
: >"$WORK/times"
for n in $(seq "$REQS"); do
  case $((n % 3)) in
    0) u="$TAGS_URL" ;;
    1) u="$TAGS_URL&after=v$(printf %05d $((RANDOM % TAGS)))" ;;
    2) u="$TAGS_URL&q=$(printf %03d $((RANDOM % 1000)))" ;;
  esac
  curl -s -o /dev/null -b "$JAR" -w '%{time_starttransfer} %{size_download}\n' "$u" >>"$WORK/times"
done
python3 - "$WORK/times" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
t = sorted(float(r[0]) * 1000 for r in rows)
size = max(int(r[1]) for r in rows)
q = lambda p: t[min(len(t) - 1, int(round(p * (len(t) - 1))))]
print(f"tag page, {len(t)} requests: p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms, max {t[-1]:.2f} ms; largest page {size} bytes")
PY
