#!/usr/bin/env bash
# Build the Debian package postgresql-N-rowguard from this tree (debian/, pg_buildext) and
# install it into a CLEAN Debian root that has nothing but Debian's postgresql-N: the
# package's own Depends must bring everything else (libsimdjson, libssl). Inside that root
# a cluster is started as `postgres`, and CREATE EXTENSION rowguard, the upgrade from the
# shipped 0.1.0 script, and the demo (test/demo/demo.sql) must work.
#
# The clean root is made once with debootstrap (minbase) + postgresql-N, cached under
# $ROWGUARD_ROOTS (default /var/cache/rowguard/roots/clean-<release>-pg<N>), and used
# through an overlay mount so every run starts from the same clean state. The archive
# address is read from the host's apt configuration.
#
# Environment (defaults: the host's Debian release and PostgreSQL major):
#   ROWGUARD_PKG_RELEASE   Debian release of the clean root (bookworm, trixie, forky, sid)
#   ROWGUARD_PKG_PG        PostgreSQL major to package and test (15, 17, 18, 19)
#   ROWGUARD_PKG_SCRIPT    debootstrap script when it differs from the release (forky: sid)
#   ROWGUARD_PKG_APT_TARGET  apt target release for postgresql-N (19: experimental; the
#                          root then gets an experimental source line)
#   ROWGUARD_PKG_DEB       an already built postgresql-N-rowguard .deb (e.g. built in the
#                          version matrix's build root); skips the build here
#   ROWGUARD_PKG_BUILD_ROOT  a Debian root with postgresql-server-dev-N and the build
#                          dependencies in which to build the .deb (when the host's
#                          PostgreSQL is not N)
#   ROWGUARD_ROOTS         cache directory of clean roots
#   ROWGUARD_PKG_KEEP=1    keep the work directory (build logs, the .deb) for inspection
# Exits non-zero on failure; the last line is "package: PASS ..." or "package: FAIL ...".
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
START=$SECONDS

HOST_RELEASE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
RELEASE=${ROWGUARD_PKG_RELEASE:-${HOST_RELEASE:-bookworm}}
HOST_PG=$( (pg_config --version 2>/dev/null || /usr/lib/postgresql/15/bin/pg_config --version) |
  sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
PG=${ROWGUARD_PKG_PG:-$HOST_PG}
SCRIPT=${ROWGUARD_PKG_SCRIPT:-}
APT_TARGET=${ROWGUARD_PKG_APT_TARGET:-}
ROOTS=${ROWGUARD_ROOTS:-/var/cache/rowguard/roots}
CLEAN=$ROOTS/clean-$RELEASE-pg$PG
VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" rowguard.control)
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o Dpkg::Options::=--force-confold -y -q
          --no-install-recommends)

fail() { echo "package: FAIL ($*) after $((SECONDS - START))s"; exit 1; }
step() { printf '\n-- package: %s (%ss)\n' "$*" $((SECONDS - START)); }

[[ $(id -u) == 0 ]] || fail "must run as root (debootstrap, chroot, mount)"
for tool in debootstrap dpkg-buildpackage pg_buildext dh; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run scripts/setup.sh"
done

# The archive this host installs from (deb822 sources first, then sources.list).
mirror() {
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  [[ -n "$uri" ]] ||
    uri=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit } $1 == "deb" { print $3; exit }' \
            /etc/apt/sources.list 2>/dev/null)
  [[ -n "$uri" ]] || return 1
  echo "${uri%%-security*}"
}

WORK=$(mktemp -d /tmp/rowguard-package.XXXXXX)
MERGED=$WORK/root
cleanup() {
  local rc=$? pid
  set +e
  if mountpoint -q "$MERGED" 2>/dev/null; then
    # Stop the server, then anything else still running inside the root (ours only).
    chroot "$MERGED" runuser -u postgres -- /usr/lib/postgresql/"$PG"/bin/pg_ctl \
      -D /tmp/rg-data -m immediate -w stop >/dev/null 2>&1
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
      [[ "$(readlink "/proc/$pid/root" 2>/dev/null)" == "$MERGED" ]] && kill -9 "$pid" 2>/dev/null
    done
    umount "$MERGED/proc" 2>/dev/null
    umount "$MERGED/dev" 2>/dev/null
    umount "$MERGED" 2>/dev/null || umount -l "$MERGED"
  fi
  if [[ "${ROWGUARD_PKG_KEEP:-0}" == 1 ]]; then
    echo "package: work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. the .deb -------------------------------------------------------------------------
# The build runs on a copy of the tree (tracked and untracked, not ignored, files), so
# dpkg-buildpackage writes neither into the checkout nor into its parent directory.
copy_tree() { # copy_tree DEST
  mkdir -p "$1"
  git -C "$ROOT" ls-files -co --exclude-standard -z |
    (cd "$ROOT" && xargs -0 cp --parents -t "$1" 2>/dev/null) ||
    fail "could not copy the source tree"
}

build_deb() { # build_deb: in $WORK/build (or in ROWGUARD_PKG_BUILD_ROOT); sets DEB
  local broot=${ROWGUARD_PKG_BUILD_ROOT:-} src rel
  if [[ -z "$broot" ]]; then
    [[ "$PG" == "$HOST_PG" ]] ||
      fail "the host has PostgreSQL $HOST_PG: set ROWGUARD_PKG_BUILD_ROOT or ROWGUARD_PKG_DEB for $PG"
    src=$WORK/build/rowguard-$VERSION
    copy_tree "$src"
    (cd "$src" && pg_buildext updatecontrol &&
      DEB_BUILD_OPTIONS="parallel=${ROWGUARD_JOBS:-2} nocheck" \
        dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1 ||
      { tail -n 40 "$WORK/build.log"; fail "dpkg-buildpackage failed (log above)"; }
  else
    rel=/tmp/rowguard-package-build.$$
    src=$broot$rel/rowguard-$VERSION
    rm -rf "$broot$rel"
    copy_tree "$src"
    mountpoint -q "$broot/proc" || mount -t proc proc "$broot/proc"
    (chroot "$broot" sh -c "cd $rel/rowguard-$VERSION && pg_buildext updatecontrol &&
       DEB_BUILD_OPTIONS='parallel=${ROWGUARD_JOBS:-2} nocheck' dpkg-buildpackage -us -uc -b") \
      >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log"; rm -rf "${broot:?}$rel";
                                   fail "dpkg-buildpackage in $broot failed (log above)"; }
    mkdir -p "$WORK/build"
    cp "$broot$rel"/postgresql-"$PG"-rowguard_"$VERSION"_*.deb "$WORK/build/"
    rm -rf "${broot:?}$rel"
  fi
  DEB=$(ls "$WORK"/build/postgresql-"$PG"-rowguard_"$VERSION"_*.deb 2>/dev/null | head -n1)
}

if [[ -n "${ROWGUARD_PKG_DEB:-}" ]]; then
  DEB=$ROWGUARD_PKG_DEB
  step "using $DEB"
else
  step "dpkg-buildpackage -us -uc -b for PostgreSQL $PG"
  t0=$SECONDS
  build_deb
  echo "built $(basename "$DEB") in $((SECONDS - t0))s"
fi
[[ -f "$DEB" ]] || fail "no package file $DEB"

# What the package holds and needs: the module, the control file, the frozen 0.1.0
# script, the full script of the default version and the upgrade script between them.
contents=$(dpkg-deb -c "$DEB" | awk '{print $NF}')
for f in ./usr/lib/postgresql/$PG/lib/rowguard.so \
         ./usr/share/postgresql/$PG/extension/rowguard.control \
         ./usr/share/postgresql/$PG/extension/rowguard--0.1.0.sql \
         ./usr/share/postgresql/$PG/extension/rowguard--$VERSION.sql \
         ./usr/share/postgresql/$PG/extension/rowguard--0.1.0--$VERSION.sql; do
  grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
depends=$(dpkg-deb -f "$DEB" Depends)
echo "Depends: $depends"
grep -qE "(^|, )postgresql-$PG( |,|$)" <<<"$depends" || fail "Depends does not name postgresql-$PG"
grep -q libsimdjson <<<"$depends" || fail "Depends does not name libsimdjson (shlibs)"

# --- 2. the clean root (cached) ----------------------------------------------------------
make_clean_root() {
  local tmp=$CLEAN.tmp url
  url=$(mirror) || fail "no archive address in the host's apt configuration"
  rm -rf "$tmp"
  mkdir -p "$ROOTS"
  echo "debootstrap --variant=minbase $RELEASE from the host's archive ${SCRIPT:+(script $SCRIPT)}"
  debootstrap --variant=minbase "$RELEASE" "$tmp" "$url" ${SCRIPT:+"/usr/share/debootstrap/scripts/$SCRIPT"} \
    >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/debootstrap.log"; rm -rf "$tmp"; fail "debootstrap $RELEASE failed"; }
  # The host's own release gets the host's apt sources (its -updates and -security too):
  # pg_buildext makes the package depend on the server's minor version it was built with.
  if [[ "$RELEASE" == "$HOST_RELEASE" ]] && compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    cp /etc/apt/sources.list.d/*.sources "$tmp/etc/apt/sources.list.d/"
    rm -f "$tmp/etc/apt/sources.list"
  fi
  if [[ "$APT_TARGET" == experimental ]]; then
    echo "deb $url experimental main" > "$tmp/etc/apt/sources.list.d/experimental.list"
  fi
  # No service is started inside the root while packages install.
  printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
  chmod 0755 "$tmp/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
  mount -t proc proc "$tmp/proc"
  if ! chroot "$tmp" env DEBIAN_FRONTEND=noninteractive sh -c "
        apt-get -q -o Acquire::Check-Valid-Until=false update &&
        apt-get ${APT_OPTS[*]} ${APT_TARGET:+-t $APT_TARGET} install postgresql-$PG" \
        >"$WORK/root-apt.log" 2>&1; then
    umount "$tmp/proc"
    tail -n 30 "$WORK/root-apt.log"
    rm -rf "$tmp"
    fail "installing postgresql-$PG into the $RELEASE root failed"
  fi
  umount "$tmp/proc"
  chroot "$tmp" apt-get clean
  date -u +%FT%TZ > "$tmp/.rowguard-clean-root"
  mv "$tmp" "$CLEAN"
}

step "clean $RELEASE root with postgresql-$PG ($CLEAN)"
mkdir -p "$ROOTS"
exec 9>"$ROOTS/.clean-$RELEASE-pg$PG.lock"
flock 9
if [[ ! -f "$CLEAN/.rowguard-clean-root" ]]; then
  t0=$SECONDS
  make_clean_root
  echo "made the clean root in $((SECONDS - t0))s"
else
  echo "cached since $(cat "$CLEAN/.rowguard-clean-root")"
fi
flock -u 9

# Every run writes into an overlay; the cached root stays clean.
mkdir -p "$WORK/upper" "$WORK/ovl-work" "$MERGED"
mount -t overlay overlay \
  -o "lowerdir=$CLEAN,upperdir=$WORK/upper,workdir=$WORK/ovl-work" "$MERGED" ||
  fail "overlay mount failed"
mount -t proc proc "$MERGED/proc"
mount --bind /dev "$MERGED/dev"
cp /etc/resolv.conf "$MERGED/etc/resolv.conf" 2>/dev/null || true
in_root() { chroot "$MERGED" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# --- 3. install the .deb with apt (its Depends come from the archive) ---------------------
step "apt-get install ./$(basename "$DEB") in the clean root"
cp "$DEB" "$MERGED/tmp/"
install_deb() {
  in_root env DEBIAN_FRONTEND=noninteractive \
    apt-get "${APT_OPTS[@]}" ${APT_TARGET:+-t "$APT_TARGET"} install "/tmp/$(basename "$DEB")"
}
if ! install_deb >"$WORK/install.log" 2>&1; then
  # The cached package lists may be out of date: refresh them once.
  in_root apt-get -q -o Acquire::Check-Valid-Until=false update >>"$WORK/install.log" 2>&1
  install_deb >>"$WORK/install.log" 2>&1 || { tail -n 30 "$WORK/install.log"; fail "apt-get install of the .deb failed"; }
fi
grep -E '^(Unpacking|Setting up) ' "$WORK/install.log" | sed 's/^/  /'
in_root dpkg-query -W "postgresql-$PG-rowguard" || fail "postgresql-$PG-rowguard is not installed"

# --- 4. a cluster inside the root; CREATE EXTENSION, upgrade, demo -------------------------
step "cluster in the root; CREATE EXTENSION rowguard; the demo"
BIN=/usr/lib/postgresql/$PG/bin
in_root install -d -o postgres -g postgres /tmp/rg-sock
in_root runuser -u postgres -- "$BIN/initdb" -D /tmp/rg-data -U postgres --auth=trust \
  -E UTF8 --locale=C --no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; fail "initdb"; }
# Only a unix socket inside the root: the root shares the host's network.
in_root runuser -u postgres -- "$BIN/pg_ctl" -D /tmp/rg-data -l /tmp/rg-data/server.log -w -t 60 \
  -o "-c listen_addresses='' -c unix_socket_directories=/tmp/rg-sock -c port=5432 -c fsync=off" \
  start >/dev/null || { tail -n 30 "$MERGED/tmp/rg-data/server.log"; fail "server did not start"; }
rpsql() { in_root "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h /tmp/rg-sock -p 5432 -U postgres "$@"; }

got=$(rpsql -d postgres -At -c "CREATE EXTENSION rowguard" \
        -c "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'") ||
  fail "CREATE EXTENSION rowguard"
[[ "$got" == "$VERSION" ]] || fail "CREATE EXTENSION installed '$got', expected $VERSION"
echo "CREATE EXTENSION rowguard: version $got"

# The packaged 0.1.0 script and upgrade script: install the old version, update.
rpsql -d postgres -c "CREATE DATABASE rg_upgrade" >/dev/null
got=$(rpsql -d rg_upgrade -At -c "CREATE EXTENSION rowguard VERSION '0.1.0'" \
        -c "ALTER EXTENSION rowguard UPDATE" \
        -c "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'") ||
  fail "CREATE EXTENSION rowguard VERSION '0.1.0' + ALTER EXTENSION rowguard UPDATE"
[[ "$got" == "$VERSION" ]] || fail "after the update the version is '$got', expected $VERSION"
echo "CREATE EXTENSION rowguard VERSION '0.1.0'; ALTER EXTENSION rowguard UPDATE: version $got"

cp "$ROOT/test/demo/demo.sql" "$MERGED/tmp/demo.sql"
rpsql -d postgres -f /tmp/demo.sql >"$WORK/demo.out" 2>&1 ||
  { tail -n 30 "$WORK/demo.out"; fail "the demo failed"; }
# The demo's two tenants see their own halves of the 10000 orders, and no token sees none.
grep -Eq '^ alice +\| +5000 ' "$WORK/demo.out" || { cat "$WORK/demo.out"; fail "demo: alice's rows"; }
grep -Eq '^ bob +\| +5000 ' "$WORK/demo.out" || { cat "$WORK/demo.out"; fail "demo: bob's rows"; }
echo "demo: $(grep -c . "$WORK/demo.out") lines of output, tenant isolation as expected"

echo "package: PASS (postgresql-$PG-rowguard $VERSION in a clean $RELEASE root) in $((SECONDS - START))s"
