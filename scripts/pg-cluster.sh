# shellcheck shell=bash
# Throwaway PostgreSQL 15 clusters for tests and demos. Source this file:
#
#   source scripts/pg-cluster.sh
#   port=$(pick_port 54329)             # first free port from 54329 on, claimed for this shell
#   start_cluster "$port" "shared_buffers = 64MB" ...   # extra postgresql.conf lines
#   psql_as postgres -c 'select 1'      # psql as a database role, ON_ERROR_STOP, no psqlrc
#   start_standby "$port" "$other_port" # streaming hot standby of a running cluster
#   use_cluster "$other_port"           # point PGHOST/PGPORT (psql_as) at another cluster
#   stop_cluster "$port"
#   reap_clusters                       # remove clusters whose owning process has died
#
# ROWGUARD_PORT_MIN=N makes pick_port start at N at the least, whatever the caller asked for
# (keeps several test runs on one machine, e.g. the version matrix's, in their own ports).
#
# initdb refuses to run as root, so every server process runs as the `postgres` system user
# (runuser -u postgres --). Clients (psql, pg_regress) may run as root: they connect as the
# database role `postgres` over the cluster's own unix socket directory with trust auth.
# A cluster lives in /tmp/rowguard-PORT (data/ inside it, the socket in it, the server log
# in data/server.log), never near Debian's own cluster on 5432, which is left alone.
#
# start_cluster exports PGHOST (the socket dir), PGPORT, PGUSER=postgres, PGDATABASE=postgres
# and PGBIN; the server also listens on 127.0.0.1:PORT for TCP clients (pgbouncer, standby).

: "${PGBIN:=$( (pg_config --bindir 2>/dev/null) || echo /usr/lib/postgresql/15/bin)}"
[[ -x "$PGBIN/initdb" ]] || PGBIN=/usr/lib/postgresql/15/bin
export PGBIN

# Directory of the cluster on PORT.
cluster_dir() { echo "/tmp/rowguard-$1"; }
cluster_data() { echo "/tmp/rowguard-$1/data"; }
cluster_log() { echo "/tmp/rowguard-$1/data/server.log"; }

as_postgres() { runuser -u postgres -- "$@"; }

_rg_port_in_use() {
  # Something listening on 127.0.0.1:PORT, or a socket lock of another server on it.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
  [[ -e "/tmp/.s.PGSQL.$1.lock" || -e "/var/run/postgresql/.s.PGSQL.$1.lock" ]] && return 0
  return 1
}

# True when the cluster directory of PORT belongs to a live process (another test run) or is
# marked "keep" (a cluster left running on purpose, e.g. by demo.sh with ROWGUARD_KEEP_CLUSTER=1).
_rg_dir_owned_by_live() {
  local owner
  owner=$(cat "$(cluster_dir "$1")/owner.pid" 2>/dev/null) || return 1
  [[ -z "$owner" || "$owner" == "$$" ]] && return 1
  [[ "$owner" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$owner" 2>/dev/null
}

# reap_clusters: stop and remove every /tmp/rowguard-PORT cluster whose owning process is
# gone (a suite that crashed or timed out). Clusters of live runs are left alone.
reap_clusters() {
  local dir port
  for dir in /tmp/rowguard-[0-9]*; do
    [[ -d "$dir" && -f "$dir/owner.pid" ]] || continue
    port=${dir##*/rowguard-}
    [[ "$port" =~ ^[0-9]+$ ]] || continue
    _rg_dir_owned_by_live "$port" && continue
    [[ "$(cat "$dir/owner.pid")" == "$$" ]] && continue
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      echo "reaping leftover cluster on port $port" >&2
      as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
  done
}

# use_cluster PORT: point PGHOST/PGPORT (and so psql_as) at the cluster on PORT.
use_cluster() {
  export PGHOST
  PGHOST=$(cluster_dir "${1:?use_cluster PORT}")
  export PGPORT="$1" PGUSER=postgres PGDATABASE=${PGDATABASE:-postgres}
}

# pick_port START: print the first port >= START that is free and not claimed by another
# live run; claims it (directory + owner.pid) so concurrent runs on one machine do not collide.
pick_port() {
  local p=${1:-54329} last dir
  ((p >= ${ROWGUARD_PORT_MIN:-0})) || p=$ROWGUARD_PORT_MIN
  last=$((p + 200))
  while (( p < last )); do
    dir=$(cluster_dir "$p")
    if ! _rg_dir_owned_by_live "$p" && ! _rg_port_in_use "$p"; then
      mkdir -p "$dir" && echo "${ROWGUARD_OWNER_PID:-$$}" > "$dir/owner.pid" && { echo "$p"; return 0; }
    fi
    p=$((p + 1))
  done
  echo "pick_port: no free port in [$((last - 200)), $last)" >&2
  return 1
}

_rg_wait_ready() {
  local port=$1 i
  for i in $(seq 1 120); do
    "$PGBIN/pg_isready" -q -h "$(cluster_dir "$port")" -p "$port" -U postgres -d postgres && return 0
    sleep 0.5
  done
  echo "cluster on port $port did not become ready; log:" >&2
  tail -n 50 "$(cluster_log "$port")" >&2 || true
  return 1
}

# Lines every test cluster gets; speed over durability.
_rg_conf() {
  local port=$1 dir
  dir=$(cluster_dir "$port")
  cat <<EOF
# --- rowguard test cluster ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = replica
max_wal_senders = 10
hot_standby = on
max_prepared_transactions = 20
lc_messages = 'C'
timezone = 'UTC'
datestyle = 'iso, mdy'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_min_error_statement = error
EOF
}

_rg_prepare_dir() {
  local port=$1 dir owner
  dir=$(cluster_dir "$port")
  # A leftover cluster from a crashed run: stop it before reusing the directory.
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  owner=$(cat "$dir/owner.pid" 2>/dev/null || true)
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "${owner:-${ROWGUARD_OWNER_PID:-$$}}" > "$dir/owner.pid"
  chown postgres:postgres "$dir"
  chmod 0755 "$dir"
}

# start_cluster PORT [postgresql.conf line ...]
start_cluster() {
  local port=${1:?start_cluster PORT [conf lines...]}
  shift
  local dir data line
  dir=$(cluster_dir "$port")
  data=$(cluster_data "$port")
  if _rg_port_in_use "$port" && ! [[ -f "$data/postmaster.pid" ]]; then
    echo "start_cluster: port $port is in use by something else" >&2
    return 1
  fi
  _rg_prepare_dir "$port"
  as_postgres "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  {
    _rg_conf "$port"
    for line in "$@"; do printf '%s\n' "$line"; done
  } >> "$data/postgresql.conf"
  as_postgres "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
    { echo "start_cluster: server on port $port failed to start; log:" >&2
      tail -n 50 "$data/server.log" >&2
      if grep -q 'could not bind' "$data/server.log" 2>/dev/null; then
        # Who holds the port (a listener, or a connection whose local port it is).
        local hex
        hex=$(printf ':%04X ' "$port")
        echo "start_cluster: sockets on port $port (/proc/net/tcp: local, remote, state):" >&2
        awk -v h="$hex" 'index($2 " ", h) || index($3 " ", h) {print "  " $2, $3, $4}' \
          /proc/net/tcp >&2 2>/dev/null || true
      fi
      return 1; }
  _rg_wait_ready "$port" || return 1
  export PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
  echo "cluster: PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}') on port $port, data $data"
}

# start_standby PRIMARY_PORT PORT [postgresql.conf line ...]: a streaming hot standby of the
# running cluster on PRIMARY_PORT (pg_basebackup -R over TCP). Does not change PGHOST/PGPORT.
start_standby() {
  local primary=${1:?start_standby PRIMARY_PORT PORT} port=${2:?start_standby PRIMARY_PORT PORT}
  shift 2
  local dir data line
  dir=$(cluster_dir "$port")
  data=$(cluster_data "$port")
  _rg_prepare_dir "$port"
  as_postgres "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$data" -R \
    -X stream --no-sync >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; return 1; }
  rm -f "$data/server.log" "$data/postmaster.pid"
  {
    echo "# --- standby of $primary ---"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    for line in "$@"; do printf '%s\n' "$line"; done
  } >> "$data/postgresql.conf"
  as_postgres "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
    { tail -n 50 "$data/server.log" >&2; return 1; }
  _rg_wait_ready "$port"
}

# finish_own_cluster RC: for a test script's EXIT trap when it started its own cluster on
# $PORT: after a failure (RC != 0) print the end of the server log, then stop the cluster.
finish_own_cluster() {
  [[ -n "${PORT:-}" ]] || return 0
  if (($1 != 0)); then
    echo "--- last lines of the server log ---"; tail -n 30 "$(cluster_log "$PORT")" | cut -c1-300 || true
  fi
  stop_cluster "$PORT"
}

# stop_cluster PORT: stop the server and remove its directory (ROWGUARD_KEEP_CLUSTER=1 keeps it).
stop_cluster() {
  local port=${1:?stop_cluster PORT} dir data
  dir=$(cluster_dir "$port")
  data=$(cluster_data "$port")
  if [[ -f "$data/postmaster.pid" ]]; then
    as_postgres "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      as_postgres "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ "${ROWGUARD_KEEP_CLUSTER:-0}" != 1 ]]; then
    rm -rf "$dir"
  fi
}

# psql_as ROLE [psql args...]: psql as database role ROLE on the cluster in PGHOST/PGPORT.
psql_as() {
  local role=${1:?psql_as ROLE [psql args...]}
  shift
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$role" -d "${PGDATABASE:-postgres}" "$@"
}
