#!/usr/bin/env bash
# Starts the S3-compatible server the tests use (moto's S3, from .deps/venv) on
# 127.0.0.1:${BERTH_TEST_S3_PORT:-29000} unless one answers there already, and makes the test
# bucket (berth-test). Idempotent. Its log and pid are under .deps/s3; moto keeps the objects in
# memory, so a restart starts empty (every test uses a prefix of its own).
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${BERTH_TEST_S3_PORT:-29000}
dir=.deps/s3
py=.deps/venv/bin/python
mkdir -p "$dir"

if [ "${1:-}" = "stop" ]; then
  if [ -f "$dir/pid" ]; then
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
  fi
  exit 0
fi

if ! "$py" -c "import socket,sys; s=socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
  nohup .deps/venv/bin/moto_server -H 127.0.0.1 -p "$port" </dev/null >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 1 100); do
    "$py" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.1
  done
fi

"$py" - "$port" <<'PY'
import sys, boto3, botocore
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="berth-test", aws_secret_access_key="berth-test-secret")
try:
    s3.create_bucket(Bucket="berth-test")
except botocore.exceptions.ClientError as e:
    if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
        raise
PY
