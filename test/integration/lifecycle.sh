#!/usr/bin/env bash
# Token lifecycle at scale, on its own cluster: with 1,000,000 rows in rowguard.revocations
# a revoked token is still found and a live one still accepted, by new connections, and
# a revocation committed in one session ends the identity of another at its next
# statement; a backend that looks up 40,000 distinct
# subjects and jtis keeps its revocation memory bounded (resident size measured after
# 10,000 and after 40,000); revoke_token prunes expired rows by itself. No timing is
# asserted: the cost of a new connection's first verification with 0 and 1,000,000 rows
# is measured by test/bench/lifecycle_bench.sh (docs/testing.md).
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3

PORT=""
cleanup() {
  local rc=$?
  finish_own_cluster "$rc"
  return $rc
}
trap cleanup EXIT

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "lifecycle: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

PORT=$(pick_port "${ROWGUARD_LIFECYCLE_PORT:-54560}")
start_cluster "$PORT" "log_min_messages = warning"

psql_as postgres >/dev/null <<'SQL'
CREATE EXTENSION rowguard;
SELECT rowguard.add_key('{"kty":"oct","kid":"lc-key","alg":"HS256","k":"q8Hg1cPcHbpRVJ7JkXl9Xy0Zj3oXbIrAv2V-Wc0dOQI"}');
CREATE ROLE app LOGIN;
SQL

DSN="host=$PGHOST port=$PORT dbname=postgres" "$PY" - <<'PYEOF'
import os, sys, time
import psycopg

dsn = os.environ["DSN"]
cases, failures = 0, []


def check(name, ok, detail=""):
    global cases
    cases += 1
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(name)


def connect(user="postgres"):
    return psycopg.connect(dsn + f" user={user}", autocommit=True, prepare_threshold=None)


def outcome(conn, stmt, params=()):
    try:
        cur = conn.execute(stmt, params)
        return "ok", (cur.fetchone() if cur.description else None)
    except psycopg.Error as e:
        return e.sqlstate, f"{e.diag.message_primary}: {e.diag.message_detail}"


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


admin = connect()
token = lambda sub, jti: admin.execute(
    "SELECT rowguard.sign(jsonb_build_object('iss', 'https://lc.example', 'sub', %s::text, "
    "'jti', %s::text, 'iat', extract(epoch FROM now())::bigint - 60, 'exp', 4102444800), "
    "'lc-key')", [sub, jti]).fetchone()[0]
live, doomed, other = token("u-live", "j-live"), token("u-doomed", "j-doomed"), token("u-x", "j-x")


def first_verifications(tok, runs=5):
    """The first verify() of each of `runs` new connections: the set of outcomes."""
    seen = set()
    for _ in range(runs):
        with connect("app") as c:
            seen.add(outcome(c, "SELECT rowguard.verify(%s) ->> 'sub'", [tok]))
    return seen


check("0 revocations: live token accepted by 5 new connections",
      first_verifications(live) == {("ok", ("u-live",))})

t0 = time.monotonic()
admin.execute("""INSERT INTO rowguard.revocations (jti, issuer)
                 SELECT 'bulk-' || g, CASE WHEN g % 2 = 0 THEN 'https://lc.example' END
                   FROM generate_series(1, 500000) AS g""")
admin.execute("""INSERT INTO rowguard.revocations (sub, issuer, issued_before)
                 SELECT 'bulk-user-' || g, 'https://lc.example', now()
                   FROM generate_series(1, 500000) AS g""")
admin.execute("ANALYZE rowguard.revocations")
n = admin.execute("SELECT count(*) FROM rowguard.revocations").fetchone()[0]
print(f"loaded {n} revocation rows in {time.monotonic() - t0:.1f} s")
check("1,000,000 revocation rows", n == 1000000, str(n))

seen = first_verifications(live)
check("1,000,000 revocations: live token accepted by 5 new connections",
      seen == {("ok", ("u-live",))}, str(seen))
with connect("app") as c:
    st, row = outcome(c, "SELECT rowguard.verify(%s) ->> 'sub'", [live])
    check("live token accepted among 1,000,000 revocations", (st, row) == ("ok", ("u-live",)),
          f"{st} {row}")

# Cross-session: an identity in force ends at its next statement after a revocation.
holder = connect("app")
holder.execute("BEGIN")
holder.execute("SELECT rowguard.authenticate(%s)", [doomed])
check("holder authenticated", holder.execute("SELECT rowguard.sub()").fetchone()[0] == "u-doomed")
admin.execute("SELECT rowguard.revoke_token('j-doomed', 'https://lc.example')")
st, det = outcome(holder, "SELECT rowguard.sub()")
check("revoked in another session: holder's next statement fails with 28000",
      st == "28000" and "revoked" in det, f"{st} {det}")
holder.execute("ROLLBACK")
st, det = outcome(holder, "SELECT rowguard.verify(%s)", [doomed])
check("revoked token refused in a new transaction", st == "28000", f"{st} {det}")
with connect("app") as c:
    st, det = outcome(c, "SELECT rowguard.verify(%s)", [doomed])
    check("revoked token refused by a new connection", st == "28000", f"{st} {det}")
    st, det = outcome(c, "SELECT rowguard.verify(%s)", [token("bulk-user-77", "j-77")])
    check("subject revoked among 500,000 subject rows refused", st == "28000", f"{st} {det}")
    st, det = outcome(c, "SELECT rowguard.verify(%s)", [token("u-y", "bulk-12")])
    check("jti revoked among 500,000 jti rows (issuer-scoped row) refused", st == "28000",
          f"{st} {det}")
    st, det = outcome(c, "SELECT rowguard.verify(%s)", [token("u-y", "bulk-13")])
    check("jti revoked for any issuer refused", st == "28000", f"{st} {det}")
holder.close()

# Memory: one backend looks up 40,000 distinct (issuer, sub) and (issuer, jti) pairs.
print("memory of one backend looking up 40,000 distinct subjects and jtis:")
admin.execute("""CREATE TABLE public.many AS
    SELECT g, rowguard.sign(jsonb_build_object('iss', 'https://lc.example',
               'sub', 'm-' || g, 'jti', 'mj-' || g, 'iat', 1700000000, 'exp', 4102444800),
               'lc-key') AS token
      FROM generate_series(1, 40000) AS g""")
with connect() as m:
    pid = m.execute("SELECT pg_backend_pid()").fetchone()[0]
    m.execute("SET rowguard.cache_size = 0")   # only the revocation lookups remember
    m.execute("SELECT count(rowguard.verify(token)) FROM public.many WHERE g <= 1000")
    base = rss_kb(pid)
    m.execute("SELECT count(rowguard.verify(token)) FROM public.many WHERE g <= 10000")
    at10k = rss_kb(pid)
    m.execute("SELECT count(rowguard.verify(token)) FROM public.many")
    at40k = rss_kb(pid)
    print(f"    resident size: {base} kB after 1,000, {at10k} kB after 10,000, "
          f"{at40k} kB after 40,000 tokens (growth 10,000 -> 40,000: {at40k - at10k} kB)")
    # Unbounded, 60,000 more entries of ~100 bytes each would add about 6 MB.
    check("revocation memory bounded: growth from 10,000 to 40,000 distinct tokens < 1.5 MB",
          at40k - at10k < 1536, f"{at40k - at10k} kB")

# Pruning: rows past prune_after are deleted by the next revoke_* call.
admin.execute("SELECT rowguard.set_issuer('https://lc.example', max_lifetime => '1 hour')")
admin.execute("UPDATE rowguard.revocations SET prune_after = now() - interval '1 s' "
              "WHERE jti LIKE 'bulk-%' AND issuer IS NOT NULL")
admin.execute("SELECT rowguard.revoke_token('j-x', 'https://lc.example')")
left = admin.execute("SELECT count(*) FROM rowguard.revocations WHERE jti LIKE 'bulk-%'").fetchone()[0]
check("revoke_token pruned the 250,000 expired rows", left == 250000, str(left))
kept = admin.execute("SELECT prune_after - revoked_at FROM rowguard.revocations "
                     "WHERE jti = 'j-x'").fetchone()[0]
check("new row kept for max_lifetime + leeway", str(kept) == "1:00:30", str(kept))

print(f"lifecycle: {cases} cases, {len(failures)} failed")
sys.exit(1 if failures else 0)
PYEOF

if grep -E "terminated by signal|PANIC" "$(cluster_log "$PORT")"; then
  echo "FAIL: a server process crashed" >&2; exit 1
fi
echo "lifecycle: PASS"
