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
PORTS=()
for i in 0 1 2; do
  p=$(in_root bash -c "source scripts/pg-cluster.sh && pick_port $PORT0") ||
    die "no free port from $PORT0"
  PORT0=$((p + 1))   # pick_port claimed p; look on from the next one
  PORTS+=("$p")
  in_root bash -c "source scripts/pg-cluster.sh && start_cluster $p \"shared_preload_libraries = 'citus'\" \
      \"max_worker_processes = 16\"" >&2 || die "could not start a server on port $p"
  CLUSTERS+=("$p")
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
    "0.2.0" "$(q "$p" -c "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'")"
done


# --- keys and issuers on every node --------------------------------------------------------
# rowguard's key tables are node-local: the coordinator verifies the SET LOCAL it receives,
# every worker verifies the same token again when Citus forwards it. The documented step
# (docs/scaling.md): run each key function on the coordinator and, with the same
# arguments, on every worker through run_command_on_workers. Here the coordinator gets
# the private ES256 key (it signs the test tokens), the workers only its public half.
q "$C" >/dev/null <<'SQL' || die "adding the keys failed"
\set ECHO none
\i test/fixtures/keys.psql
SELECT rowguard.add_key(:'jwk_es256') AS kid \gset
SELECT bool_and(success) AND count(*) = 2 AS ok
  FROM run_command_on_workers(format('SELECT rowguard.add_key(%L::jsonb)', :'jwk_es256_pub')) \gset
\if :ok
\else
  \warn 'add_key on the workers failed'
  SELECT 1/0;
\endif
SELECT bool_and(success) FROM run_command_on_workers(
  $$SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['citus-check'])$$);
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['citus-check']);
SQL
for p in "$C" "$W1" "$W2"; do
  check "key and issuer rules on :$p" "es256-key|1" \
    "$(q "$p" -c "SELECT string_agg(kid, ','), (SELECT count(*) FROM rowguard.issuers) FROM rowguard.keys")"
done

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

# A token the workers do not accept (its key was added on the coordinator only) set in a
# transaction whose worker connections already hold tenant A's identity: Citus sends the
# SET LOCAL to the open worker connections; their refusal aborts the transaction ("failure
# on connection marked as essential"), so it cannot go on with tenant B on the
# coordinator and tenant A on the workers.
q "$C" -c "SELECT rowguard.add_key('{\"kty\":\"oct\",\"kid\":\"coordinator-only\",\"alg\":\"HS256\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8\"}')" >/dev/null
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
check "hostile app: cannot add a key on a worker" "1" \
  "$(PGROLE=app q "$C" -c "SELECT * FROM run_command_on_workers(\$\$SELECT rowguard.add_key('{\"kty\":\"oct\",\"kid\":\"evil\",\"alg\":\"HS256\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8\"}')\$\$)" 2>&1 |
     grep -c 'permission denied for function add_key' | awk '{print ($1 >= 1)}')"

# --- plans: router vs multi-shard -------------------------------------------------------------
plan() { # plan LABEL QUERY: the Task Count and whether a task pruned to one shard
  local out
  out=$(PGROLE=app q "$C" 2>&1 <<SQL
SET citus.propagate_set_commands = 'local';
BEGIN;
SET LOCAL rowguard.token = '${TOKENS[0]}';
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
check "multi-shard: the policy alone does not prune (all 8 shards)" "8" \
  "$(plan "policy only" "SELECT count(*) FROM public.docs")"
check "multi-shard: WHERE tenant_id = (SELECT rowguard.claim_uuid(...)) does not prune" "8" \
  "$(plan "WHERE tenant_id = (SELECT claim)" "SELECT count(*) FROM public.docs WHERE tenant_id = (SELECT rowguard.claim_uuid('tenant_id'))")"
ts=$(plan "WHERE tenant_id = rowguard.claim_uuid(...)" "SELECT count(*) FROM public.docs WHERE tenant_id = rowguard.claim_uuid('tenant_id')")
echo "  WHERE tenant_id = rowguard.claim_uuid('tenant_id'): Task Count $ts"

# --- figures: a pooled client's transactions (BEGIN, SET LOCAL, one query, COMMIT) --------
bench() { # bench LABEL QUERY (@T@ = the tenant of the transaction's token)
  local n=200 i t0 t1
  {
    echo "SET citus.propagate_set_commands = 'local';"
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
echo "figures (wall clock on this machine, 4 tenants in turn):"
bench "router: WHERE tenant_id = literal" "SELECT count(*) FROM public.docs WHERE tenant_id = '@T@'"
bench "multi-shard: policy only" "SELECT count(*) FROM public.docs"
bench "reference table join, router" "SELECT count(*) FROM public.docs d JOIN public.plans p USING (tenant_id) WHERE d.tenant_id = '@T@'"

# --- a revocation on the workers ends the subject's identity there -------------------------
if [[ "$(q "$C" -c "SELECT to_regclass('rowguard.revocations') IS NOT NULL")" == t ]]; then
  q "$C" -c "SELECT bool_and(success) FROM run_command_on_workers(\$\$SELECT rowguard.revoke_subject('user-3')\$\$)" >/dev/null
  revtx=$(printf '%s\n' "SET citus.propagate_set_commands = 'local';" 'BEGIN;' "SET LOCAL rowguard.token = '${TOKENS[2]}';" \
         'SELECT count(*) FROM public.docs;' 'COMMIT;' | PGROLE=app q "$C" -v ON_ERROR_STOP=0 2>&1)
  check "revoke_subject on the workers: the subject's next transaction reads no row there" "1|0" \
    "$(grep -c -m1 'WARNING:  invalid token' <<<"$revtx")|$(grep -E '^[0-9]+$' <<<"$revtx" | head -1)"
  echo "  revoked: $(grep -A1 -m1 'WARNING:  invalid token' <<<"$revtx" | paste -sd' ')"
else
  echo "NOTE: rowguard.revocations does not exist in this tree; revocation not checked"
fi

# --- key removal ends identities on the workers ----------------------------------------------
# The key is removed on the workers only, between two statements of an open transaction of
# the pooled client: the workers' next use of the identity fails (28000), although the
# coordinator still holds the key.
coproc KEYTX { PGROLE=app in_root psql -X -q -At -F'|' -h "/tmp/rowguard-$C" -p "$C" -U app -d postgres 2>&1; }
keytx_pid=$KEYTX_PID
echo "SET citus.propagate_set_commands = 'local'; BEGIN; SET LOCAL rowguard.token = '${TOKENS[0]}';
      SELECT 'before', count(*) FROM public.docs;" >&"${KEYTX[1]}"
read -r -t 60 before <&"${KEYTX[0]}"
q "$C" -c "SELECT bool_and(success) FROM run_command_on_workers(\$\$SELECT rowguard.remove_key('es256-key')\$\$)" >/dev/null
echo "SELECT 'after', count(*) FROM public.docs; COMMIT;" >&"${KEYTX[1]}"
keytx_in=${KEYTX[1]}
exec {keytx_in}>&-
after=$(timeout 60 cat <&"${KEYTX[0]}")
wait "$keytx_pid" 2>/dev/null || true
check "before the removal the open transaction sees its rows" "before|$ROWS_PER_TENANT" "$before"
check "after remove_key on the workers the same transaction fails (invalid token)" "1" \
  "$(grep -c 'invalid token' <<<"$after")"
echo "  after removal: $(head -2 <<<"$after" | paste -sd' ')"
# A new transaction: the coordinator accepts the token, the workers refuse it.
# A new transaction: the coordinator accepts the token, the workers refuse the forwarded
# SET LOCAL (Citus reports it as a WARNING) and their shards return no row.
newtx=$(printf '%s\n' "SET citus.propagate_set_commands = 'local';" 'BEGIN;' "SET LOCAL rowguard.token = '${TOKENS[1]}';" \
       'SELECT count(*) FROM public.docs;' 'COMMIT;' | PGROLE=app q "$C" -v ON_ERROR_STOP=0 2>&1)
check "a new transaction with that token: the workers refuse it and return no row" "1|0" \
  "$(grep -c -m1 'WARNING:  invalid token' <<<"$newtx")|$(grep -E '^[0-9]+$' <<<"$newtx" | head -1)"
check "the token never appears in a server log" "0" \
  "$(cat "$MERGED"/tmp/rowguard-{$C,$W1,$W2}/data/server.log | grep -c "${TOKENS[1]:0:40}")"

echo "citus-check: Citus build ${CITUS_BUILD_SECONDS}s (0 = reused), total $((SECONDS))s"
echo "citus-check: $passed passed, $failed failed"
((failed == 0))
