#!/usr/bin/python3
"""Concurrent clients for test/integration/pgbouncer_load.sh.

Each client is a thread with its own connection through PgBouncer (transaction pooling),
bound to one tenant. It runs a seeded random mix of transactions; every transaction checks
what it sees: the rows of its own tenant only, with the right count, and the identity it
authenticated - or, unauthenticated, no row and no identity. Tokens are sent as bind
parameters (psycopg 3: extended protocol, unnamed statements, prepare_threshold=None so
nothing is prepared by name, which transaction pooling would break).

Zero tolerance: any wrong row, count or identity, and any unexpected error, is a failure;
the program prints the figures and exits 1 when there was one.

Usage: load_client.py --dsn DSN --admin-dsn DSN [--clients N] [--transactions N] [--seed S]
  --dsn        PgBouncer, as the application role
  --admin-dsn  the server directly, as a superuser (reads the minted tokens once)
  --leak-control  a negative control that must fail (proves the checks see a leak)
"""

import argparse
import collections
import os
import random
import socket
import sys
import threading
import time

import psycopg
from psycopg import errors, sql

KINDS = [  # (kind, weight)
    ("commit", 40),            # BEGIN; authenticate($1); check; COMMIT
    ("set_local", 8),          # BEGIN; SET LOCAL rowguard.token = '...'; check; COMMIT
    ("set_config_local", 8),   # BEGIN; set_config('rowguard.token', $1, true); check; COMMIT
    ("unauth_txn", 8),         # BEGIN; check unauthenticated; COMMIT
    ("unauth_autocommit", 6),  # check unauthenticated, no BEGIN
    ("rollback", 10),          # BEGIN; authenticate; INSERT own row; check +1; ROLLBACK
    ("aborted", 10),           # BEGIN; authenticate; check; error; ROLLBACK; check unauth
    ("savepoint", 5),          # authenticate; SAVEPOINT; forged token fails; ROLLBACK TO; check
    ("disconnect", 5),         # BEGIN; authenticate; check; drop the connection, no COMMIT
    ("bound", 6),              # BEGIN; authenticate(role-bound); current_user is the role; end
    ("denied", 3),             # BEGIN; authenticate(role not allowed) fails; role unchanged
    ("revoked", 3),            # BEGIN; authenticate(revoked before the load) fails
    ("doomed", 5),             # authenticate a token the revoker revokes during the load
]
LIFECYCLE_KINDS = {"bound", "denied", "revoked", "doomed"}
BOUND_ROLE = "load_reader"
APP_ROLE = "app"


class Revocations:
    """When each doomed jti's revocation started and when it had committed (monotonic)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = {}
        self.committed = {}

    def state(self, jti):
        with self.lock:
            return self.started.get(jti), self.committed.get(jti)


def revoker(admin_dsn, jtis, revocations, interval, stop):
    with psycopg.connect(admin_dsn, autocommit=True) as a:
        for jti in jtis:
            if stop.wait(interval):
                return
            with revocations.lock:
                revocations.started[jti] = time.monotonic()
            a.execute("SELECT rowguard.revoke_token(%s)", [jti])
            with revocations.lock:
                revocations.committed[jti] = time.monotonic()

CHECK_SQL = """
SELECT rowguard.is_authenticated(), rowguard.sub(), rowguard.claim_uuid('tenant_id')::text,
       coalesce(array_agg(d.tenant_id::text), '{}'),
       (SELECT count(*) FROM public.docs WHERE tenant_id <> %s::uuid)
  FROM public.docs d
"""
UNAUTH_SQL = """
SELECT rowguard.is_authenticated(), rowguard.sub(), rowguard.claims() IS NULL,
       (SELECT count(*) FROM public.docs), current_user::text
"""


class Failure(Exception):
    pass


class Client(threading.Thread):
    def __init__(self, idx, args, tenant, tokens, forged, stats, lock, deadline, lifecycle=None,
                 revocations=None):
        super().__init__(name=f"client-{idx}", daemon=True)
        self.idx = idx
        self.args = args
        self.tenant = tenant  # dict: n, tenant_id, sub, rows
        self.tokens = tokens  # list of (kid, token) for this tenant
        self.forged = forged
        self.stats = stats
        self.lock = lock
        self.deadline = deadline
        self.lifecycle = lifecycle or {}  # kind -> token (bound, denied, revoked, doomed)
        self.revocations = revocations
        self.rng = random.Random(args.seed * 1000 + idx)
        self.conn = None
        self.counts = collections.Counter()
        self.failures = []
        self.connects = 0

    # -- helpers ---------------------------------------------------------------------------
    def connect(self):
        self.conn = psycopg.connect(self.args.dsn, autocommit=True, prepare_threshold=None,
                                    application_name=f"load-{self.idx}")
        self.connects += 1

    def fail(self, what):
        raise Failure(f"client {self.idx} (tenant {self.tenant['n']}): {what}")

    def check_own(self, extra_rows=0):
        t = self.tenant
        row = self.conn.execute(CHECK_SQL, [t["tenant_id"]]).fetchone()
        authed, sub, claim_tenant, tenants, others = row
        if not authed or sub != t["sub"] or claim_tenant != t["tenant_id"]:
            self.fail(f"identity {authed!r}/{sub!r}/{claim_tenant!r}, expected {t['sub']}")
        foreign = [x for x in tenants if x != t["tenant_id"]]
        if foreign or others != 0:
            self.fail(f"CROSS-TENANT ROWS: {len(foreign)} rows of {sorted(set(foreign))}, "
                      f"count(other tenants) = {others}")
        if len(tenants) != t["rows"] + extra_rows:
            self.fail(f"saw {len(tenants)} rows, expected {t['rows'] + extra_rows}")

    def check_unauth(self):
        authed, sub, no_claims, n, user = self.conn.execute(UNAUTH_SQL).fetchone()
        if authed or sub is not None or not no_claims or n != 0:
            self.fail(f"LEAKED IDENTITY while unauthenticated: is_authenticated={authed!r} "
                      f"sub={sub!r} claims_null={no_claims!r} rows={n}")
        if user != APP_ROLE:
            self.fail(f"WRONG ROLE while unauthenticated: current_user={user!r}")

    def check_role(self, expected):
        user = self.conn.execute("SELECT current_user::text").fetchone()[0]
        if user != expected:
            self.fail(f"WRONG ROLE: current_user={user!r}, expected {expected!r}")

    def token(self):
        return self.rng.choice(self.tokens)[1]

    def expect_error(self, stmt, params, sqlstate):
        try:
            self.conn.execute(stmt, params)
        except psycopg.Error as e:
            if e.sqlstate != sqlstate:
                self.fail(f"{stmt!r}: SQLSTATE {e.sqlstate}, expected {sqlstate}: {e}")
            return
        self.fail(f"{stmt!r} succeeded, expected SQLSTATE {sqlstate}")

    # -- transaction kinds -----------------------------------------------------------------
    def run_kind(self, kind):
        c = self.conn
        tok = self.token()
        if kind == "commit":
            c.execute("BEGIN")
            claims = c.execute("SELECT rowguard.authenticate(%s)", [tok]).fetchone()[0]
            if claims.get("tenant_id") != self.tenant["tenant_id"]:
                self.fail(f"authenticate returned claims of {claims.get('tenant_id')}")
            self.check_own()
            c.execute("COMMIT")
        elif kind == "set_local":
            c.execute("BEGIN")
            c.execute(sql.SQL("SET LOCAL rowguard.token = {}").format(sql.Literal(tok)))
            self.check_own()
            c.execute("COMMIT")
        elif kind == "set_config_local":
            c.execute("BEGIN")
            c.execute("SELECT set_config('rowguard.token', %s, true)", [tok])
            self.check_own()
            c.execute("COMMIT")
        elif kind == "unauth_txn":
            c.execute("BEGIN")
            self.check_unauth()
            c.execute("COMMIT")
        elif kind == "unauth_autocommit":
            self.check_unauth()
        elif kind == "rollback":
            c.execute("BEGIN")
            c.execute("SELECT rowguard.authenticate(%s)", [tok])
            c.execute("INSERT INTO public.docs (tenant_id, body) VALUES (%s, 'rolled back')",
                      [self.tenant["tenant_id"]])
            self.check_own(extra_rows=1)
            c.execute("ROLLBACK")
        elif kind == "aborted":
            c.execute("BEGIN")
            c.execute("SELECT rowguard.authenticate(%s)", [tok])
            self.check_own()
            variant = self.rng.randrange(3)
            if variant == 0:  # write into another tenant: the WITH CHECK refuses it
                self.expect_error("INSERT INTO public.docs (tenant_id, body) VALUES (%s, 'x')",
                                  [self.args.foreign_tenant], "42501")
            elif variant == 1:
                self.expect_error("SELECT 1 / 0", [], "22012")
            else:  # a forged token after a good one
                self.expect_error("SELECT rowguard.authenticate(%s)", [self.forged], "28000")
            self.counts[f"aborted_{['rls_insert', 'div0', 'forged'][variant]}"] += 1
            c.execute("ROLLBACK")
            self.check_unauth()
        elif kind == "savepoint":
            c.execute("BEGIN")
            c.execute("SELECT rowguard.authenticate(%s)", [tok])
            c.execute("SAVEPOINT s")
            self.expect_error("SELECT rowguard.authenticate(%s)", [self.forged], "28000")
            c.execute("ROLLBACK TO SAVEPOINT s")
            self.check_own()
            c.execute("COMMIT")
        elif kind == "bound":
            c.execute("BEGIN")
            c.execute("SELECT rowguard.authenticate(%s)", [self.lifecycle["bound"]])
            self.check_role(BOUND_ROLE)
            self.check_own()
            c.execute("COMMIT" if self.rng.randrange(2) else "ROLLBACK")
            self.check_role(APP_ROLE)
        elif kind == "denied":
            c.execute("BEGIN")
            self.expect_error("SELECT rowguard.authenticate(%s)", [self.lifecycle["denied"]], "28000")
            c.execute("ROLLBACK")
            self.check_unauth()
        elif kind == "revoked":
            c.execute("BEGIN")
            self.expect_error("SELECT rowguard.authenticate(%s)", [self.lifecycle["revoked"]],
                              "28000")
            c.execute("ROLLBACK")
        elif kind == "doomed":
            jti = f"{self.tenant['n']}-doomed"
            _, committed_before = self.revocations.state(jti)
            t0 = time.monotonic()
            c.execute("BEGIN")
            try:
                c.execute("SELECT rowguard.authenticate(%s)", [self.lifecycle["doomed"]])
                self.check_own()
                c.execute("COMMIT")
                if committed_before is not None:
                    self.fail(f"SERVED UNDER A REVOKED TOKEN: {jti} revoked "
                              f"{t0 - committed_before:.3f} s before this transaction began")
                self.counts["doomed_served"] += 1
            except psycopg.Error as e:
                c.execute("ROLLBACK")
                started, _ = self.revocations.state(jti)
                if e.sqlstate != "28000" or started is None:
                    self.fail(f"doomed token {jti} refused before its revocation: "
                              f"{e.sqlstate} {e}")
                self.counts["doomed_refused"] += 1
        elif kind == "session_leak":  # negative control only: a session identity
            c.execute("BEGIN")
            c.execute("SELECT rowguard.authenticate(%s, false)", [tok])
            self.check_own()
            c.execute("COMMIT")
        elif kind == "disconnect":
            c.execute("BEGIN")
            c.execute("SELECT rowguard.authenticate(%s)", [tok])
            self.check_own()
            if self.rng.randrange(2):  # abrupt: shut the socket down, no Terminate message
                s = socket.socket(fileno=os.dup(c.pgconn.socket))
                try:
                    s.shutdown(socket.SHUT_RDWR)
                finally:
                    s.close()
                self.counts["disconnect_abrupt"] += 1
            else:
                self.counts["disconnect_close"] += 1
            try:
                c.close()
            except Exception:
                pass
            self.connect()
            self.check_unauth()  # the first statement on the new connection
        else:
            raise AssertionError(kind)

    def run(self):
        kinds = [k for k, _ in KINDS if k not in LIFECYCLE_KINDS or self.lifecycle]
        weights = [w for k, w in KINDS if k not in LIFECYCLE_KINDS or self.lifecycle]
        if self.args.leak_control:
            kinds.append("session_leak")
            weights.append(10)
        try:
            self.connect()
        except Exception as e:
            self.failures.append(f"client {self.idx}: cannot connect: {e}")
            return
        for _ in range(self.args.transactions):
            if time.monotonic() > self.deadline:
                self.failures.append(f"client {self.idx}: deadline reached")
                break
            kind = self.rng.choices(kinds, weights)[0]
            try:
                self.run_kind(kind)
                self.counts[kind] += 1
            except Failure as e:
                self.failures.append(f"{kind}: {e}")
                self.recover()
            except Exception as e:
                self.failures.append(f"{kind}: client {self.idx}: unexpected "
                                     f"{type(e).__name__}: {getattr(e, 'sqlstate', '')} {e}")
                self.recover()
            if len(self.failures) > 20:
                break
        try:
            self.conn.close()
        except Exception:
            pass

    def recover(self):
        try:
            self.conn.close()
        except Exception:
            pass
        try:
            self.connect()
        except Exception as e:
            self.failures.append(f"client {self.idx}: cannot reconnect: {e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--admin-dsn", required=True)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--transactions", type=int, default=400, help="per client")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--deadline", type=float, default=600, help="seconds")
    ap.add_argument("--revoke-interval", type=float, default=0.3,
                    help="seconds between revocations of the doomed tokens during the load")
    ap.add_argument("--leak-control", action="store_true",
                    help="negative control: mix in session-scope authenticate(tok, false), "
                         "which transaction pooling leaks to other clients; must fail")
    args = ap.parse_args()

    with psycopg.connect(args.admin_dsn, autocommit=True) as a:
        tenants = {}
        for n, tid, sub, rows in a.execute(
                "SELECT n, tenant_id::text, sub, rows FROM public.load_tenants "
                "WHERE active ORDER BY n"):
            tenants[n] = {"n": n, "tenant_id": tid, "sub": sub, "rows": rows, "tokens": []}
        for n, kid, tok in a.execute("SELECT n, kid, token FROM public.load_tokens ORDER BY n, kid, j"):
            if n in tenants:
                tenants[n]["tokens"].append((kid, tok))
        args.foreign_tenant = a.execute(
            "SELECT tenant_id::text FROM public.load_tenants WHERE NOT active LIMIT 1").fetchone()[0]
        forged = a.execute("SELECT token FROM public.load_forged").fetchone()[0]
        lifecycle = collections.defaultdict(dict)
        for n, kind, tok in a.execute(
                "SELECT n, kind, token FROM public.load_lifecycle_tokens ORDER BY n, kind"):
            lifecycle[n][kind] = tok
        # Doomed tokens an earlier run already revoked count as revoked from the start.
        already = {j for (j,) in a.execute(
            "SELECT jti FROM rowguard.revocations WHERE jti LIKE '%-doomed'")}
    order = sorted(tenants)
    if not order or any(not tenants[n]["tokens"] for n in order):
        print("load_client: no tenants or tokens", file=sys.stderr)
        return 2

    lock = threading.Lock()
    deadline = time.monotonic() + args.deadline
    revocations = Revocations()
    for jti in already:
        revocations.started[jti] = revocations.committed[jti] = 0.0
    clients = [Client(i, args, tenants[order[i % len(order)]],
                      tenants[order[i % len(order)]]["tokens"], forged, None, lock, deadline,
                      lifecycle.get(order[i % len(order)]), revocations)
               for i in range(args.clients)]
    # One doomed token per tenant in use is revoked while the load runs, spread over
    # about half of a typical run (one every args.revoke_interval seconds).
    stop = threading.Event()
    doomed = [f"{n}-doomed" for n in order
              if "doomed" in lifecycle.get(n, {}) and f"{n}-doomed" not in already]
    rthread = threading.Thread(target=revoker, daemon=True,
                               args=(args.admin_dsn, doomed, revocations, args.revoke_interval,
                                     stop))
    t0 = time.monotonic()
    rthread.start()
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    stop.set()
    rthread.join()
    elapsed = time.monotonic() - t0

    counts = collections.Counter()
    failures = []
    connects = 0
    for c in clients:
        counts.update(c.counts)
        failures.extend(c.failures)
        connects += c.connects
    main_kinds = [k for k, _ in KINDS] + (["session_leak"] if args.leak_control else [])
    total = sum(counts[k] for k in main_kinds)
    print(f"clients: {args.clients} (tenants in use: {len(order)}), seed {args.seed}")
    print(f"transactions: {total} in {elapsed:.1f} s ({total / elapsed:.0f}/s), "
          f"client connections opened: {connects}")
    for k in main_kinds:
        print(f"  {k:<18} {counts[k]}")
    for k in sorted(set(counts) - set(main_kinds)):
        print(f"    {k:<16} {counts[k]}")
    with revocations.lock:
        print(f"revoked during the load: {len(revocations.committed)} of {len(doomed)} doomed tokens")
    print(f"failures: {len(failures)}")
    for f in failures[:50]:
        print(f"  FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
