#!/usr/bin/env bash
# Memory: one backend runs 1,000,000 authenticate calls - distinct tokens (more than
# rowguard.cache_size, so the cache churns), repeated tokens (cache hits), session and
# transaction scope, verify(), claim accessors and rejected tokens caught in PL/pgSQL -
# in batches of 10,000, one transaction each. Its memory after the run must be within a
# few MB of its memory after the first 10,000 calls.
#
# Memory is read from outside (/proc/<pid>/status RssAnon: the backend's private heap,
# not the shared buffers it maps; VmRSS and smaps_rollup Private_Dirty for reference) and
# from inside (pg_backend_memory_contexts: palloc'ed memory).
#
# Environment: ROWGUARD_ROOT, PGBIN; MEMORY_CALLS (default 1000000), MEMORY_DISTINCT
# (default 20000), MEMORY_MAX_GROWTH_KB (default 8192).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3

CALLS=${MEMORY_CALLS:-1000000}
DISTINCT=${MEMORY_DISTINCT:-20000}
MAX_GROWTH_KB=${MEMORY_MAX_GROWTH_KB:-8192}

PORT=""
cleanup() {
  local rc=$?
  if ((rc != 0)) && [[ -n "$PORT" ]]; then
    echo "--- last lines of the server log ---"; tail -n 30 "$(cluster_log "$PORT")" || true
  fi
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  return $rc
}
trap cleanup EXIT

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "memory: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

PORT=$(pick_port 54490)
start_cluster "$PORT"

t0=$SECONDS
psql_as postgres >/dev/null <<SQL
\set ECHO none
\i test/fixtures/keys.psql
\i test/fixtures/tokens.psql
CREATE EXTENSION rowguard;
SELECT rowguard.add_key(:'jwk_hs256');
SELECT rowguard.add_key(:'jwk_es256');
SELECT rowguard.add_key(:'jwk_rs256');
SELECT rowguard.add_key(:'jwk_eddsa');
CREATE ROLE app LOGIN;
-- Distinct tokens, minted in SQL: 85% HS256, 5% each ES256, RS256, EdDSA.
CREATE TABLE public.mem_tokens AS
SELECT i, rowguard.sign(jsonb_build_object(
           'iss', 'https://issuer.example', 'sub', 'user-' || i,
           'tenant_id', md5('tenant-' || (i % 50))::uuid, 'jti', 'mem-' || i,
           'iat', 1700000000, 'exp', 4102444800, 'roles', jsonb_build_array('reader')),
           CASE i % 20 WHEN 0 THEN 'es256-key' WHEN 1 THEN 'rs256-key' WHEN 2 THEN 'eddsa-key'
                       ELSE 'hs256-key' END) AS tok
  FROM generate_series(1, $DISTINCT) AS i;
-- A few repeated tokens (HS256 and ES256), and rejected ones of several kinds.
CREATE TABLE public.mem_repeated AS
SELECT * FROM (VALUES (1, :'alice_hs256'), (2, :'bob_hs256'), (3, :'alice_es256'),
                      (4, :'bob_es256'), (5, :'valid_hs256'), (6, :'bearer_valid')) AS v(i, tok);
CREATE TABLE public.mem_forged AS
SELECT * FROM (VALUES (1, :'forged'), (2, :'alg_none'), (3, :'psychic'), (4, :'expired_hs256'),
                      (5, :'confused'), (6, :'embedded_jwk'), (7, :'crit_header'),
                      (8, :'deep_nesting'), (9, :'too_long'), (10, :'garbage'),
                      (11, :'unknown_kid'), (12, :'dup_payload')) AS v(i, tok);
GRANT SELECT ON public.mem_tokens, public.mem_repeated, public.mem_forged TO app;
-- The backend reads its own memory contexts (superuser-only by default).
GRANT SELECT ON pg_catalog.pg_backend_memory_contexts TO app;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_get_backend_memory_contexts() TO app;

-- One batch: n calls starting at call number first. Even calls use a distinct token,
-- odd calls a repeated one; every 10th call is session-scope, every 10th+1 is verify(),
-- every 10th+2 is set_config('rowguard.token', ..., true), the rest authenticate(t),
-- every 100th also reads the claims, every 200th presents a bad token (forged, alg none, psychic
-- ECDSA, expired, ...; the 28000 is caught).
CREATE FUNCTION public.auth_batch(first bigint, n int) RETURNS bigint
LANGUAGE plpgsql AS \$\$
DECLARE
    toks text[];
    reps text[];
    forged text[];
    i bigint;
    t text;
    rejected bigint := 0;
    nd int;
    nr int;
BEGIN
    SELECT array_agg(tok ORDER BY m.i) INTO toks FROM public.mem_tokens m;
    SELECT array_agg(tok ORDER BY r.i) INTO reps FROM public.mem_repeated r;
    SELECT array_agg(tok ORDER BY f.i) INTO forged FROM public.mem_forged f;
    nd := cardinality(toks);
    nr := cardinality(reps);
    FOR i IN first .. first + n - 1 LOOP
        IF i % 2 = 0 THEN
            t := toks[1 + (i / 2) % nd];
        ELSE
            t := reps[1 + (i / 2) % nr];
        END IF;
        IF i % 10 = 0 THEN
            PERFORM rowguard.authenticate(t, false);
        ELSIF i % 10 = 1 THEN
            PERFORM rowguard.verify(t);
        ELSIF i % 10 = 2 THEN
            PERFORM set_config('rowguard.token', t, true);
        ELSE
            PERFORM rowguard.authenticate(t);
        END IF;
        IF i % 100 = 0 THEN
            PERFORM rowguard.sub(), rowguard.claim_uuid('tenant_id'), rowguard.claims(),
                    rowguard.has_role('reader'), rowguard.claim_array('roles');
        END IF;
        IF i % 200 = 199 THEN
            BEGIN
                PERFORM rowguard.authenticate(forged[1 + (i / 200) % cardinality(forged)]);
                RAISE EXCEPTION 'bad token % accepted', 1 + (i / 200) % cardinality(forged);
            EXCEPTION WHEN invalid_authorization_specification THEN
                rejected := rejected + 1;
            END;
        END IF;
    END LOOP;
    RETURN rejected;
END
\$\$;
SQL
echo "fixture: $DISTINCT distinct tokens minted (HS256, ES256, RS256, EdDSA), 6 repeated, 12 bad, in $((SECONDS - t0)) s"

DSN="host=$PGHOST port=$PORT dbname=postgres user=app" \
CALLS=$CALLS MAX_GROWTH_KB=$MAX_GROWTH_KB "$PY" - <<'PYEOF'
import os, sys, time
import psycopg

calls = int(os.environ["CALLS"])
max_growth = int(os.environ["MAX_GROWTH_KB"])
BATCH = 10000


def proc_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssShmem", "VmHWM"):
                out[k] = int(v.split()[0])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "Private_Dirty":
                out[k] = int(v.split()[0])
    return out


conn = psycopg.connect(os.environ["DSN"], autocommit=True, prepare_threshold=None)
pid = conn.execute("SELECT pg_backend_pid(), rowguard.is_authenticated()").fetchone()[0]  # loads rowguard
print(f"backend pid {pid}, rowguard.cache_size = "
      f"{conn.execute('SHOW rowguard.cache_size').fetchone()[0]}")


def snapshot(done, elapsed):
    m = proc_kb(pid)
    m["contexts"] = conn.execute(
        "SELECT sum(total_bytes) / 1024 FROM pg_backend_memory_contexts").fetchone()[0]
    m["calls"] = done
    print(f"  after {done:>9,} calls ({elapsed:6.1f} s): RssAnon {m['RssAnon']:>7} kB  "
          f"VmRSS {m['VmRSS']:>7} kB  Private_Dirty {m['Private_Dirty']:>7} kB  "
          f"memory contexts {int(m['contexts']):>6} kB", flush=True)
    return m


done = 0
rejected = 0
t0 = time.monotonic()
marks = {10000, 100000, 250000, 500000, 750000}
first = last = None
while done < calls:
    n = min(BATCH, calls - done)
    rejected += conn.execute("SELECT public.auth_batch(%s, %s)", [done, n]).fetchone()[0]
    done += n
    if done == BATCH:
        rate = done / (time.monotonic() - t0)
        print(f"  rate after the first batch: {rate:,.0f} calls/s; "
              f"{calls:,} calls will take about {calls / rate:.0f} s")
    if done in marks or done == calls:
        m = snapshot(done, time.monotonic() - t0)
        if first is None:
            first = m
        last = m
elapsed = time.monotonic() - t0
expected_rejected = sum(1 for i in range(calls) if i % 200 == 199)
# The session identity is still the last session-scope token.
sub = conn.execute("SELECT rowguard.sub()").fetchone()[0]
conn.close()

growth = {k: last[k] - first[k] for k in ("RssAnon", "VmRSS", "Private_Dirty", "contexts")}
print(f"calls: {done:,} in {elapsed:.1f} s ({done / elapsed:,.0f}/s), "
      f"bad tokens rejected: {rejected} (expected {expected_rejected}), peak VmHWM {last['VmHWM']} kB")
print(f"growth from {first['calls']:,} to {last['calls']:,} calls: RssAnon {growth['RssAnon']:+} kB, "
      f"VmRSS {growth['VmRSS']:+} kB, Private_Dirty {growth['Private_Dirty']:+} kB, "
      f"memory contexts {int(growth['contexts']):+} kB (limit {max_growth} kB)")
bad = []
if rejected != expected_rejected:
    bad.append("wrong number of rejected bad tokens")
if sub is None:
    bad.append("session identity lost")
if growth["RssAnon"] > max_growth:
    bad.append(f"RssAnon grew by {growth['RssAnon']} kB")
if growth["contexts"] > max_growth:
    bad.append(f"memory contexts grew by {int(growth['contexts'])} kB")
for b in bad:
    print(f"FAIL: {b}")
sys.exit(1 if bad else 0)
PYEOF

if grep -E "terminated by signal|PANIC" "$(cluster_log "$PORT")"; then
  echo "FAIL: a server process crashed" >&2; exit 1
fi
echo "memory: PASS"
