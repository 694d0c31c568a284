#!/usr/bin/env bash
# PgBouncer in transaction mode (pool of 4 server connections) in front of a test cluster:
# many concurrent clients, each bound to a tenant, run a random mix of transactions through
# the pool - authenticated with their own tenant's token (authenticate($1), SET LOCAL,
# set_config), unauthenticated, rolled back, aborted by an error, and dropped mid-transaction;
# role-bound tokens (current_user is the bound role inside, app after), tokens naming a
# role that is not allowed, revoked tokens, and tokens revoked while the load runs.
# Every transaction checks that it sees only its own tenant's rows (and the right number of
# them), or no row, no identity and role app when unauthenticated; no request is served
# under a token whose revocation had committed before it started. Zero tolerance.
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both);
#   LOAD_CLIENTS (default 32), LOAD_TRANSACTIONS per client (default 400), LOAD_SEED (1).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh

CLIENTS=${LOAD_CLIENTS:-32}
PER_CLIENT=${LOAD_TRANSACTIONS:-500}
SEED=${LOAD_SEED:-1}
TENANTS=32        # tenants with clients; 4 more tenants own rows nobody may see
POOL_SIZE=4
PY=/usr/bin/python3   # Debian's python3, which has psycopg 3 (python3-psycopg)

PORT="" BPORT="" BDIR=""
cleanup() {
  local rc=$?
  if [[ -n "$BDIR" && -f "$BDIR/pgbouncer.pid" ]]; then
    local pid
    pid=$(cat "$BDIR/pgbouncer.pid" 2>/dev/null || true)
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  fi
  if ((rc != 0)) && [[ -n "$PORT" ]]; then
    echo "--- last lines of the server log ---"; tail -n 30 "$(cluster_log "$PORT")" || true
    [[ -f "$BDIR/pgbouncer.log" ]] && { echo "--- pgbouncer log ---"; tail -n 30 "$BDIR/pgbouncer.log"; }
  fi
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  [[ -n "$BPORT" ]] && rm -rf "$(cluster_dir "$BPORT")"
  return $rc
}
trap cleanup EXIT

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "pgbouncer_load: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
[[ -x "$PGBOUNCER" ]] || { echo "pgbouncer_load: pgbouncer not installed" >&2; exit 1; }

PORT=$(pick_port 54430)
# rowguard is loaded before the first statement of every server connection, as behind any
# pooler (docs/security-model.md, "Before rowguard is loaded"): a pooled connection's first
# SET LOCAL rowguard.token would otherwise be refused.
start_cluster "$PORT" "log_min_messages = warning" "log_connections = off" \
  "session_preload_libraries = 'rowguard'"
BPORT=$(pick_port $((PORT + 1)))
BDIR=$(cluster_dir "$PORT")

# --- fixture: keys, tenants, rows, restrictive RLS, tokens -------------------------------
psql_as postgres >/dev/null <<SQL
\set ECHO none
\i test/fixtures/keys.psql
CREATE EXTENSION rowguard;
SELECT rowguard.add_key(:'jwk_hs256');
SELECT rowguard.add_key(:'jwk_es256');
CREATE ROLE app LOGIN;

CREATE TABLE public.load_tenants (
    n int PRIMARY KEY, tenant_id uuid NOT NULL UNIQUE, sub text NOT NULL,
    rows int NOT NULL, active boolean NOT NULL);
INSERT INTO public.load_tenants
SELECT n, md5('tenant-' || n)::uuid, 'user-' || n, 5 + (n * 7) % 23, n <= $TENANTS
  FROM generate_series(1, $TENANTS + 4) AS n;

CREATE TABLE public.docs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    body text NOT NULL);
CREATE INDEX ON public.docs (tenant_id);
INSERT INTO public.docs (tenant_id, body)
SELECT t.tenant_id, format('document %s of %s', g, t.sub)
  FROM public.load_tenants t, generate_series(1, t.rows) AS g;
ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY base ON public.docs USING (true) WITH CHECK (true);
CREATE POLICY tenant ON public.docs AS RESTRICTIVE
    USING (tenant_id = rowguard.claim_uuid('tenant_id'))
    WITH CHECK (tenant_id = rowguard.claim_uuid('tenant_id'));
GRANT SELECT, INSERT ON public.docs TO app;
ANALYZE public.docs;

-- Three tokens per tenant and key (distinct jti), HS256 and ES256.
CREATE TABLE public.load_tokens AS
SELECT t.n, k.kid, j,
       rowguard.sign(jsonb_build_object(
           'iss', 'https://load.example', 'sub', t.sub, 'tenant_id', t.tenant_id,
           'iat', 1700000000, 'exp', 4102444800, 'jti', format('%s-%s-%s', t.n, k.kid, j),
           'roles', jsonb_build_array('reader')), k.kid) AS token
  FROM public.load_tenants t, (VALUES ('hs256-key'), ('es256-key')) AS k(kid),
       generate_series(1, 3) AS j;
-- A token of tenant 1 with a signature that does not match.
CREATE TABLE public.load_forged AS
SELECT left(token, length(token) - 4) || 'AAAA' AS token
  FROM public.load_tokens WHERE n = 1 AND kid = 'hs256-key' AND j = 1;
REVOKE ALL ON public.load_tenants, public.load_tokens, public.load_forged FROM PUBLIC;

-- Token lifecycle: per tenant a role-bound token (role load_reader, allowed), one naming
-- a role that is not allowed (load_denied), one revoked before the load and one that a
-- revoker thread revokes during it. app logs in with the role claim setting in force.
CREATE ROLE load_reader NOLOGIN;
CREATE ROLE load_denied NOLOGIN;
GRANT SELECT, INSERT ON public.docs TO load_reader, load_denied;
SELECT rowguard.allow_role('load_reader');
ALTER ROLE app SET rowguard.role_binding_claim = 'role';
CREATE TABLE public.load_lifecycle_tokens AS
SELECT t.n, v.kind, format('%s-%s', t.n, v.kind) AS jti,
       rowguard.sign(jsonb_build_object(
           'iss', 'https://load.example', 'sub', t.sub, 'tenant_id', t.tenant_id,
           'iat', 1700000000, 'exp', 4102444800, 'jti', format('%s-%s', t.n, v.kind))
           || v.extra, 'hs256-key') AS token
  FROM public.load_tenants t,
       (VALUES ('bound', '{"role":"load_reader"}'::jsonb), ('denied', '{"role":"load_denied"}'),
               ('revoked', '{}'), ('doomed', '{}')) AS v(kind, extra);
SELECT rowguard.revoke_token(jti) FROM public.load_lifecycle_tokens WHERE kind = 'revoked';
REVOKE ALL ON public.load_lifecycle_tokens FROM PUBLIC;
SQL
read -r ntok nrows < <(psql_as postgres -At -F ' ' -c \
  "SELECT (SELECT count(*) FROM load_tokens), (SELECT count(*) FROM docs)")
echo "fixture: $((TENANTS + 4)) tenants ($TENANTS with clients), $nrows rows, $ntok tokens (HS256 + ES256)"

# --- PgBouncer: transaction pooling, small pool -------------------------------------------
cat >"$BDIR/userlist.txt" <<EOF
"app" ""
"postgres" ""
EOF
cat >"$BDIR/pgbouncer.ini" <<EOF
[databases]
rowguard_load = host=127.0.0.1 port=$PORT dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = trust
auth_file = $BDIR/userlist.txt
admin_users = postgres
stats_users = postgres
pool_mode = transaction
default_pool_size = $POOL_SIZE
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
max_db_connections = $POOL_SIZE
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = $BDIR/pgbouncer.log
pidfile = $BDIR/pgbouncer.pid
log_connections = 0
log_disconnections = 0
EOF
chown postgres:postgres "$BDIR/pgbouncer.ini" "$BDIR/userlist.txt"
as_postgres "$PGBOUNCER" -d -q "$BDIR/pgbouncer.ini"
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$BPORT") 2>/dev/null && break
  sleep 0.1
done
echo "pgbouncer: $("$PGBOUNCER" --version | head -n1) on 127.0.0.1:$BPORT, pool_mode = transaction, default_pool_size = $POOL_SIZE"

bouncer_admin() {
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$BPORT" -U postgres -d pgbouncer "$@"
}

# --- the load -----------------------------------------------------------------------------
rc=0
"$PY" "$ROOT/test/integration/load_client.py" \
  --dsn "host=127.0.0.1 port=$BPORT dbname=rowguard_load user=app" \
  --admin-dsn "host=$PGHOST port=$PORT dbname=postgres user=postgres" \
  --clients "$CLIENTS" --transactions "$PER_CLIENT" --seed "$SEED" --deadline 600 || rc=$?

# --- after the load -----------------------------------------------------------------------
echo "pgbouncer totals (SHOW STATS, rowguard_load): $(bouncer_admin -At -F ' ' -c 'SHOW STATS' |
  awk '$1 == "rowguard_load" {print "xact_count=" $2 ", query_count=" $3}')"
servers=$(psql_as postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")
echo "server backends of role app after the load: $servers (pool size $POOL_SIZE)"
if ((servers > POOL_SIZE)); then
  echo "FAIL: more server connections than the pool allows" >&2; rc=1
fi
# Nothing was committed by the clients: every tenant still has exactly its rows.
bad=$(psql_as postgres -At -c "SELECT count(*) FROM (SELECT t.n FROM load_tenants t
  LEFT JOIN docs d USING (tenant_id) GROUP BY t.n, t.rows HAVING count(d.id) <> t.rows) x")
if [[ "$bad" != 0 ]]; then
  echo "FAIL: $bad tenants have a changed row count after the load" >&2; rc=1
fi
if grep -E "terminated by signal|PANIC|server process .* was terminated" "$(cluster_log "$PORT")"; then
  echo "FAIL: a backend crashed during the load" >&2; rc=1
fi
if grep -F -f <(psql_as postgres -At -c "SELECT split_part(token, '.', 2) FROM load_tokens
                                         UNION ALL
                                         SELECT split_part(token, '.', 2) FROM load_lifecycle_tokens") \
     "$(cluster_log "$PORT")" "$BDIR/pgbouncer.log" >/dev/null; then
  echo "FAIL: token text found in the server or pgbouncer log" >&2; rc=1
fi
psql_as postgres -At -c "SELECT 1" >/dev/null || { echo "FAIL: server gone" >&2; rc=1; }

# --- negative control: the checks must catch a real leak ----------------------------------
# Session-scope identities (authenticate(token, false)) survive COMMIT on the server
# connection, so under transaction pooling they reach other clients. A short run that
# mixes them in must report leaks; if it does not, the checks above prove nothing.
echo "negative control: 8 clients x 40 transactions with session-scope authenticate mixed in"
crc=0
control=$("$PY" "$ROOT/test/integration/load_client.py" \
  --dsn "host=127.0.0.1 port=$BPORT dbname=rowguard_load user=app" \
  --admin-dsn "host=$PGHOST port=$PORT dbname=postgres user=postgres" \
  --clients 8 --transactions 40 --seed "$SEED" --deadline 120 --leak-control 2>&1) || crc=$?
leaks=$(grep -cE "LEAKED IDENTITY|CROSS-TENANT|identity .*expected" <<<"$control" || true)
echo "  exit status $crc, $(grep -E '^failures:' <<<"$control"), leak reports shown: $leaks"
grep -m 2 -E "FAIL" <<<"$control" | cut -c1-160 | sed 's/^/  e.g. /'
if ((crc != 1 || leaks == 0)); then
  echo "FAIL: the negative control did not detect the leak it was built to cause" >&2
  echo "$control" >&2
  rc=1
fi

if ((rc == 0)); then echo "pgbouncer_load: PASS"; else echo "pgbouncer_load: FAIL" >&2; fi
exit $rc
