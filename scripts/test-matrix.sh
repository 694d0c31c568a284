#!/usr/bin/env bash
# The version matrix: build rowguard against other PostgreSQL majors and run the suites
# there, each in a throwaway Debian root made by scripts/pg-roots.sh (17 = trixie,
# 18 = forky, 19 = sid + experimental). scripts/test.sh calls it after the PostgreSQL 15
# suites; it can also run alone:
#
#   scripts/test-matrix.sh [VERSION ...]     (default: every version pg-roots.sh knows)
#
# For each version: build or refresh the root (cached between runs), lay a throwaway
# overlay over it (the cached root is never written to), copy this source tree in, build
# and install with that root's pg_config, start a cluster inside the root as its postgres
# user, run installcheck (pg_regress and isolation suites) and the integration scripts in
# MATRIX_INTEGRATION. Every process started in the root is stopped and every mount undone
# at the end, also on failure or interrupt.
#
# Prints one line per suite ("PASS  pg17/installcheck (95s)"), then "N passed, M failed",
# and exits non-zero when anything failed. A root that cannot be built (archive
# unreachable) is a failed suite, never a silent skip.
#
# Environment:
#   ROWGUARD_MATRIX_RESULTS  also append "STATUS NAME SECONDS" lines to this file
#                            (scripts/test.sh reads it to print one summary)
#   ROWGUARD_JOBS            build parallelism (default 2)
#   ROWGUARD_SUITE_TIMEOUT   seconds one integration script may take (default 3600, as in
#                            scripts/test.sh)
#   ROWGUARD_PORT_MIN        lowest port the clusters inside the roots use (default 54600)
#   ROWGUARD_MATRIX_KEEP=1   keep the overlay of a failed version for inspection
#   and those of scripts/pg-roots.sh (ROWGUARD_ROOTS_DIR, ROWGUARD_ROOTS_OFFLINE, ...).
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/pg-roots.sh
source "$SRC/scripts/pg-roots.sh"
# pg-roots.sh sets -e for itself; here a failing suite must be recorded and the matrix go
# on (with -e, the first failing integration script ended the run without a summary).
set +e

# Integration scripts (test/integration/NAME.sh) run in every root, in this order; a name
# whose script does not exist in this tree is left out with a note. NAME@N runs only on
# PostgreSQL N and later (oauth: the validator interface is new in 18); older roots say so.
MATRIX_INTEGRATION=(pgbouncer_load hostile_sql upgrade harden_owner startup_token oauth@18)

JOBS=${ROWGUARD_JOBS:-2}
TIMEOUT=${ROWGUARD_SUITE_TIMEOUT:-3600}
export ROWGUARD_PORT_MIN=${ROWGUARD_PORT_MIN:-54600}
WORK_BASE=/var/tmp/rowguard-matrix
START=$SECONDS

passed=0
failed=0
results=()
record() { # record NAME RC SECONDS
  local status=PASS
  [[ $2 == 0 ]] || status=FAIL
  if [[ $status == PASS ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  results+=("$status  $1 (${3}s)")
  [[ -n "${ROWGUARD_MATRIX_RESULTS:-}" ]] && echo "$status $1 $3" >> "$ROWGUARD_MATRIX_RESULTS"
  return 0
}
section() { printf '\n==== %s ====\n' "$*"; }

# --- one overlay at a time ---------------------------------------------------------------
WORK=""     # /var/tmp/rowguard-matrix/<pid>-pgN
MERGED=""   # its merged view, the chroot

overlay_up() { # overlay_up VERSION
  local lower
  lower=$(root_path "$1")
  WORK="$WORK_BASE/$$-pg$1"
  rm -rf --one-file-system "$WORK"
  mkdir -p "$WORK/upper" "$WORK/work" "$WORK/merged"
  MERGED="$WORK/merged"
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$WORK/upper,workdir=$WORK/work" \
    "$MERGED" || { MERGED=""; return 1; }
  root_mount "$MERGED"
}

overlay_down() {
  [[ -n "$WORK" ]] || return 0
  if [[ -n "$MERGED" ]]; then
    root_umount "$MERGED"   # stops every process whose root is the overlay
    while mountpoint -q "$MERGED" 2>/dev/null; do
      umount "$MERGED" 2>/dev/null || umount -l "$MERGED" || break
    done
  fi
  if [[ "${ROWGUARD_MATRIX_KEEP:-0}" == 1 && "${1:-0}" != 0 ]]; then
    echo "kept the upper layer of the failed root in $WORK/upper"
  else
    rm -rf --one-file-system "$WORK"
  fi
  WORK="" MERGED=""
}

cleanup() { overlay_down 1; }
trap cleanup EXIT
trap 'echo "test-matrix: interrupted" >&2; exit 130' INT TERM

# Copy the source tree (tracked and untracked files, not build output) into the overlay.
copy_source() {
  local dst="$MERGED/src/rowguard"
  mkdir -p "$dst"
  if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
      xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
      tar --null -T - -cf -) | tar -C "$dst" -xf -
  else
    (cd "$SRC" && tar --exclude='./build*' --exclude='*.o' --exclude='*.so' --exclude=./results \
      --exclude=./.git -cf - .) | tar -C "$dst" -xf -
  fi
}

# Run a command inside the overlay, in the copied source tree, with the root's PostgreSQL.
# It runs in the background and is waited for, so that an interrupt reaches the traps at
# once (bash runs a trap only after a foreground command ends); the cleanup then stops
# every process inside the root.
in_matrix() { # in_matrix VERSION command...
  local v=$1; shift
  chroot "$MERGED" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TZ=UTC \
    PATH="/usr/lib/postgresql/$v/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    PGBIN="/usr/lib/postgresql/$v/bin" ROWGUARD_ROOT=/src/rowguard \
    ROWGUARD_PORT_MIN="$ROWGUARD_PORT_MIN" ROWGUARD_OWNER_PID="$$" \
    ${PGHOST:+PGHOST="$PGHOST"} ${PGPORT:+PGPORT="$PGPORT"} PGUSER=postgres PGDATABASE=postgres \
    bash -c 'cd /src/rowguard && "$@"' bash "$@" &
  wait $!
}

# --- one version ------------------------------------------------------------------------
run_version() {
  local v=$1 t0 rc out port="" cluster_ok=0
  local pg="pg$v"

  section "$pg: root"
  t0=$SECONDS
  if ! out=$(bash "$SRC/scripts/pg-roots.sh" "$v"); then
    echo "$pg: no Debian root with PostgreSQL $v could be built or refreshed (see above)" >&2
    record "$pg/root" 1 $((SECONDS - t0))
    return
  fi
  echo "$out"
  record "$pg/root" 0 $((SECONDS - t0))

  section "$pg: build"
  t0=$SECONDS
  rc=0
  if overlay_up "$v" && copy_source; then
    # ROWGUARD_WERROR=1: a compiler warning in rowguard's code fails the build (Makefile.pgxs)
    in_matrix "$v" make -s -f Makefile.pgxs PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config" \
      -j "$JOBS" all ROWGUARD_WERROR=1 || rc=1
    ((rc)) || in_matrix "$v" make -f Makefile.pgxs \
      PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config" install >/dev/null || rc=1
  else
    echo "$pg: could not lay an overlay over the root" >&2; rc=1
  fi
  record "$pg/build" "$rc" $((SECONDS - t0))
  if ((rc)); then overlay_down 1; return; fi

  section "$pg: installcheck"
  t0=$SECONDS
  rc=0
  # The cluster lives in the root's /tmp; its port is claimed with pick_port as on the host.
  if port=$(in_matrix "$v" bash -c 'source scripts/pg-cluster.sh && pick_port "$ROWGUARD_PORT_MIN"') &&
     in_matrix "$v" bash -c "source scripts/pg-cluster.sh && start_cluster $port"; then
    cluster_ok=1
    export PGHOST="/tmp/rowguard-$port" PGPORT="$port"
    if ! in_matrix "$v" make -f Makefile.pgxs PG_CONFIG="/usr/lib/postgresql/$v/bin/pg_config" \
         installcheck; then
      rc=1
      [[ -f "$MERGED/src/rowguard/regression.diffs" ]] &&
        { echo "--- regression.diffs ---"; cat "$MERGED/src/rowguard/regression.diffs"; }
      [[ -f "$MERGED/src/rowguard/output_iso/regression.diffs" ]] &&
        { echo "--- output_iso/regression.diffs ---"; cat "$MERGED/src/rowguard/output_iso/regression.diffs"; }
      echo "--- last lines of the server log ---"
      tail -n 40 "$MERGED/tmp/rowguard-$port/data/server.log" 2>/dev/null
    fi
  else
    echo "$pg: could not start a cluster in the root" >&2; rc=1
  fi
  record "$pg/installcheck" "$rc" $((SECONDS - t0))

  local entry name min script src
  for entry in "${MATRIX_INTEGRATION[@]}"; do
    name=${entry%@*} min=0
    [[ "$entry" == *@* ]] && min=${entry#*@}
    if ((v < min)); then
      echo "$pg: test/integration/$name.sh needs PostgreSQL $min or later, not run"
      continue
    fi
    script="test/integration/$name.sh"
    if [[ ! -x "$SRC/$script" ]]; then
      echo "$pg: $script not in this tree, not run"
      continue
    fi
    section "$pg/integration/$name"
    t0=$SECONDS
    if ((cluster_ok)); then
      in_matrix "$v" timeout --kill-after=30 "$TIMEOUT" "./$script" </dev/null
      src=$?
      ((src == 124)) && echo "$pg/integration/$name: timed out after ${TIMEOUT}s" >&2
    else
      echo "$pg/integration/$name: not run, no cluster" >&2; src=1
    fi
    record "$pg/integration/$name" "$src" $((SECONDS - t0))
  done

  if ((cluster_ok)); then
    in_matrix "$v" bash -c "source scripts/pg-cluster.sh && stop_cluster $port" || true
  fi
  unset PGHOST PGPORT
  overlay_down "$failed"
}

main_matrix() {
  [[ $(id -u) -eq 0 ]] || { echo "test-matrix: must run as root (chroot, mount)" >&2; exit 1; }
  local -a want=("$@")
  ((${#want[@]})) || mapfile -t want < <(bash "$SRC/scripts/pg-roots.sh" --list)
  mkdir -p "$WORK_BASE"
  local v
  for v in "${want[@]}"; do run_version "$v"; done
  section "matrix summary ($((SECONDS - START))s)"
  printf '%s\n' "${results[@]}"
  echo "$passed passed, $failed failed"
  ((failed == 0))
}

main_matrix "$@"
