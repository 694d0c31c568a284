#!/usr/bin/env bash
# rowguard on Citus: build Citus from a source tree into a Debian root with PostgreSQL 17
# (or 18), start a coordinator and two workers on this machine inside the root, install
# rowguard on all three and check that a verified identity on the coordinator is the
# identity on every worker, that tenant policies hold on every shard, and that the key
# store is the same everywhere. docs/scaling.md explains the model and the results.
#
#   scripts/citus-check.sh CITUS_SOURCE       a Citus source tree, or a (bare) git
#                                             repository of Citus (its HEAD is built)
#
# Without CITUS_SOURCE it says so and exits 0 without testing anything: Citus is not in
# Debian, so it is not part of scripts/test.sh. Nothing from the Citus tree is copied into
# this repository.
#
# The root is /var/cache/rowguard/roots/pgN (built by scripts/pg-roots.sh when that script
# is in this tree) and is never written to: everything happens in an overlay whose upper
# layer is kept in ROWGUARD_CITUS_WORK, so Citus is built once per source tree (make -j2)
# and reused by later runs.
#
# Prints one line per check ("PASS name" / "FAIL name: ..."), the plans, the figures, and
# "citus-check: N passed, M failed"; exits non-zero when a check failed.
#
# Environment:
#   ROWGUARD_CITUS_PG      PostgreSQL major of the root (default 17)
#   ROWGUARD_CITUS_ROOT    the root (default /var/cache/rowguard/roots/pg$ROWGUARD_CITUS_PG)
#   ROWGUARD_CITUS_WORK    overlay upper/work/merged dirs (default /var/tmp/rowguard-citus-pgN)
#   ROWGUARD_CITUS_PORT    first port tried for the three servers (default 56100)
#   ROWGUARD_JOBS          build parallelism (default 2)
#   ROWGUARD_CITUS_KEEP=1  leave the servers running and the overlay mounted (to look around)
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
V=${ROWGUARD_CITUS_PG:-17}
ROOTFS=${ROWGUARD_CITUS_ROOT:-/var/cache/rowguard/roots/pg$V}
WORK=${ROWGUARD_CITUS_WORK:-/var/tmp/rowguard-citus-pg$V}
PORT0=${ROWGUARD_CITUS_PORT:-56100}
JOBS=${ROWGUARD_JOBS:-2}
MERGED=$WORK/merged
PGBIN=/usr/lib/postgresql/$V/bin

if [[ $# -lt 1 || -z "${1:-}" ]]; then
  echo "citus-check: no Citus source tree given; nothing was tested."
  echo "usage: scripts/citus-check.sh CITUS_SOURCE_DIR (a Citus checkout or git repository)"
  exit 0
fi
CITUS_IN=$1
[[ -d "$CITUS_IN" ]] || { echo "citus-check: $CITUS_IN is not a directory" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "citus-check: must run as root (chroot, mount)" >&2; exit 1; }

log() { printf 'citus-check: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- the root and the overlay ------------------------------------------------------------
if [[ -x "$SRC/scripts/pg-roots.sh" && -z "${ROWGUARD_CITUS_ROOT:-}" ]]; then
  ROWGUARD_ROOTS_OFFLINE=${ROWGUARD_ROOTS_OFFLINE:-1} "$SRC/scripts/pg-roots.sh" "$V" >&2 ||
    die "no PostgreSQL $V root (scripts/pg-roots.sh $V failed)"
fi
[[ -x "$ROOTFS$PGBIN/postgres" && -x "$ROOTFS$PGBIN/pg_config" ]] ||
  die "no PostgreSQL $V in the root $ROOTFS (build it with scripts/pg-roots.sh $V from the version matrix)"

CLUSTERS=()
cleanup() {
  local p
  if [[ "${ROWGUARD_CITUS_KEEP:-0}" == 1 ]]; then
    log "ROWGUARD_CITUS_KEEP=1: servers ${CLUSTERS[*]} left running in $MERGED"; return
  fi
  for p in "${CLUSTERS[@]}"; do
    in_root bash -c "source scripts/pg-cluster.sh && stop_cluster $p" >/dev/null 2>&1 || true
  done
  if mountpoint -q "$MERGED" 2>/dev/null; then
    for m in "$MERGED/dev/shm" "$MERGED/proc" "$MERGED"; do
      while mountpoint -q "$m" 2>/dev/null; do umount "$m" 2>/dev/null || umount -l "$m" || break; done
    done
  fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

mkdir -p "$WORK/upper" "$WORK/work" "$MERGED"
if ! mountpoint -q "$MERGED"; then
  mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$WORK/upper,workdir=$WORK/work" "$MERGED" ||
    die "could not lay an overlay over $ROOTFS"
fi
cp -L /etc/resolv.conf "$MERGED/etc/resolv.conf" 2>/dev/null || true
mountpoint -q "$MERGED/proc" || mount -t proc proc "$MERGED/proc"
mkdir -p "$MERGED/dev/shm"
mountpoint -q "$MERGED/dev/shm" || mount -t tmpfs -o mode=1777,size=512m shm "$MERGED/dev/shm"

# Run a command in the root, in the copied rowguard tree, with the root's PostgreSQL.
in_root() {
  chroot "$MERGED" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TZ=UTC \
    PATH="$PGBIN:/usr/sbin:/usr/bin:/sbin:/bin" PGBIN="$PGBIN" ROWGUARD_OWNER_PID="$$" \
    PGUSER=postgres PGDATABASE=postgres DEBIAN_FRONTEND=noninteractive \
    bash -c 'cd /src/rowguard 2>/dev/null || cd /; "$@"' bash "$@"
}

# --- Citus: build once per source tree ---------------------------------------------------
t0=$SECONDS
if git -C "$CITUS_IN" rev-parse --is-bare-repository >/dev/null 2>&1; then
  CITUS_COMMIT=$(git -C "$CITUS_IN" rev-parse HEAD)
  CITUS_DESC="$CITUS_COMMIT ($(git -C "$CITUS_IN" log -1 --format='%cs %s' HEAD))"
else
  # A plain tree: identified by its file names, sizes and times.
  CITUS_COMMIT=tree-$(cd "$CITUS_IN" && find . -type f -not -path './.git/*' -printf '%P %s %T@\n' |
    sort | sha256sum | cut -c1-16)
  CITUS_DESC="$CITUS_COMMIT (source tree $CITUS_IN)"
fi
STAMP="$MERGED/src/citus/.rowguard-built"
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$CITUS_COMMIT" ]]; then
  log "building Citus $CITUS_DESC with make -j$JOBS (once per source tree)"
  rm -rf "$MERGED/src/citus"; mkdir -p "$MERGED/src/citus"
  if git -C "$CITUS_IN" rev-parse --is-bare-repository 2>/dev/null | grep -q true; then
    git -C "$CITUS_IN" archive HEAD | tar -x -C "$MERGED/src/citus"
  else
    (cd "$CITUS_IN" && tar --exclude=./.git -cf - .) | tar -x -C "$MERGED/src/citus"
  fi
  # Citus needs ICU's headers (PostgreSQL's pg_locale.h includes them), which the root's
  # package set lacks; its optional compression libraries are left out.
  in_root bash -c 'dpkg -s libicu-dev >/dev/null 2>&1 || { apt-get -q update && apt-get install -y -q libicu-dev; }' \
    > "$WORK/citus-build.log" 2>&1 || { tail -n 20 "$WORK/citus-build.log" >&2; die "installing libicu-dev in the root failed"; }
  in_root bash -c "cd /src/citus && ./configure --without-lz4 --without-zstd PG_CONFIG=$PGBIN/pg_config \
      && make -j$JOBS && make install" >> "$WORK/citus-build.log" 2>&1 ||
    { tail -n 30 "$WORK/citus-build.log" >&2; die "building Citus failed; log: $WORK/citus-build.log"; }
  echo "$CITUS_COMMIT" > "$STAMP"
  log "Citus built and installed in $((SECONDS - t0))s"
fi
CITUS_BUILD_SECONDS=$((SECONDS - t0))

# --- rowguard: copy this tree and build it with the root's pg_config ---------------------
rm -rf "$MERGED/src/rowguard"; mkdir -p "$MERGED/src/rowguard"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
  tar --null -T - -cf -) | tar -C "$MERGED/src/rowguard" -xf -
in_root make -s -f Makefile.pgxs PG_CONFIG="$PGBIN/pg_config" -j"$JOBS" all > "$WORK/rowguard-build.log" 2>&1 &&
  in_root make -s -f Makefile.pgxs PG_CONFIG="$PGBIN/pg_config" install >> "$WORK/rowguard-build.log" 2>&1 ||
  { tail -n 30 "$WORK/rowguard-build.log" >&2; die "building rowguard in the root failed"; }

# --- three servers: a coordinator and two workers ----------------------------------------
# rowguard is preloaded after citus on every node: its planner hook then runs before
# Citus' (the router, src/pg/citus_router.cpp), and a worker backend Citus opens has
# rowguard loaded before the forwarded SET LOCAL rowguard.token arrives (0.3.0 refuses a
# token set before the module loaded). Role binding reads the token's "role" claim.
PORTS=()
start_node() { # start_node: starts one more server; its port in NODE_PORT
  local p
  p=$(in_root bash -c "source scripts/pg-cluster.sh && pick_port $PORT0") ||
    die "no free port from $PORT0"
  PORT0=$((p + 1))   # pick_port claimed p; look on from the next one
  in_root bash -c "source scripts/pg-cluster.sh && start_cluster $p \"shared_preload_libraries = 'citus,rowguard'\" \
      \"max_worker_processes = 16\" \"rowguard.role_binding_claim = 'role'\"" >&2 ||
    die "could not start a server on port $p"
  NODE_PORT=$p; CLUSTERS+=("$p")
}
for i in 0 1 2; do
  start_node
  PORTS+=("$NODE_PORT")
done
C=${PORTS[0]} W1=${PORTS[1]} W2=${PORTS[2]}

# psql on a node: q PORT [psql args] (reads SQL from stdin or -c); as the database role
# given by PGROLE (default postgres).
q() {
  local port=$1; shift
  in_root psql -X -q -At -v ON_ERROR_STOP=1 -h "/tmp/rowguard-$port" -p "$port" \
    -U "${PGROLE:-postgres}" -d postgres "$@"
}

passed=0 failed=0
check() { # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    passed=$((passed + 1)); echo "PASS $1"
  else
    failed=$((failed + 1)); echo "FAIL $1: expected [$2], got [$3]"
  fi
}

echo "citus-check: Citus $CITUS_DESC"
echo "citus-check: PostgreSQL $(in_root "$PGBIN/postgres" -V | awk '{print $3}'), coordinator :$C, workers :$W1 :$W2"

for p in "$W1" "$W2"; do q "$p" -c 'CREATE EXTENSION citus' || die "CREATE EXTENSION citus on :$p failed"; done
q "$C" >/dev/null <<SQL || die "setting up the Citus cluster failed"
CREATE EXTENSION citus;
SELECT citus_set_coordinator_host('127.0.0.1', $C);
SELECT citus_add_node('127.0.0.1', $W1);
SELECT citus_add_node('127.0.0.1', $W2);
SQL
echo "citus-check: $(q "$C" -c "SELECT citus_version()")"

# rowguard on the coordinator: Citus propagates CREATE EXTENSION to the workers.
q "$C" -c 'CREATE EXTENSION rowguard' || die "CREATE EXTENSION rowguard failed"
for p in "$W1" "$W2"; do
  check "rowguard installed on worker :$p by CREATE EXTENSION on the coordinator" \
    "$(sed -n "s/^default_version = '\\(.*\\)'/\\1/p" "$SRC/rowguard.control")" \
    "$(q "$p" -c "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'")"
done


# --- keys and issuers: set on the coordinator only ----------------------------------------
# rowguard's configuration tables are node-local (every node verifies the forwarded token
# with its own key store); on a Citus coordinator every change is sent to every other
# node in the same distributed transaction (src/sql/update/0.2.0--0.3.0/90_citus.sql).
# The coordinator gets the private ES256 key (it signs the test tokens); the workers
# receive its public half.
q "$C" >/dev/null <<'SQL' || die "adding the keys failed"
\set ECHO none
\i test/fixtures/keys.psql
SELECT rowguard.add_key(:'jwk_es256') AS kid \gset
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['citus-check']);
SQL
for p in "$C" "$W1" "$W2"; do
  check "key and issuer set on the coordinator only, present on :$p" "es256-key|1" \
    "$(q "$p" -c "SELECT string_agg(kid, ','), (SELECT count(*) FROM rowguard.issuers) FROM rowguard.keys")"
done
check "the workers hold the public half of the key only (no private member)" "f|f" \
  "$(for p in "$W1" "$W2"; do q "$p" -c "SELECT jwk ? 'd' FROM rowguard.keys WHERE kid = 'es256-key'"; done | paste -sd'|')"

# --- tables: one distributed by tenant, one reference table ---------------------------------
TENANTS=(aaaaaaaa-0000-4000-8000-000000000001 bbbbbbbb-0000-4000-8000-000000000002
         cccccccc-0000-4000-8000-000000000003 dddddddd-0000-4000-8000-000000000004)
ROWS_PER_TENANT=250
q "$C" >/dev/null <<SQL || die "creating the tables failed"
CREATE ROLE app LOGIN NOSUPERUSER NOBYPASSRLS;
CREATE TABLE public.docs (tenant_id uuid NOT NULL, id bigint NOT NULL, body text NOT NULL,
                          PRIMARY KEY (tenant_id, id));
SELECT create_distributed_table('public.docs', 'tenant_id', shard_count => 8);
INSERT INTO public.docs
SELECT t::uuid, g, 'doc ' || g FROM unnest(ARRAY['${TENANTS[0]}','${TENANTS[1]}','${TENANTS[2]}','${TENANTS[3]}']) t,
       generate_series(1, $ROWS_PER_TENANT) g;
CREATE TABLE public.plans (tenant_id uuid PRIMARY KEY, plan text NOT NULL);
SELECT create_reference_table('public.plans');
INSERT INTO public.plans
SELECT t::uuid, 'plan of ' || t FROM unnest(ARRAY['${TENANTS[0]}','${TENANTS[1]}','${TENANTS[2]}','${TENANTS[3]}']) t;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.docs, public.plans TO app;
SQL
# The tenants' shards are spread over both workers.
check "the tenants' rows lie on both workers" "2" "$(q "$C" -c "
  SELECT count(DISTINCT nodeport) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid)
   WHERE s.logicalrelid = 'public.docs'::regclass
     AND s.shardid IN (SELECT get_shard_id_for_distribution_column('public.docs', t)
                         FROM unnest(ARRAY['${TENANTS[0]}','${TENANTS[1]}','${TENANTS[2]}','${TENANTS[3]}']) t)")"

# tenant_policy on both tables (Citus propagates the policies to every shard).
POLICY=$(q "$C" -c "SELECT rowguard.tenant_policy('public.docs')" 2>&1)
check "tenant_policy on the distributed table" "0" "$?"
echo "$POLICY" | sed -n 's/^\(CREATE POLICY rowguard_tenant.*\)/  \1/p;s/^ *\(USING.*\)/    \1/p' | head -2
POLICY=$(q "$C" -c "SELECT rowguard.tenant_policy('public.plans')" 2>&1)
check "tenant_policy on the reference table" "0" "$?"
# Citus hides shards from catalog queries unless asked to show them.
SHOW_SHARDS="SET citus.show_shards_for_app_name_prefixes = '*';"
shards_without=$(for p in "$W1" "$W2"; do q "$p" -c "$SHOW_SHARDS" -c "
  SELECT count(*) FROM pg_class c WHERE c.relname ~ '^(docs|plans)_[0-9]+$'
     AND NOT (c.relrowsecurity AND c.relforcerowsecurity
              AND (SELECT array_agg(p.polname) FROM pg_policy p WHERE p.polrelid = c.oid) = '{rowguard_tenant}')"; done |
  awk '{ s += $1 } END { print s + 0 }')
shards_total=$(for p in "$W1" "$W2"; do q "$p" -c "$SHOW_SHARDS" -c "SELECT count(*) FROM pg_class WHERE relname ~ '^(docs|plans)_[0-9]+$'"; done | awk '{ s += $1 } END { print s + 0 }')
check "shard placements on the workers: $shards_total, each with forced RLS and rowguard_tenant as its only policy" "0" "$shards_without"

# A second rowguard policy on a Citus table would be OR-ed with the first on the shards.
second=$(q "$C" -v ON_ERROR_STOP=0 -c "SELECT rowguard.scope_policy('public.docs', 'SELECT', 'docs:read')" 2>&1)
check "a second template policy on a Citus table is refused" "1" \
  "$(grep -c 'cannot install policy rowguard_scope_select on Citus table public.docs' <<<"$second")"

# The Citus behaviour the templates work around: a RESTRICTIVE policy on a distributed
# table arrives on the shards as PERMISSIVE.
fact=$(q "$C" <<'SQL'
SET citus.show_shards_for_app_name_prefixes = '*';
CREATE TABLE public.citus_fact (k int);
SELECT create_distributed_table('public.citus_fact', 'k', shard_count => 2);
CREATE POLICY strict ON public.citus_fact AS RESTRICTIVE USING (k > 0);
SELECT (SELECT polpermissive FROM pg_policy WHERE polname = 'strict'
           AND polrelid = 'public.citus_fact'::regclass)::text || ' (shell table)';
SQL
)
fact="coordinator $(tail -n1 <<<"$fact")"
for p in "$W1" "$W2"; do
  fact="$fact, worker :$p $(q "$p" -c "$SHOW_SHARDS" -c "SELECT string_agg(DISTINCT polpermissive::text, ',') FROM pg_policy
    WHERE polname = 'strict' AND polrelid::regclass::text ~ '^citus_fact_[0-9]+$'")"
done
echo "NOTE: CREATE POLICY ... AS RESTRICTIVE on a distributed table; polpermissive of the policy on its shards: $fact"
q "$C" -c 'DROP TABLE public.citus_fact'

# One token per tenant, signed on the coordinator.
mapfile -t TOKENS < <(q "$C" -c "
  SELECT rowguard.sign(jsonb_build_object('iss', 'https://issuer.example', 'aud', 'citus-check',
           'sub', 'user-' || n, 'tenant_id', t, 'exp', 4102444800), 'es256-key')
    FROM unnest(ARRAY['${TENANTS[0]}','${TENANTS[1]}','${TENANTS[2]}','${TENANTS[3]}']) WITH ORDINALITY AS u(t, n)
   ORDER BY n")
((${#TOKENS[@]} == 4)) || die "signing the test tokens failed"

# --- a pooled client: one session, transactions for the tenants in turn --------------------
# Each transaction sets its identity with SET LOCAL (forwarded by Citus) or with
# authenticate() in the transaction block (forwarded by rowguard, src/pg/citus.cpp) and
# runs multi-shard, router, reference-table and join queries. Every line:
#   way|tenant|rows seen|rows of other tenants seen|router rows of another tenant|join rows|plans rows
pooled_sql() {
  local i t other
  echo "SET citus.propagate_set_commands = 'local';"
  for _ in 1 2 3; do
    for i in 0 1 2 3; do
      t=${TENANTS[$i]} other=${TENANTS[$(((i + 1) % 4))]}
      for way in set_local authenticate; do
        echo "BEGIN;"
        if [[ $way == set_local ]]; then echo "SET LOCAL rowguard.token = '${TOKENS[$i]}';"
        else echo "SELECT rowguard.authenticate('${TOKENS[$i]}') IS NULL AS failed \\gset"; fi
        echo "SELECT count(*) AS total, count(*) FILTER (WHERE tenant_id <> '$t') AS foreign_rows FROM public.docs \\gset"
        echo "SELECT count(*) AS router_other FROM public.docs WHERE tenant_id = '$other' \\gset"
        echo "SELECT count(*) AS joined FROM public.docs d JOIN public.plans p USING (tenant_id) \\gset"
        echo "SELECT count(*) AS plans FROM public.plans \\gset"
        echo "\\echo $way|$t|:total|:foreign_rows|:router_other|:joined|:plans"
        echo "COMMIT;"
      done
    done
  done
}
pooled_out=$(pooled_sql | PGROLE=app q "$C" -F'|' 2>&1)
rc=$?
((rc == 0)) || grep -m3 -E 'ERROR|DETAIL|FATAL' <<<"$pooled_out" | cut -c1-200 | sed 's/^/  /'
pooled_out=$(grep -E '^(set_local|authenticate)[|]' <<<"$pooled_out")
check "pooled client: every transaction ran" "0|24" "$rc|$(grep -c '|' <<<"$pooled_out")"
check "pooled client: no transaction saw a row of another tenant (multi-shard, router, join)" "0" \
  "$(awk -F'|' '{ s += $4 + $5 } END { print s + 0 }' <<<"$pooled_out")"
check "pooled client: every transaction saw all $ROWS_PER_TENANT rows of its tenant and its plan" "24" \
  "$(awk -F'|' -v n="$ROWS_PER_TENANT" '$3 == n && $6 == n && $7 == 1' <<<"$pooled_out" | wc -l)"
echo "  isolation: $(awk -F'|' '{ t++; own += $3; oth += $4 + $5 } END { printf "%d transactions, %d own rows seen, %d rows of other tenants seen", t, own, oth }' <<<"$pooled_out")"

# --- what fails closed: no identity on the workers ------------------------------------------
# identity only in the session (not forwarded), none at all, forwarding switched off: the
# workers' accessors return NULL and their policies deny every row.
noid_out=$(PGROLE=app q "$C" -F'|' 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
SELECT 'none', count(*) FROM public.docs;
SELECT rowguard.authenticate('${TOKENS[0]}', false) IS NOT NULL AS ok \gset
SELECT 'session authenticate, coordinator sees', rowguard.claim('tenant_id');
SELECT 'session authenticate', count(*) FROM public.docs;
SELECT 'session authenticate, router', count(*) FROM public.docs WHERE tenant_id = '${TENANTS[0]}';
RESET rowguard.token;
SET rowguard.token = '${TOKENS[0]}';
SELECT 'session SET', count(*) FROM public.docs;
RESET rowguard.token;
BEGIN;
SET LOCAL citus.propagate_set_commands = 'none';
SET LOCAL rowguard.token = '${TOKENS[0]}';
SELECT 'propagation off', count(*) FROM public.docs;
COMMIT;
BEGIN;
SELECT rowguard.authenticate('${TOKENS[0]}', false) IS NOT NULL AS ok \gset
SELECT 'session authenticate in a block', count(*) FROM public.docs;
COMMIT;
SELECT 'after that block', count(*) FROM public.docs;
RESET rowguard.token;
SQL
)
echo "$noid_out" | sed 's/^/  /'
check "no identity on the coordinator: 0 rows" "none|0" "$(grep '^none|' <<<"$noid_out")"
check "session-level authenticate (not forwarded): 0 rows on the workers" "session authenticate|0" \
  "$(grep '^session authenticate|' <<<"$noid_out")"
check "session-level authenticate, router query with the tenant literal: 0 rows" "session authenticate, router|0" \
  "$(grep '^session authenticate, router|' <<<"$noid_out")"
check "session-level SET rowguard.token (not forwarded): 0 rows" "session SET|0" "$(grep '^session SET|' <<<"$noid_out")"
check "citus.propagate_set_commands = none: 0 rows" "propagation off|0" "$(grep '^propagation off|' <<<"$noid_out")"
check "session-level authenticate inside a block is forwarded for that block" \
  "session authenticate in a block|$ROWS_PER_TENANT" "$(grep '^session authenticate in a block|' <<<"$noid_out")"
check "... and not after it: 0 rows" "after that block|0" "$(grep '^after that block|' <<<"$noid_out")"

# A switch of identity inside one transaction reaches the workers (connections already open).
switch_out=$(PGROLE=app q "$C" -F'|' 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL rowguard.token = '${TOKENS[0]}';
SELECT 'first', count(*) FILTER (WHERE tenant_id = '${TENANTS[0]}'), count(*) FROM public.docs;
SELECT rowguard.authenticate('${TOKENS[1]}') IS NULL AS failed \gset
SELECT 'after authenticate', count(*) FILTER (WHERE tenant_id = '${TENANTS[1]}'), count(*) FROM public.docs;
SET LOCAL rowguard.token = '${TOKENS[2]}';
SELECT 'after SET LOCAL', count(*) FILTER (WHERE tenant_id = '${TENANTS[2]}'), count(*) FROM public.docs;
COMMIT;
SQL
)
check "identity switched within a transaction reaches the workers" \
  "first|$ROWS_PER_TENANT|$ROWS_PER_TENANT after authenticate|$ROWS_PER_TENANT|$ROWS_PER_TENANT after SET LOCAL|$ROWS_PER_TENANT|$ROWS_PER_TENANT" \
  "$(paste -sd' ' <<<"$switch_out")"

# A token the workers do not accept (its key, added on the coordinator, was then removed
# on the workers directly: a worker is not a coordinator, so its changes stay local) set in a
# transaction whose worker connections already hold tenant A's identity: Citus sends the
# SET LOCAL to the open worker connections; their refusal aborts the transaction ("failure
# on connection marked as essential"), so it cannot go on with tenant B on the
# coordinator and tenant A on the workers.
q "$C" -c "SELECT rowguard.add_key('{\"kty\":\"oct\",\"kid\":\"coordinator-only\",\"alg\":\"HS256\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8\"}')" >/dev/null
for p in "$W1" "$W2"; do q "$p" -c "SELECT rowguard.remove_key('coordinator-only')" >/dev/null; done
tokb=$(q "$C" -c "SELECT rowguard.sign(jsonb_build_object('iss', 'https://issuer.example', 'aud', 'citus-check',
           'sub', 'user-b', 'tenant_id', '${TENANTS[1]}', 'exp', 4102444800), 'coordinator-only')")
mixed=$(PGROLE=app q "$C" -v ON_ERROR_STOP=0 -F'|' 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL rowguard.token = '${TOKENS[0]}';
SELECT 'A', count(*) FROM public.docs;
SET LOCAL rowguard.token = '$tokb';
SELECT 'B', count(*) FILTER (WHERE tenant_id = '${TENANTS[0]}'), count(*) FROM public.docs;
COMMIT;
SQL
)
check "a token refused by the workers cannot replace an identity they hold (error, no row)" "A|$ROWS_PER_TENANT|1|0" \
  "$(grep '^A|' <<<"$mixed")|$(grep -c -m1 'ERROR:' <<<"$mixed")|$(grep -c '^B|' <<<"$mixed")"
grep -E 'ERROR|WARNING|DETAIL|^[AB][|]' <<<"$mixed" | cut -c1-160 | sed 's/^/  mixed: /'
q "$C" -c "SELECT rowguard.remove_key('coordinator-only')" >/dev/null

# --- hostile application role -------------------------------------------------------------
hostile_out=$(PGROLE=app q "$C" -v ON_ERROR_STOP=0 -F'|' 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL rowguard.token = '${TOKENS[0]}';
SELECT 'insert into another tenant', count(*) FROM public.docs;
SAVEPOINT s;
INSERT INTO public.docs VALUES ('${TENANTS[1]}', 100000, 'planted');
ROLLBACK TO SAVEPOINT s;
UPDATE public.docs SET body = 'overwritten' WHERE tenant_id = '${TENANTS[1]}';
DELETE FROM public.docs WHERE tenant_id = '${TENANTS[2]}';
COMMIT;
SQL
)
check "hostile app: INSERT of another tenant's row is refused by the shard's policy" "1" \
  "$(grep -c 'new row violates row-level security policy' <<<"$hostile_out")"
check "hostile app: UPDATE/DELETE of other tenants changed nothing" "$((ROWS_PER_TENANT * 4))|0|0" \
  "$(q "$C" -c "SELECT count(*), count(*) FILTER (WHERE body = 'overwritten'), count(*) FILTER (WHERE id = 100000) FROM public.docs")"
# run_command_on_workers as app: a fresh worker connection with no identity.
check "hostile app: run_command_on_workers reads no shard row" "0" \
  "$(PGROLE=app q "$C" -c "SELECT coalesce(sum(result::bigint), 0) FROM run_command_on_shards('public.docs', \$\$SELECT count(*) FROM %s\$\$)" 2>&1)"
# Straight to a worker, without a token: the shard's own policy.
shard=$(q "$W1" -c "$SHOW_SHARDS" -c "SELECT relname FROM pg_class WHERE relname ~ '^docs_[0-9]+$' ORDER BY 1 LIMIT 1")
check "hostile app: a shard read directly on a worker without a token" "0" \
  "$(PGROLE=app q "$W1" -c "SELECT count(*) FROM public.$shard" 2>&1)"
check "hostile app: cannot send a command through rowguard._citus_send, nor apply a row on a worker" "1|1" \
  "$(PGROLE=app q "$C" -v ON_ERROR_STOP=0 -c "SELECT rowguard._citus_send('SELECT 1')" 2>&1 | grep -c 'permission denied for function _citus_send')|$(PGROLE=app q "$W1" -v ON_ERROR_STOP=0 -c "SELECT rowguard._citus_apply('keys', 'DELETE', '{\"kid\": \"es256-key\"}', NULL)" 2>&1 | grep -c 'permission denied for function _citus_apply')"
check "hostile app: cannot add a key on a worker" "1" \
  "$(PGROLE=app q "$C" -c "SELECT * FROM run_command_on_workers(\$\$SELECT rowguard.add_key('{\"kty\":\"oct\",\"kid\":\"evil\",\"alg\":\"HS256\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8\"}')\$\$)" 2>&1 |
     grep -c 'permission denied for function add_key' | awk '{print ($1 >= 1)}')"

# --- plans: routed by the identity vs multi-shard -----------------------------------------
plan() { # plan LABEL QUERY [SETTING]: the Task Count (SETTING: a SET LOCAL before the query)
  local out
  out=$(PGROLE=app q "$C" 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL rowguard.token = '${TOKENS[0]}';
${3:-}
EXPLAIN (COSTS OFF) $2;
COMMIT;
SQL
)
  echo "  plan [$1]: $(grep -oE 'Custom Scan \(Citus [A-Za-z]+\)|Task Count: [0-9]+' <<<"$out" | paste -sd' ')" >&2
  grep -oE 'Task Count: [0-9]+' <<<"$out" | head -1 | awk '{print $3}'
}
echo "plans (8 shards; the policy on every shard is tenant_id = rowguard.claim_uuid('tenant_id')):"
check "router: the tenant literal in the query prunes to one shard" "1" \
  "$(plan "WHERE tenant_id = literal" "SELECT count(*) FROM public.docs WHERE tenant_id = '${TENANTS[0]}'")"
check "router by the identity: the policy alone now prunes to the tenant's shard" "1" \
  "$(plan "policy only" "SELECT count(*) FROM public.docs")"
check "rowguard.citus_router = off: the policy alone fans out to all 8 shards" "8" \
  "$(plan "policy only, router off" "SELECT count(*) FROM public.docs" "SET LOCAL rowguard.citus_router = off;")"
check "router by the identity: an inner join with the reference table goes to one shard" "1" \
  "$(plan "join with plans" "SELECT count(*) FROM public.docs d JOIN public.plans p USING (tenant_id)")"
check "router by the identity: UPDATE goes to one shard" "1" \
  "$(plan "UPDATE" "UPDATE public.docs SET body = body WHERE id = 1")"
check "not on the nullable side of an outer join: plans LEFT JOIN docs is not narrowed" "8" \
  "$(plan "plans LEFT JOIN docs" "SELECT count(*) FROM public.plans p LEFT JOIN public.docs d USING (tenant_id)")"
check "router by the identity: the literal of another tenant prunes to that shard and returns nothing" "0" \
  "$(PGROLE=app q "$C" <<SQL | grep -E '^[0-9]+$'
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL rowguard.token = '${TOKENS[0]}';
SELECT count(*) FROM public.docs WHERE tenant_id = '${TENANTS[1]}';
COMMIT;
SQL
)"

# Cached plans never serve another identity: prepared statements (forced generic and the
# default), a PL/pgSQL function and a parameterless query re-executed, for the four
# tenants in turn on one connection; each line: tenant|rows|rows of other tenants|min tenant.
# (A PL/pgSQL function in public: rowguard refuses a transaction identity on top of
# temporary objects.)
q "$C" -c 'CREATE FUNCTION public.tenant_rows() RETURNS TABLE (n bigint, tenants bigint) LANGUAGE plpgsql AS
  $$ BEGIN RETURN QUERY SELECT count(*), count(DISTINCT tenant_id) FROM public.docs; END $$' >/dev/null
cache_out=$(PGROLE=app q "$C" -F'|' 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
PREPARE generic_p AS SELECT count(*) AS n, count(DISTINCT tenant_id) AS t, min(tenant_id::text) AS m FROM public.docs;
PREPARE param_p(int) AS SELECT count(*) AS n, count(DISTINCT tenant_id) AS t, min(tenant_id::text) AS m FROM public.docs WHERE id > \$1;
$(for round in 1 2; do for i in 0 1 2 3; do
  echo "BEGIN;"
  echo "SET LOCAL rowguard.token = '${TOKENS[$i]}';"
  echo "SET LOCAL plan_cache_mode = force_generic_plan;"
  echo "EXECUTE generic_p \\gset g_"
  echo "EXECUTE param_p(0) \\gset p_"
  echo "SELECT * FROM public.tenant_rows() \\gset f_"
  echo "\\echo ${TENANTS[$i]}|:g_n|:g_t|:g_m|:p_n|:p_t|:f_n|:f_tenants"
  echo "COMMIT;"
done; done)
SQL
)
cache_lines=$(grep -E '^[0-9a-f-]{36}[|]' <<<"$cache_out")
check "cached plans: 8 transactions of 4 tenants, each saw exactly its $ROWS_PER_TENANT rows (generic prepared, parameterised, PL/pgSQL)" "8" \
  "$(awk -F'|' -v n="$ROWS_PER_TENANT" '$2 == n && $3 == 1 && $4 == $1 && $5 == n && $6 == 1 && $7 == n && $8 == 1' <<<"$cache_lines" | wc -l)"
[[ $(wc -l <<<"$cache_lines") -eq 8 ]] || grep -m3 -E 'ERROR|DETAIL' <<<"$cache_out" | sed 's/^/  cached: /'
generic_plan=$(PGROLE=app q "$C" 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
SET plan_cache_mode = force_generic_plan;
PREPARE gp0 AS SELECT count(*) FROM public.docs;
EXECUTE gp0;
PREPARE gp AS SELECT count(*) FROM public.docs;
BEGIN; SET LOCAL rowguard.token = '${TOKENS[0]}'; EXPLAIN (COSTS OFF) EXECUTE gp; COMMIT;
BEGIN; SET LOCAL rowguard.token = '${TOKENS[1]}'; SELECT 'count B', count(*) FROM public.docs; EXPLAIN (COSTS OFF) EXECUTE gp; EXECUTE gp; EXPLAIN (COSTS OFF) EXECUTE gp0; COMMIT;
SQL
)
check "a generic plan made for tenant A is planned again for tenant B, one made with no identity once there is one (Task Count 1 each time, B's rows)" \
  "1 1 1|$ROWS_PER_TENANT" \
  "$(grep -oE 'Task Count: [0-9]+' <<<"$generic_plan" | awk '{print $3}' | paste -sd' ')|$(grep -E '^[0-9]+$' <<<"$generic_plan" | tail -1)"

# A hand-written PERMISSIVE policy next to the tenant policy (OR-ed): the tenant condition
# is no longer implied, so the router must not narrow the query.
q "$C" >/dev/null <<SQL || die "creating public.open_docs failed"
CREATE TABLE public.open_docs (tenant_id uuid NOT NULL, id int NOT NULL);
SELECT create_distributed_table('public.open_docs', 'tenant_id', shard_count => 8);
INSERT INTO public.open_docs SELECT t::uuid, g FROM unnest(ARRAY['${TENANTS[0]}','${TENANTS[1]}']) t, generate_series(1, 5) g;
GRANT SELECT ON public.open_docs TO app;
SELECT rowguard.tenant_policy('public.open_docs');
SET citus.enable_ddl_propagation = on;
CREATE POLICY first_two_public ON public.open_docs FOR SELECT USING (id <= 2);
SQL
open_out=$(PGROLE=app q "$C" -F'|' 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN; SET LOCAL rowguard.token = '${TOKENS[0]}';
SELECT 'rows', count(*) FROM public.open_docs;
EXPLAIN (COSTS OFF) SELECT count(*) FROM public.open_docs;
COMMIT;
SQL
)
check "a second, hand-written permissive policy: not narrowed (own 5 rows + 2 of the other tenant, all shards)" "rows|7 8" \
  "$(grep '^rows|' <<<"$open_out") $(grep -oE 'Task Count: [0-9]+' <<<"$open_out" | awk '{print $3}')"

# Citus preloaded but a database without the citus extension: the router has nothing to
# look up there and leaves every query as it is.
q "$C" -c 'CREATE DATABASE plain_db' >/dev/null
plain=$(in_root psql -X -q -At -v ON_ERROR_STOP=1 -h "/tmp/rowguard-$C" -p "$C" -U postgres -d plain_db 2>&1 <<SQL
CREATE EXTENSION rowguard;
SELECT rowguard.add_key('{"kty":"oct","kid":"plain","alg":"HS256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8"}') IS NOT NULL AS added \gset
CREATE TABLE t (tenant_id text NOT NULL, n int);
INSERT INTO t VALUES ('a', 1), ('a', 2), ('b', 3);
SELECT rowguard.tenant_policy('t', claim => 'tenant') IS NOT NULL AS installed \gset
GRANT SELECT ON t TO app;
SELECT rowguard.sign('{"sub": "u", "tenant": "a", "exp": 4102444800}', 'plain') AS tok \gset
SET ROLE app;
BEGIN;
SET LOCAL rowguard.token = :'tok';
SELECT 'plain', count(*) FROM t;
COMMIT;
SQL
)
check "Citus loaded, database without citus: tenant policies work, queries unchanged" "plain|2" \
  "$(grep -E '^plain[|]' <<<"$plain")$(grep -m1 ERROR <<<"$plain")"

# --- tenant + owner + scope as one policy on a Citus table (combined_policy) -------------
q "$C" >/dev/null <<SQL || die "creating public.notes failed"
CREATE TABLE public.notes (tenant_id uuid NOT NULL, owner_id text NOT NULL, id bigint NOT NULL,
                           PRIMARY KEY (tenant_id, id));
SELECT create_distributed_table('public.notes', 'tenant_id', colocate_with => 'public.docs');
INSERT INTO public.notes
SELECT t::uuid, 'user-' || (g % 3 + 1), g FROM unnest(ARRAY['${TENANTS[0]}','${TENANTS[1]}']) t,
       generate_series(1, 30) g;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.notes TO app;
SELECT rowguard.combined_policy('public.notes', owner_column => 'owner_id', scope => 'notes');
SQL
check "combined_policy: one PERMISSIVE policy with the three conditions on every shard of notes" "0" \
  "$(for p in "$W1" "$W2"; do q "$p" -c "$SHOW_SHARDS" -c "
  SELECT count(*) FROM pg_class c WHERE c.relname ~ '^notes_[0-9]+$'
     AND NOT ((SELECT array_agg(p.polname::text || p.polpermissive::text) FROM pg_policy p WHERE p.polrelid = c.oid) = '{rowguard_tenanttrue}'
              AND (SELECT pg_get_expr(p.polqual, p.polrelid) FROM pg_policy p WHERE p.polrelid = c.oid) ~ 'owner_id.*has_scope')"; done |
  awk '{ s += $1 } END { print s + 0 }')"
tokscope=$(q "$C" -c "SELECT rowguard.sign(jsonb_build_object('iss', 'https://issuer.example', 'aud', 'citus-check',
           'sub', 'user-1', 'tenant_id', '${TENANTS[0]}', 'scope', 'notes', 'exp', 4102444800), 'es256-key')")
comb=$(PGROLE=app q "$C" -F'|' 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN; SET LOCAL rowguard.token = '$tokscope';
SELECT 'scoped', count(*), count(*) FILTER (WHERE owner_id <> 'user-1' OR tenant_id <> '${TENANTS[0]}') FROM public.notes;
EXPLAIN (COSTS OFF) SELECT count(*) FROM public.notes;
COMMIT;
BEGIN; SET LOCAL rowguard.token = '${TOKENS[0]}';
SELECT 'no scope', count(*) FROM public.notes;
COMMIT;
SQL
)
check "combined_policy: own rows of own tenant with the scope, none without it, routed to one shard" \
  "scoped|10|0 no scope|0 1" \
  "$(grep -E '^(scoped|no scope)[|]' <<<"$comb" | paste -sd' ') $(grep -oE 'Task Count: [0-9]+' <<<"$comb" | awk '{print $3}')"

# --- figures: a pooled client's transactions (BEGIN, SET LOCAL, one query, COMMIT) --------
bench() { # bench LABEL QUERY [SETTING] (@T@ = the tenant of the transaction's token)
  local n=200 i t0 t1
  {
    echo "SET citus.propagate_set_commands = 'local';"
    [[ -n "${3:-}" ]] && echo "$3"
    for ((i = 0; i < n; i++)); do
      printf '%s\n' 'BEGIN;' "SET LOCAL rowguard.token = '${TOKENS[$((i % 4))]}';" \
        "${2//@T@/${TENANTS[$((i % 4))]}};" 'COMMIT;'
    done
  } > "$MERGED/tmp/citus-bench.sql"
  t0=$(date +%s%N)
  PGROLE=app q "$C" -f /tmp/citus-bench.sql >/dev/null || { echo "  figure [$1]: failed"; return; }
  t1=$(date +%s%N)
  echo "  figure [$1]: $n transactions on one connection, $(((t1 - t0) / n / 1000)) us per transaction"
}
echo "figures (wall clock on this machine, 4 tenants in turn; A/B pairs run twice in turn):"
for round in 1 2; do
  bench "routed by the identity: policy only" "SELECT count(*) FROM public.docs"
  bench "fan-out (rowguard.citus_router = off): policy only" "SELECT count(*) FROM public.docs" "SET rowguard.citus_router = off;"
done
bench "router: WHERE tenant_id = literal" "SELECT count(*) FROM public.docs WHERE tenant_id = '@T@'"
bench "reference table join, routed by the identity" "SELECT count(*) FROM public.docs d JOIN public.plans p USING (tenant_id)"

# --- configuration changes made on the coordinator only, seen on every worker ------------
# on_node PORT TOKEN: the token's sub as a worker (straight to it, no Citus) sees it, or
# "refused" (SET LOCAL fails) or "none" (no identity).
on_node() {
  local out
  out=$(printf '%s\n' 'BEGIN;' "SET LOCAL rowguard.token = '$2';" \
        "SELECT 'sub=' || coalesce(rowguard.sub(), 'none');" 'COMMIT;' |
        PGROLE=app q "$1" -v ON_ERROR_STOP=0 2>&1)
  if grep -q '^sub=' <<<"$out"; then grep -m1 '^sub=' <<<"$out" | cut -c5-; else echo refused; fi
}
on_workers() { local p; for p in "$@"; do printf '%s ' "$(on_node "$p" "$TOK")"; done | sed 's/ $//'; }
signed() { # signed SUB KID [EXTRA JSON]
  local extra=${3:-'{}'}
  q "$C" -c "SELECT rowguard.sign(jsonb_build_object('iss', 'https://issuer.example', 'aud', 'citus-check',
           'sub', '$1', 'tenant_id', '${TENANTS[0]}', 'exp', 4102444800) || '$extra'::jsonb, '$2')"
}
# A key added, replaced (same kid, other material) and removed on the coordinator.
q "$C" >/dev/null <<'SQL'
\set ECHO none
\i test/fixtures/keys.psql
SELECT rowguard.add_key(jsonb_set(:'jwk_es384'::jsonb, '{kid}', '"rot-key"'));
SQL
TOK=$(signed user-rot rot-key)
check "key added on the coordinator: the workers accept a token signed with it" "user-rot user-rot" "$(on_workers "$W1" "$W2")"
q "$C" >/dev/null <<'SQL'
\set ECHO none
\i test/fixtures/keys.psql
BEGIN;
SELECT rowguard.remove_key('rot-key');
SELECT rowguard.add_key(jsonb_set(:'jwk_es512'::jsonb, '{kid}', '"rot-key"'));
COMMIT;
SQL
check "key replaced on the coordinator: the workers refuse a token of the old material" "refused refused" "$(on_workers "$W1" "$W2")"
TOK=$(signed user-rot2 rot-key)
check "... and accept one of the new material" "user-rot2 user-rot2" "$(on_workers "$W1" "$W2")"
q "$C" -c "SELECT rowguard.remove_key('rot-key')" >/dev/null
check "key removed on the coordinator: the workers refuse its tokens" "refused refused" "$(on_workers "$W1" "$W2")"

# A revocation: in force on every worker when revoke_token returns.
TOK=$(signed user-jti es256-key '{"jti": "jti-1"}')
check "before revoke_token: the workers accept the token" "user-jti user-jti" "$(on_workers "$W1" "$W2")"
q "$C" -c "SELECT rowguard.revoke_token('jti-1')" >/dev/null
check "revoke_token on the coordinator: every worker refuses the token as soon as it returns" "refused refused" \
  "$(on_workers "$W1" "$W2")"
revtx=$(printf '%s\n' "SET citus.propagate_set_commands = 'local';" 'BEGIN;' "SET LOCAL rowguard.token = '${TOKENS[2]}';" \
       'SELECT count(*) FROM public.docs;' 'COMMIT;' | PGROLE=app q "$C" -v ON_ERROR_STOP=0 2>&1)
check "before revoke_subject: the subject reads its rows" "$ROWS_PER_TENANT" "$(grep -E '^[0-9]+$' <<<"$revtx" | head -1)"
q "$C" -c "SELECT rowguard.revoke_subject('user-3')" >/dev/null
TOK=${TOKENS[2]}
check "revoke_subject on the coordinator: every worker refuses the subject's token" "refused refused" "$(on_workers "$W1" "$W2")"

# A role binding.
q "$C" -c "CREATE ROLE citus_reader NOLOGIN NOBYPASSRLS; GRANT citus_reader TO app;
           GRANT SELECT ON public.docs TO citus_reader" >/dev/null
q "$C" -c "SELECT rowguard.allow_role('citus_reader')" >/dev/null
check "allow_role on the coordinator: the binding is on every worker" "citus_reader citus_reader" \
  "$(for p in "$W1" "$W2"; do q "$p" -c "SELECT string_agg(role::text, ',') FROM rowguard.role_bindings"; done | paste -sd' ')"
TOK=$(signed user-role es256-key '{"role": "citus_reader"}')
check "a token with the role claim makes that role current_user on every worker" "citus_reader citus_reader" \
  "$(for p in "$W1" "$W2"; do printf '%s\n' 'BEGIN;' "SET LOCAL rowguard.token = '$TOK';" 'SELECT current_user;' 'COMMIT;' |
       PGROLE=app q "$p" 2>&1 | tail -1; done | paste -sd' ')"
# A worker that cannot take a change refuses it for the whole cluster: a role made on the
# coordinator only (role propagation off) cannot be bound on the workers.
q "$C" -c "SET citus.enable_create_role_propagation = off; CREATE ROLE coordinator_only_role NOLOGIN" >/dev/null
refused=$(q "$C" -v ON_ERROR_STOP=0 -c "SELECT rowguard.allow_role('coordinator_only_role')" 2>&1)
check "a change a worker cannot take aborts the coordinator's transaction (no binding anywhere)" "1|0|0|0" \
  "$(grep -c -m1 'ERROR' <<<"$refused")|$(for p in "$C" "$W1" "$W2"; do q "$p" -c "SELECT count(*) FROM rowguard.role_bindings WHERE role::text = 'coordinator_only_role'"; done | paste -sd'|')"
echo "  refused: $(grep -m1 ERROR <<<"$refused")"
# A JWKS source.
q "$C" -c "SELECT rowguard.set_jwks_uri('https://issuer.example', 'https://issuer.example/.well-known/jwks.json')" >/dev/null 2>&1
check "set_jwks_uri on the coordinator: the source is on every worker" \
  "$(q "$C" -c "SELECT string_agg(jwks_uri, ',') FROM rowguard.jwks_sources")|$(q "$C" -c "SELECT string_agg(jwks_uri, ',') FROM rowguard.jwks_sources")" \
  "$(for p in "$W1" "$W2"; do q "$p" -c "SELECT string_agg(jwks_uri, ',') FROM rowguard.jwks_sources"; done | paste -sd'|')"

# --- a node added after the configuration ---------------------------------------------------
start_node
W3=$NODE_PORT
q "$W3" -c 'CREATE EXTENSION citus' >/dev/null || die "CREATE EXTENSION citus on :$W3 failed"
q "$C" -c "SELECT citus_add_node('127.0.0.1', $W3)" >/dev/null || die "citus_add_node :$W3 failed"
config_of() { q "$1" -c "SELECT concat_ws('|', (SELECT string_agg(kid, ',' ORDER BY kid) FROM rowguard.keys),
  (SELECT string_agg(iss, ',' ORDER BY iss) FROM rowguard.issuers),
  (SELECT count(*) FROM rowguard.revocations), (SELECT string_agg(role::text, ',') FROM rowguard.role_bindings),
  (SELECT count(*) FROM rowguard.jwks_sources))"; }
TOK=${TOKENS[0]}
check "citus_add_node: the new node gets the coordinator's configuration in the same statement" \
  "$(config_of "$C")" "$(config_of "$W3")"
check "... it accepts a valid token and refuses revoked ones" "user-1 refused" \
  "$(TOK=${TOKENS[0]} on_workers "$W3") $(TOK=${TOKENS[2]} on_workers "$W3")"
# A node whose configuration was lost (emptied by hand, there): it fails closed, and
# citus_sync_nodes brings it back.
q "$W3" -c "DELETE FROM rowguard.keys; DELETE FROM rowguard.issuers" >/dev/null
check "a node without configuration refuses every token (fails closed)" "refused" "$(on_workers "$W3")"
synced=$(q "$C" -c "SELECT rowguard.citus_sync_nodes()")
check "citus_sync_nodes: the node's configuration is the coordinator's again" "$(config_of "$C")|user-1" \
  "$(config_of "$W3")|$(on_workers "$W3")"
echo "  citus_sync_nodes copied $synced rows to each node"
q "$C" -c "SELECT rowguard.set_issuer('https://later.example')" >/dev/null
check "a change after the node was added reaches all three workers" "2 2 2" \
  "$(for p in "$W1" "$W2" "$W3"; do q "$p" -c "SELECT count(*) FROM rowguard.issuers"; done | paste -sd' ')"
# A node that is down: the change is refused on the coordinator too.
in_root bash -c "source scripts/pg-cluster.sh && ROWGUARD_KEEP_CLUSTER=1 stop_cluster $W3" >/dev/null 2>&1
down=$(q "$C" -v ON_ERROR_STOP=0 -c "SELECT rowguard.set_issuer('https://while-down.example')" 2>&1)
check "with a node down, a change is refused (error) and made nowhere" "1|0" \
  "$(grep -c -m1 'ERROR' <<<"$down")|$(q "$C" -c "SELECT count(*) FROM rowguard.issuers WHERE iss = 'https://while-down.example'")"
echo "  node down: $(grep -m1 ERROR <<<"$down")"
q "$C" -c "SELECT citus_remove_node('127.0.0.1', $W3)" >/dev/null 2>&1 || true

# --- key removal ends identities on the workers ----------------------------------------------
# The key is removed on the coordinator, between two statements of an open transaction of
# the pooled client: the removal reaches the workers in the same distributed transaction,
# and the identity's next use fails (28000) on every node.
coproc KEYTX { PGROLE=app in_root psql -X -q -At -F'|' -h "/tmp/rowguard-$C" -p "$C" -U app -d postgres 2>&1; }
keytx_pid=$KEYTX_PID
echo "SET citus.propagate_set_commands = 'local'; BEGIN; SET LOCAL rowguard.token = '${TOKENS[0]}';
      SELECT 'before', count(*) FROM public.docs;" >&"${KEYTX[1]}"
read -r -t 60 before <&"${KEYTX[0]}"
q "$C" -c "SELECT rowguard.remove_key('es256-key')" >/dev/null
echo "SELECT 'after', count(*) FROM public.docs; COMMIT;" >&"${KEYTX[1]}"
keytx_in=${KEYTX[1]}
exec {keytx_in}>&-
after=$(timeout 60 cat <&"${KEYTX[0]}")
wait "$keytx_pid" 2>/dev/null || true
check "before the removal the open transaction sees its rows" "before|$ROWS_PER_TENANT" "$before"
check "after remove_key on the coordinator the same transaction fails (invalid token)" "1" \
  "$(grep -c 'invalid token' <<<"$after")"
echo "  after removal: $(head -2 <<<"$after" | paste -sd' ')"
TOK=${TOKENS[1]}
check "remove_key on the coordinator: every worker refuses the key's tokens" "refused refused" "$(on_workers "$W1" "$W2")"
check "the token never appears in a server log" "0" \
  "$(cat "$MERGED"/tmp/rowguard-{$C,$W1,$W2}/data/server.log | grep -c "${TOKENS[1]:0:40}")"
check "no key material of a propagated change appears in a server log" "0" \
  "$(cat "$MERGED"/tmp/rowguard-{$C,$W1,$W2}/data/server.log | grep -c "_citus_apply('\\|_citus_replace('")"

echo "citus-check: Citus build ${CITUS_BUILD_SECONDS}s (0 = reused), total $((SECONDS))s"
echo "citus-check: $passed passed, $failed failed"
((failed == 0))
