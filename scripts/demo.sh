#!/usr/bin/env bash
# rowguard demo: install what is missing, build, install the extension, run test/demo/demo.sql.
#
# By default a throwaway cluster (PostgreSQL 15, run as the `postgres` system user) is started
# on a free port from 54339 on, and removed afterwards. Environment:
#   ROWGUARD_USE_EXISTING=1  use the server in PGHOST/PGPORT/PGUSER/PGDATABASE instead (it must
#                            be the local PostgreSQL 15 that pg_config points at, and PGUSER a
#                            superuser: CREATE EXTENSION rowguard needs one)
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

step "setup"
bash scripts/setup.sh

step "build: core library and unit tests (build/)"
cmake -S . -B build >/dev/null
cmake --build build -j "$JOBS"

step "build and install the extension (make -f Makefile.pgxs)"
make -s -f Makefile.pgxs -j "$JOBS" all
make -s -f Makefile.pgxs install >/dev/null
echo "installed rowguard into $(pg_config --pkglibdir)"

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

step "psql -f $DEMO"
"$PGBIN/psql" -X -v ON_ERROR_STOP=1 -d "${PGDATABASE:-postgres}" -f "$DEMO"
echo
echo "demo: done"
