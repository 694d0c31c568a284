#!/usr/bin/env bash
# pg_dump -Fc of a database in use (keys, issuers, tables protected by the templates and,
# when this build has them, revocations and role bindings), pg_restore into a new
# database, and there: the stored keys verify the same tokens (other tools' and tokens
# signed before the dump), sign() works with the restored key, each identity sees only its
# own rows, revocations still refuse, the application still cannot touch the keys.
# Twice: a database of the current version, and one of 0.1.0 restored where the default is
# the current version (pg_dump writes CREATE EXTENSION without a version).
# Also checks that every table of the extension is marked with pg_extension_config_dump
# (else pg_dump would leave its rows behind), and that every sequence such a table uses
# is marked too (else restored rows would collide with new ones).
#
# Runs against the cluster in PGHOST/PGPORT (scripts/test.sh passes its shared cluster)
# in databases of its own; with no PGPORT set it starts its own cluster (pick_port from
# ROWGUARD_DUMP_PORT, default 54480). Needs python3-psycopg.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3   # Debian's python3 with psycopg 3 (python3-psycopg)
START=$SECONDS

PORT="" WORK=""
cleanup() {
  local rc=$?
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  [[ -n "$WORK" ]] && rm -rf "$WORK"
  ((rc == 0)) || echo "dump_restore: FAIL after $((SECONDS - START))s"
  return $rc
}
trap cleanup EXIT

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "dump_restore: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

if [[ -z "${PGPORT:-}" ]]; then
  PORT=$(pick_port "${ROWGUARD_DUMP_PORT:-54480}")
  start_cluster "$PORT"
fi
: "${PGHOST:=/var/run/postgresql}"
VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" rowguard.control)
WORK=$(mktemp -d /tmp/rowguard-dump.XXXXXX)
chmod 0755 "$WORK"

PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres FIXTURES="$ROOT/test/fixtures" PGBIN="$PGBIN" \
VERSION="$VERSION" DUMP="$WORK/src.dump" PYTHONPATH="$ROOT/test/integration" "$PY" - <<'PYEOF'
import os, subprocess
from scenario import (A, Checker, add_keys, check_hostile, check_in_use, connect, create_roles,
                      create_tables, drop_roles, extversion, mint, one, sqlstate, tokens, visible)

ck = Checker("dump_restore")
tok = tokens()
P = "rg_dr_"
pgbin, dump, version = os.environ["PGBIN"], os.environ["DUMP"], os.environ["VERSION"]


def config_rows(conn):
    """The extension's tables, row by row, in a form to compare across databases."""
    rels = one(conn, """SELECT array_agg(c::regclass::text ORDER BY 1) FROM pg_extension e,
                          unnest(e.extconfig) c WHERE e.extname = 'rowguard'
                           AND (SELECT relkind FROM pg_class WHERE oid = c) IN ('r', 'p')""")
    return {r: one(conn, f"SELECT coalesce(array_agg(t::text ORDER BY t::text), '{{}}') FROM {r} t")
            for r in rels}


def run(src_version):
    """A database with rowguard src_version (None: the default) in use -> pg_dump -Fc ->
    pg_restore into a new database on this server (whose default is `version`)."""
    label = f"from {src_version or version}"
    su = connect("postgres")
    for db in ("rg_dump_src", "rg_dump_dst"):
        su.execute(f"DROP DATABASE IF EXISTS {db}")
    su.execute("CREATE DATABASE rg_dump_src")
    create_roles(su, P)

    src = connect("rg_dump_src")
    src.execute("CREATE EXTENSION rowguard" + (f" VERSION '{src_version}'" if src_version else ""))
    add_keys(ck, src)
    create_tables(ck, src, "rg_dump_src", P)

    # Every table of the extension is dumped with its rows (pg_extension_config_dump), and
    # so is every sequence of the extension.
    undumped = one(src, """
        SELECT array_agg(c.oid::regclass::text ORDER BY 1)
          FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass
          JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
         WHERE e.extname = 'rowguard' AND d.deptype = 'e' AND c.relkind IN ('r', 'p', 'S')
           AND c.oid <> ALL (e.extconfig)""")
    ck(undumped is None, f"{label}: every table and sequence of the extension is marked for"
                         f" pg_dump; not: {undumped}")
    ck(all(one(src, f"SELECT to_regclass('{t}') = ANY (extconfig) FROM pg_extension"
                    " WHERE extname = 'rowguard'") for t in ("rowguard.keys", "rowguard.issuers")),
       f"{label}: rowguard.keys and rowguard.issuers are marked for pg_dump")

    # Revocations and role bindings, when this version has them (the 0.2.0 contract's names).
    def has_function(sig):
        return one(src, "SELECT to_regprocedure(%s) IS NOT NULL", (sig,))

    revoked = []
    if has_function("rowguard.revoke_token(text,text)"):
        t = mint(src, "mallory", "", A, {"jti": "dump-jti-1"})
        src.execute("SELECT rowguard.revoke_token('dump-jti-1')")
        revoked.append(("revoke_token", t))
    if has_function("rowguard.revoke_subject(text,timestamp with time zone,text)"):
        t = mint(src, "trudy", "", A, {"iat": 1700000000})
        src.execute("SELECT rowguard.revoke_subject('trudy')")
        revoked.append(("revoke_subject", t))
    app = connect("rg_dump_src", P + "app")
    for how, t in revoked:
        ck(sqlstate(app, "SELECT rowguard.verify(%s)", (t,)) == "28000",
           f"{label}: before the dump, {how} refuses")
    bindings = has_function("rowguard.allow_role(regrole,text)")
    if bindings:
        su.execute(f"DROP ROLE IF EXISTS {P}bound")
        su.execute(f"CREATE ROLE {P}bound NOLOGIN")
        src.execute(f"SELECT rowguard.allow_role('{P}bound', 'https://issuer.example')")
    print(f"dump_restore {label}: revocations {[h for h, _ in revoked] or 'not in this version'},"
          f" role bindings {'yes' if bindings else 'not in this version'}")

    minted_before = mint(src, "auditor", "audit:read", A)
    check_in_use(ck, app, tok, f"{label}: before the dump")
    app.close()
    rows_src = config_rows(src)
    ck(len(rows_src["rowguard.keys"]) == 13 and len(rows_src["rowguard.issuers"]) == 1,
       f"{label}: the source database holds 13 keys and 1 issuer rule")

    # --- pg_dump -Fc, pg_restore into a new database ------------------------------------------
    subprocess.run([os.path.join(pgbin, "pg_dump"), "-Fc", "-d", "rg_dump_src", "-f", dump],
                   check=True)
    su.execute("CREATE DATABASE rg_dump_dst")
    r = subprocess.run([os.path.join(pgbin, "pg_restore"), "--exit-on-error", "-d", "rg_dump_dst",
                        dump], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
    ck(r.returncode == 0, f"{label}: pg_restore succeeds (its errors above)")

    dst = connect("rg_dump_dst")
    ck(extversion(dst) == version, f"{label}: the restored extension is {version}")
    rows_dst = config_rows(dst)
    for rel, rows in rows_src.items():
        ck(rows_dst.get(rel) == rows, f"{label}: {rel} has the same rows after the restore")

    app = connect("rg_dump_dst", P + "app")
    check_in_use(ck, app, tok, f"{label}: after the restore")
    minted_after = mint(dst, "auditor", "audit:read", A)
    for t, when in ((minted_before, "in the source database"), (minted_after, "after the restore")):
        ck(one(app, "SELECT rowguard.authenticate(%s, false) ->> 'sub'", (t,)) == "auditor",
           f"{label}: a token signed {when} authenticates in the restored database")
        ck(visible(app) == (100, 0, 20), f"{label}: the auditor sees (100, 0, 20), got {visible(app)}")
    app.execute("RESET rowguard.token")
    for how, t in revoked:
        ck(sqlstate(app, "SELECT rowguard.verify(%s)", (t,)) == "28000",
           f"{label}: after the restore, {how} refuses")
    check_hostile(ck, app, f"{label}: after the restore")
    app.close()

    # The restored key signs for the source database too: the key material came along.
    src_app = connect("rg_dump_src", P + "app")
    ck(one(src_app, "SELECT rowguard.verify(%s) ->> 'sub'", (minted_after,)) == "auditor",
       f"{label}: a token signed in the restored database verifies in the source database")
    src_app.close()

    src.close()
    dst.close()
    for db in ("rg_dump_src", "rg_dump_dst"):
        su.execute(f"DROP DATABASE {db}")
    su.execute(f"DROP ROLE IF EXISTS {P}bound")
    drop_roles(su, P)
    su.close()


run(None)       # the current version, dumped and restored
run("0.1.0")    # a dump of a 0.1.0 database restored where the default is the current version
print(f"dump_restore: {ck.count} checks passed")
PYEOF
echo "dump_restore: PASS in $((SECONDS - START))s"
