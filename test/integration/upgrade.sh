#!/usr/bin/env bash
# ALTER EXTENSION rowguard UPDATE from each released version (0.1.0, which goes through
# 0.2.0, and 0.2.0) to the default version, on a database in use: keys (add_key, add_jwks), an issuer rule, tables protected by
# tenant_policy / owner_policy / scope_policy as a table owner without superuser, and an
# application session that holds a SESSION identity (SET rowguard.token) in another
# connection and stays open across the update. After the update:
#   - the held session keeps its identity and still sees only its own rows;
#   - tokens made by other tools verify, new sessions are isolated, sign() works;
#   - the keys and issuers are all still there and PUBLIC still cannot touch them;
#   - the extension's schema equals a fresh CREATE EXTENSION rowguard in another database
#     (pg_dump --schema-only --binary-upgrade of both, which dumps every member object of
#     the extension, normalised only for OIDs, xids and pg_dump's per-run \restrict key);
#   - from 0.2.0: its revocations, role bindings and key sources are kept and in force;
#   - a second ALTER EXTENSION rowguard UPDATE is a no-op.
#
# Own cluster (pick_port from ROWGUARD_UPGRADE_PORT, default 54470). Environment:
# ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both). Needs python3-psycopg.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3   # Debian's python3 with psycopg 3 (python3-psycopg)
START=$SECONDS

PORT=""
cleanup() {
  local rc=$?
  if ((rc != 0)) && [[ -n "$PORT" ]]; then
    echo "--- last lines of the server log ---"; tail -n 25 "$(cluster_log "$PORT")" || true
  fi
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  ((rc == 0)) || echo "upgrade: FAIL after $((SECONDS - START))s"
  return $rc
}
trap cleanup EXIT

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "upgrade: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" rowguard.control)
PORT=$(pick_port "${ROWGUARD_UPGRADE_PORT:-54470}")
start_cluster "$PORT"

PGHOST="$PGHOST" PGPORT="$PORT" FIXTURES="$ROOT/test/fixtures" VERSION="$VERSION" PGBIN="$PGBIN" \
PYTHONPATH="$ROOT/test/integration" "$PY" - <<'PYEOF'
import difflib, os, re, subprocess
from scenario import (A, B, Checker, add_keys, check_hostile, check_in_use, connect, create_roles,
                      create_tables, drop_roles, extversion, mint, one, set_token, sqlstate,
                      tokens, visible)

version = os.environ["VERSION"]
ck = Checker("upgrade")
tok = tokens()
P = "rg_up_"

su = connect("postgres")
create_roles(su, P)
# The role a token may bind: NOLOGIN, as 0.3.0 requires (the application logs in as app).
su.execute(f"DROP ROLE IF EXISTS {P}bound")
su.execute(f"CREATE ROLE {P}bound NOLOGIN")
pg_dump = os.path.join(os.environ["PGBIN"], "pg_dump")
# PostgreSQL 18's pg_dump can carry planner statistics, which differ with the data: leave
# them out where the option exists.
no_stats = ["--no-statistics"] if "--no-statistics" in subprocess.run(
    [pg_dump, "--help"], capture_output=True, text=True).stdout else []

def dump(db):
    out = subprocess.run([pg_dump, "--schema-only", "--binary-upgrade", *no_stats,
                          "--exclude-schema=app", "-U", "postgres", "-d", db],
                         check=True, capture_output=True, text=True).stdout
    # Only what must differ between two databases: OIDs, xids, pg_dump's \restrict key,
    # and the column version stamps (pg_attver) that pg_dump 18 and later write.
    lines = []
    for line in out.splitlines():
        if re.match(r"^\\(un)?restrict ", line) or \
           line.startswith("SELECT pg_catalog.binary_upgrade_set_next_"):
            continue
        line = re.sub(r"(binary_upgrade_create_empty_extension\('[^']*', '[^']*', \w+, '[^']*', )"
                      r"'\{[0-9,]*\}'", r"\1'{OIDS}'", line)
        line = re.sub(r"relfrozenxid = '\d+', relminmxid = '\d+'", "relfrozenxid = X, relminmxid = X", line)
        line = re.sub(r"^WHERE oid = '\d+';$", "WHERE oid = X;", line)
        line = re.sub(r"SET \(pg_attver=\d+\);$", "SET (pg_attver=X);", line)
        lines.append(line)
    return lines

def lifecycle_rows(conn):
    return (one(conn, "SELECT array_agg(r::text ORDER BY r::text) FROM rowguard.revocations r"),
            one(conn, "SELECT array_agg(b::text ORDER BY b::text) FROM rowguard.role_bindings b"),
            one(conn, "SELECT array_agg(j::text ORDER BY j::text) FROM rowguard.jwks_sources j"))

def upgrade_from(start):
    db, fresh_db = "rg_up_" + start.replace(".", "_"), "rg_fresh"
    for d in (db, fresh_db):
        su.execute(f"DROP DATABASE IF EXISTS {d}")
        su.execute(f"CREATE DATABASE {d}")
    tag = f"[from {start}]"

    # --- the released version in use ----------------------------------------------------
    up = connect(db)
    up.execute(f"CREATE EXTENSION rowguard VERSION '{start}'")
    ck(extversion(up) == start, f"{tag} CREATE EXTENSION rowguard VERSION '{start}' installs {start}")
    add_keys(ck, up)
    create_tables(ck, up, db, P)
    if start != "0.1.0":
        # 0.2.0's lifecycle in use: a revoked subject, a role binding (claim off), a key source.
        up.execute("SELECT rowguard.revoke_subject('mallory', now() + interval '1 hour')")
        up.execute(f"SELECT rowguard.allow_role('{P}bound')")
        up.execute("SELECT rowguard.set_jwks_uri('https://issuer.example/', "
                   "'https://issuer.example/jwks.json')")
    lifecycle_before = lifecycle_rows(up) if start != "0.1.0" else None
    mallory = mint(up, "mallory", "docs:read", A)

    # The application session that stays open across the update: a SESSION identity.
    held = connect(db, P + "app")
    # Not preloaded: rowguard is loaded before the token is set (docs/security-model.md,
    # "Before rowguard is loaded").
    held.execute("SELECT rowguard.is_authenticated()")
    held.execute("SELECT set_config('rowguard.token', %s, false)", (tok["alice_hs256"],))
    ck(visible(held) == (100, 7, 0), f"{tag} before the update, alice sees (100, 7, 0), got {visible(held)}")
    # A statement prepared (and planned) before the update, executed after it.
    held.execute("PREPARE docs_count AS SELECT count(*) FROM app.docs")
    ck(one(held, "EXECUTE docs_count") == 100, f"{tag} the prepared statement counts alice's rows")
    keys_before = one(up, "SELECT array_agg(k::text ORDER BY kid) FROM rowguard.keys k")
    issuers_before = one(up, "SELECT array_agg(i::text ORDER BY iss) FROM rowguard.issuers i")
    minted_before = mint(up, "auditor", "audit:read", A)

    # --- the update: 0.1.0 goes through 0.2.0 explicitly, then to the default -------------
    if start == "0.1.0":
        up.execute("ALTER EXTENSION rowguard UPDATE TO '0.2.0'")
        ck(extversion(up) == "0.2.0", f"{tag} ALTER EXTENSION rowguard UPDATE TO '0.2.0'")
        ck(one(held, "SELECT rowguard.sub()") == "alice", f"{tag} held session at 0.2.0: sub() is alice")
    up.execute("ALTER EXTENSION rowguard UPDATE")
    ck(extversion(up) == version, f"{tag} after ALTER EXTENSION rowguard UPDATE the version is {version}")

    # The held session: same identity, same rows, same refusals.
    ck(one(held, "SELECT rowguard.sub()") == "alice", f"{tag} held session: sub() is still alice")
    ck(str(one(held, "SELECT rowguard.claim_uuid('tenant_id')")) == A, f"{tag} held session: tenant claim")
    ck(one(held, "SELECT rowguard.is_authenticated()") is True, f"{tag} held session: still authenticated")
    ck(visible(held) == (100, 7, 0), f"{tag} held session after the update sees (100, 7, 0), got {visible(held)}")
    ck(one(held, "EXECUTE docs_count") == 100, f"{tag} held session: the statement prepared before the update")
    ck(sqlstate(held, "INSERT INTO app.docs VALUES (1001, %s, 'cross-tenant')", (B,)) == "42501",
       f"{tag} held session cannot insert into another tenant after the update")
    ck(sqlstate(held, "INSERT INTO app.docs VALUES (1002, %s, 'own tenant')", (A,)) == "ok",
       f"{tag} held session can insert into its own tenant after the update")
    held.close()

    # New sessions: other tools' tokens verify, isolation holds, bad tokens are refused; a
    # token signed before and one signed after the update open the scope-protected table.
    app = connect(db, P + "app")
    check_in_use(ck, app, tok, f"{tag} after the update", extra_docs=1)
    minted_after = mint(up, "auditor", "audit:read", A)
    for t, when in ((minted_before, "before"), (minted_after, "after")):
        ck(one(app, "SELECT rowguard.authenticate(%s, false) ->> 'sub'", (t,)) == "auditor",
           f"{tag} a token signed {when} the update authenticates")
        ck(visible(app) == (101, 0, 20), f"{tag} the auditor sees (101, 0, 20), got {visible(app)}")
    if start != "0.1.0":
        ck(lifecycle_rows(up) == lifecycle_before, f"{tag} revocations, role bindings, key sources kept")
        ck(sqlstate(app, "SELECT rowguard.authenticate(%s, false)", (mallory,)) == "28000",
           f"{tag} the subject revoked at {start} is still refused after the update")
    else:
        ck(one(app, "SELECT rowguard.authenticate(%s, false) ->> 'sub'", (mallory,)) == "mallory",
           f"{tag} a token of a subject never revoked authenticates")

    # Keys and issuers came through; the application still cannot read or change them.
    ck(one(up, "SELECT array_agg(k::text ORDER BY kid) FROM rowguard.keys k") == keys_before, f"{tag} keys kept")
    ck(one(up, "SELECT array_agg(i::text ORDER BY iss) FROM rowguard.issuers i") == issuers_before,
       f"{tag} issuers kept")
    check_hostile(ck, app, f"{tag} after the update")
    app.close()

    # --- the schema equals a fresh install -------------------------------------------------
    fresh = connect(fresh_db)
    fresh.execute("CREATE EXTENSION rowguard")
    ck(extversion(fresh) == version, f"{tag} a fresh CREATE EXTENSION rowguard installs {version}")
    d_up, d_fresh = dump(db), dump(fresh_db)
    diff = list(difflib.unified_diff(d_fresh, d_up, "fresh install", "after the update", lineterm=""))
    if diff:
        print("\n".join(diff[:200]))
    ck(not diff, f"{tag} the schema after the update equals a fresh install (diff above)")
    ck(sum(1 for l in d_up if "ALTER EXTENSION rowguard ADD" in l) > 30,
       f"{tag} the dump lists the extension's member objects")
    extconf = """SELECT array_agg(c::regclass::text || ':' || coalesce(w, '')
                            ORDER BY c::regclass::text || ':' || coalesce(w, ''))
                   FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w)
                  WHERE e.extname = 'rowguard'"""
    ck(one(up, extconf) == one(fresh, extconf), f"{tag} the same tables are dumped with pg_dump (extconfig)")
    rights = f"""SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
                  WHERE p.pronamespace = 'rowguard'::regnamespace
                    AND has_function_privilege('{P}app', p.oid, 'EXECUTE')"""
    ck(one(up, rights) == one(fresh, rights), f"{tag} the application may execute the same functions in both")

    # --- a second update is a no-op ----------------------------------------------------------
    notices = []
    up.add_notice_handler(lambda n: notices.append(n.message_primary))
    up.execute("ALTER EXTENSION rowguard UPDATE")
    ck(any(f'version "{version}" of extension "rowguard" is already installed' in n for n in notices),
       f"{tag} the second update says it is already installed (notices: {notices})")
    ck(dump(db) == d_up, f"{tag} the second update changed nothing in the schema")
    up.close()
    fresh.close()
    for d in (db, fresh_db):
        su.execute(f"DROP DATABASE {d}")

for start in ("0.1.0", "0.2.0"):
    upgrade_from(start)
drop_roles(su, P)
su.execute(f"DROP ROLE IF EXISTS {P}bound")
print(f"upgrade: {ck.count} checks passed (0.1.0 -> 0.2.0 -> {version}, 0.2.0 -> {version})")
PYEOF
echo "upgrade: PASS in $((SECONDS - START))s"
