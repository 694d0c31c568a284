#!/usr/bin/env bash
# rowguard demo: install what is missing, build, install the extension, run test/demo/demo.sql.
#
# By default a throwaway cluster (PostgreSQL 15, run as the `postgres` system user) is started
# on a free port from 54339 on, and removed afterwards. Environment:
#   ROWGUARD_USE_EXISTING=1  use the server in PGHOST/PGPORT/PGUSER/PGDATABASE instead, with
#                            rowguard already installed there (package or make install):
#                            nothing is installed, built or set up, only the demo runs
#                            (PGUSER must be a superuser or the database owner:
#                            CREATE EXTENSION rowguard needs one). The demo runs in a
#                            database of its own, ROWGUARD_DEMO_DB (default rowguard_demo),
#                            created and dropped again (kept with ROWGUARD_KEEP_CLUSTER=1);
#                            the server must let PGUSER create databases
#   ROWGUARD_KEEP_CLUSTER=1  leave the throwaway cluster running and print how to connect
#   ROWGUARD_DEMO_PORT       port of the throwaway cluster
#   ROWGUARD_DEMO_SQL        another SQL file to run instead of test/demo/demo.sql
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DEMO=${ROWGUARD_DEMO_SQL:-test/demo/demo.sql}
JOBS=${ROWGUARD_JOBS:-2}

if [[ ! -f "$DEMO" ]]; then
  echo "demo: $DEMO is missing" >&2
  exit 1
fi

step() { printf '\n==== %s ====\n' "$*"; }

if [[ "${ROWGUARD_USE_EXISTING:-0}" == 1 ]]; then
  # rowguard is installed already (a package, or make install): no apt, no build, no
  # install; only the demo runs, against that server.
  step "setup, build and install: skipped (ROWGUARD_USE_EXISTING=1)"
else
  step "setup"
  bash scripts/setup.sh

  step "build: core library and unit tests (build/)"
  cmake -S . -B build >/dev/null
  cmake --build build -j "$JOBS"

  step "build and install the extension (make -f Makefile.pgxs)"
  make -s -f Makefile.pgxs -j "$JOBS" all
  make -s -f Makefile.pgxs install >/dev/null
  echo "installed rowguard into $(pg_config --pkglibdir)"
fi

# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh

PORT=""
cleanup() {
  if [[ -n "$PORT" ]]; then
    if [[ "${ROWGUARD_KEEP_CLUSTER:-0}" == 1 ]]; then
      echo keep > "$(cluster_dir "$PORT")/owner.pid"  # never reaped by other runs
      echo
      echo "cluster left running: psql -h $(cluster_dir "$PORT") -p $PORT -U postgres"
      echo "stop it with: source scripts/pg-cluster.sh && ROWGUARD_KEEP_CLUSTER=0 stop_cluster $PORT"
    else
      stop_cluster "$PORT"
    fi
  fi
}
trap cleanup EXIT

if [[ "${ROWGUARD_USE_EXISTING:-0}" == 1 ]]; then
  step "server: existing (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-$(id -un)})"
else
  step "server: throwaway cluster"
  PORT=$(pick_port "${ROWGUARD_DEMO_PORT:-54339}")
  # rowguard loaded before every session's first statement, as docs/install.md says.
  start_cluster "$PORT" "session_preload_libraries = 'rowguard'"
fi

PSQL="${PGBIN:+$PGBIN/}psql"
DB=${PGDATABASE:-postgres}
if [[ "${ROWGUARD_USE_EXISTING:-0}" == 1 ]]; then
  # The demo drops and creates its objects (the extension included): never in a database
  # of yours. It runs in a database of its own, dropped afterwards.
  DB=${ROWGUARD_DEMO_DB:-rowguard_demo}
  "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" -c "DROP DATABASE IF EXISTS \"$DB\"" -c "CREATE DATABASE \"$DB\""
fi

step "psql -d $DB -f $DEMO"
"$PSQL" -X -v ON_ERROR_STOP=1 -d "$DB" -f "$DEMO"
if [[ "${ROWGUARD_USE_EXISTING:-0}" == 1 && "${ROWGUARD_KEEP_CLUSTER:-0}" != 1 ]]; then
  "$PSQL" -X -q -d "${PGDATABASE:-postgres}" -c "DROP DATABASE IF EXISTS \"$DB\"" || true
fi
echo
echo "demo: done"
