#!/usr/bin/env bash
# Starts the tests' private PostgreSQL 15 cluster (idempotent): data under .deps/pg, listening on
# 127.0.0.1:25432 only (no Unix socket), trust authentication for loopback, superuser `berth`.
# Durability is off (fsync, synchronous_commit): the cluster holds only throw-away test databases.
# The ports of both test servers lie below Linux's ephemeral range (32768-60999): a port in it
# can be held by an outgoing connection in TIME_WAIT, and the server then cannot bind it.
# Prints the cluster's URL on stdout and nothing else; the server's log is .deps/pg/log (as root,
# when the postgres user cannot reach the checkout, under /var/tmp/berth-test-pg-<hash>).
#
#   export BERTH_TEST_POSTGRES_URL="$(scripts/services/postgres.sh)"
#   scripts/services/postgres.sh stop
#
# BERTH_TEST_POSTGRES_PORT picks another port (for a second cluster beside a running one).
#
# PostgreSQL refuses to run as root: as root (CI) the cluster belongs to the `postgres` user the
# Debian package creates, and initdb/pg_ctl run through runuser; as anyone else it is theirs.
set -euo pipefail
cd "$(dirname "$0")/../.."

PORT=${BERTH_TEST_POSTGRES_PORT:-25432}
BIN=/usr/lib/postgresql/15/bin
mkdir -p .deps
ROOT="$(cd .deps && pwd)/pg"
DATA="$ROOT/data"

if [ ! -x "$BIN/pg_ctl" ]; then
  echo "postgres.sh: $BIN/pg_ctl missing; run scripts/install-deps.sh (Debian package postgresql)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

mkdir -p "$ROOT"
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$ROOT"
  # A checkout the postgres user cannot reach (under /root, mode 700) keeps its cluster outside.
  if ! (cd / && runuser -u postgres -- test -w "$ROOT"); then
    ROOT="/var/tmp/berth-test-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
    DATA="$ROOT/data"
    mkdir -p "$ROOT"
    chown postgres:postgres "$ROOT"
  fi
fi

if [ "${1:-}" = "stop" ]; then
  if [ -f "$DATA/PG_VERSION" ]; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA"
  as_owner "$BIN/initdb" -D "$DATA" -U berth --auth=trust --no-locale -E UTF8 \
    >"$ROOT/initdb.log" 2>&1 || { cat "$ROOT/initdb.log" >&2; exit 1; }
  cat >>"$DATA/postgresql.conf" <<CONF
# berth test cluster (scripts/services/postgres.sh)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi

if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$ROOT/log" -o "-p $PORT" -w -t 60 start >/dev/null \
    || { tail -n 30 "$ROOT/log" >&2; exit 1; }
fi

for _ in $(seq 1 60); do
  if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U berth; then
    echo "postgres://berth@127.0.0.1:$PORT/postgres"
    exit 0
  fi
  sleep 0.5
done
echo "postgres.sh: the cluster did not accept connections on 127.0.0.1:$PORT; see $ROOT/log" >&2
exit 1
