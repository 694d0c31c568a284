#!/usr/bin/env bash
# Build the Debian package postgresql-N-rowguard from this tree (debian/, pg_buildext) and
# install it into a CLEAN Debian root that has nothing but Debian's postgresql-N: the
# package's own Depends must bring everything else (libsimdjson, libssl). Inside that root
# a cluster is started as `postgres`, and CREATE EXTENSION rowguard, the upgrade from the
# shipped 0.1.0 script, and the demo (test/demo/demo.sql) must work.
#
# The clean root is made once with debootstrap (minbase) + postgresql-N, cached under
# $ROWGUARD_ROOTS (default /var/cache/rowguard/roots/clean-<release>-pg<N>), and used
# through overlay mounts so every run starts from the same clean state. The archive
# address is read from the host's apt configuration.
#
# The .deb is built on the host when the host has PostgreSQL N and the release is the
# host's; otherwise in a throwaway overlay of the clean root with the build dependencies
# installed there (downloads cached in $ROWGUARD_ROOTS/apt-<release>). It is installed
# into another overlay of the clean root, which never sees the build dependencies.
#
# Environment (defaults: the host's Debian release and PostgreSQL major):
#   ROWGUARD_PKG_RELEASE   Debian release of the clean root (bookworm, trixie, forky, sid)
#   ROWGUARD_PKG_PG        PostgreSQL major to package and test (15, 17, 18, 19)
#   ROWGUARD_PKG_SCRIPT    debootstrap script when it differs from the release (forky: sid)
#   ROWGUARD_PKG_APT_TARGET  an extra suite that postgresql-N comes from (19: experimental);
#                          the root gets its source line and a pin for the server only
#   ROWGUARD_PKG_DEB       an already built postgresql-N-rowguard .deb; skips the build
#   ROWGUARD_PKG_BUILD_ROOT  a Debian root with debhelper, dpkg-dev, postgresql-server-dev-N
#                          and the build dependencies, to build the .deb in
#   ROWGUARD_PKG_BUILD_IN_ROOT=1  build in the throwaway overlay even when the host could
#   ROWGUARD_ROOTS         cache directory of clean roots
#   ROWGUARD_PKG_KEEP=1    keep the work directory (build logs, the .deb) for inspection
# e.g. PostgreSQL 18 on forky: ROWGUARD_PKG_RELEASE=forky ROWGUARD_PKG_SCRIPT=sid ROWGUARD_PKG_PG=18
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
MOUNTS=()   # mount points of this run, unmounted in reverse order on exit
mount_at() { # mount_at MOUNTPOINT mount-args...
  local at=$1
  shift
  mount "$@" "$at" && MOUNTS+=("$at")
}
unmount_last() { umount "${MOUNTS[-1]}" && unset 'MOUNTS[-1]'; }
in_chroot() { # in_chroot ROOT command...: a clean environment inside ROOT
  local r=$1
  shift
  chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"
}
cleanup() {
  local rc=$? pid i
  set +e
  # Stop the server, then anything else still running inside a root of this run (ours).
  [[ -f "$MERGED/tmp/rg-data/postmaster.pid" ]] &&
    in_chroot "$MERGED" runuser -u postgres -- "/usr/lib/postgresql/$PG/bin/pg_ctl" \
      -D /tmp/rg-data -m immediate -w stop >/dev/null 2>&1
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    case "$(readlink "/proc/$pid/root" 2>/dev/null)" in
      "$WORK"/* | "$CLEAN.tmp") kill -9 "$pid" 2>/dev/null ;;
    esac
  done
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}"
  done
  if [[ "${ROWGUARD_PKG_KEEP:-0}" == 1 ]]; then
    echo "package: work directory kept: $WORK"
  elif grep -qF " $WORK/" /proc/mounts; then
    echo "package: something is still mounted under $WORK; not removing it" >&2
  else
    rm -rf --one-file-system "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. the clean root (made once, cached) ------------------------------------------------
make_clean_root() {
  local tmp=$CLEAN.tmp url
  url=$(mirror) || fail "no archive address in the host's apt configuration"
  rm -rf --one-file-system "$tmp"
  echo "debootstrap --variant=minbase $RELEASE from the host's archive ${SCRIPT:+(script $SCRIPT)}"
  debootstrap --variant=minbase "$RELEASE" "$tmp" "$url" \
    ${SCRIPT:+"/usr/share/debootstrap/scripts/$SCRIPT"} >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/debootstrap.log"; fail "debootstrap $RELEASE failed"; }
  # The host's own release gets the host's apt sources (its -updates and -security too):
  # pg_buildext makes the package depend on the server's minor version it was built with.
  if [[ "$RELEASE" == "$HOST_RELEASE" ]] && compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    cp /etc/apt/sources.list.d/*.sources "$tmp/etc/apt/sources.list.d/"
    rm -f "$tmp/etc/apt/sources.list"
  fi
  if [[ -n "$APT_TARGET" ]]; then
    # Only the server (and postgresql-common) come from the extra suite: pinned to the
    # main suite's priority, the newer version wins there and nowhere else.
    echo "deb $url $APT_TARGET main" > "$tmp/etc/apt/sources.list.d/$APT_TARGET.list"
    printf 'Package: src:postgresql-%s src:postgresql-common\nPin: release a=%s\nPin-Priority: 500\n' \
      "$PG" "$APT_TARGET" > "$tmp/etc/apt/preferences.d/rowguard"
  fi
  # No service is started inside the root while packages install.
  printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
  chmod 0755 "$tmp/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
  mount_at "$tmp/proc" -t proc proc
  in_chroot "$tmp" DEBIAN_FRONTEND=noninteractive sh -c "
      apt-get -q -o Acquire::Check-Valid-Until=false update &&
      apt-get ${APT_OPTS[*]} dist-upgrade &&
      apt-get ${APT_OPTS[*]} install postgresql-$PG &&
      apt-get clean" >"$WORK/root-apt.log" 2>&1 ||
    { tail -n 30 "$WORK/root-apt.log"; fail "installing postgresql-$PG into the $RELEASE root failed"; }
  unmount_last
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

overlay_root() { # overlay_root NAME: mount a writable overlay of the clean root at $WORK/NAME
  local at=$WORK/$1
  mkdir -p "$at" "$WORK/$1.upper" "$WORK/$1.work"
  mount_at "$at" -t overlay overlay \
    -o "lowerdir=$CLEAN,upperdir=$WORK/$1.upper,workdir=$WORK/$1.work" || fail "overlay mount failed"
  mount_at "$at/proc" -t proc proc
  mount_at "$at/dev" --bind /dev
  cp /etc/resolv.conf "$at/etc/resolv.conf" 2>/dev/null || true
}

# --- 2. the .deb ---------------------------------------------------------------------------
# The build runs on a copy of the tree (tracked and untracked, not ignored, files), so
# dpkg-buildpackage writes neither into the checkout nor into its parent directory.
copy_tree() { # copy_tree DEST
  mkdir -p "$1"
  git -C "$ROOT" ls-files -co --exclude-standard -z |
    (cd "$ROOT" && xargs -0 cp --parents -t "$1" 2>/dev/null) ||
    fail "could not copy the source tree"
}

# debian/control for this major, then the build. PG_SUPPORTED_VERSIONS makes pg_buildext
# build exactly for $PG, also where it is not the release's default (19 from experimental).
BUILD_CMD="pg_buildext updatecontrol &&
  DEB_BUILD_OPTIONS='parallel=${ROWGUARD_JOBS:-2} nocheck' dpkg-buildpackage -us -uc -b"

build_in_root() { # build_in_root ROOT [deps]: copy the tree into ROOT, build there, copy the .deb out
  local broot=$1 rel=/tmp/rowguard-package-build.$$
  copy_tree "$broot$rel/rowguard-$VERSION"
  if [[ "${2:-}" == deps ]]; then
    # The Build-Depends of debian/control (apt-get build-dep on the source directory)
    # and the server headers of this major.
    in_chroot "$broot" DEBIAN_FRONTEND=noninteractive sh -c "
        apt-get ${APT_OPTS[*]} build-dep $rel/rowguard-$VERSION &&
        apt-get ${APT_OPTS[*]} install build-essential postgresql-server-dev-$PG" \
      >"$WORK/build-deps.log" 2>&1 ||
      { tail -n 30 "$WORK/build-deps.log"; fail "build dependencies in the $RELEASE root"; }
  fi
  in_chroot "$broot" PG_SUPPORTED_VERSIONS="$PG" sh -c "cd $rel/rowguard-$VERSION && $BUILD_CMD" \
    >"$WORK/build.log" 2>&1 ||
    { tail -n 40 "$WORK/build.log"; fail "dpkg-buildpackage in $broot failed (log above)"; }
  mkdir -p "$WORK/build"
  cp "$broot$rel"/postgresql-"$PG"-rowguard_"$VERSION"_*.deb "$WORK/build/"
  rm -rf --one-file-system "${broot:?}$rel"
}

build_deb() { # sets DEB
  if [[ -n "${ROWGUARD_PKG_BUILD_ROOT:-}" ]]; then
    mountpoint -q "$ROWGUARD_PKG_BUILD_ROOT/proc" || mount_at "$ROWGUARD_PKG_BUILD_ROOT/proc" -t proc proc
    build_in_root "$ROWGUARD_PKG_BUILD_ROOT"
  elif [[ "$PG" == "$HOST_PG" && "$RELEASE" == "$HOST_RELEASE" &&
          "${ROWGUARD_PKG_BUILD_IN_ROOT:-0}" != 1 ]]; then
    copy_tree "$WORK/build/rowguard-$VERSION"
    (cd "$WORK/build/rowguard-$VERSION" && PG_SUPPORTED_VERSIONS=$PG sh -c "$BUILD_CMD") \
      >"$WORK/build.log" 2>&1 ||
      { tail -n 40 "$WORK/build.log"; fail "dpkg-buildpackage failed (log above)"; }
  else
    # A throwaway build root: the clean root plus the build dependencies.
    local archives=$ROOTS/apt-$RELEASE
    mkdir -p "$archives/partial"
    overlay_root build-root
    mount_at "$WORK/build-root/var/cache/apt/archives" --bind "$archives"
    build_in_root "$WORK/build-root" deps
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

# What the package holds and needs: the module and the fetch module, the control file,
# the frozen 0.1.0 script, the full script of the default version and the upgrade scripts
# 0.1.0 -> 0.2.0 -> default version.
contents=$(dpkg-deb -c "$DEB" | awk '{print $NF}')
for f in ./usr/lib/postgresql/$PG/lib/rowguard.so \
         ./usr/lib/postgresql/$PG/lib/rowguard_fetch.so \
         ./usr/share/postgresql/$PG/extension/rowguard.control \
         ./usr/share/postgresql/$PG/extension/rowguard--0.1.0.sql \
         ./usr/share/postgresql/$PG/extension/rowguard--$VERSION.sql \
         ./usr/share/postgresql/$PG/extension/rowguard--0.1.0--0.2.0.sql \
         ./usr/share/postgresql/$PG/extension/rowguard--0.2.0--$VERSION.sql; do
  grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
# The OAuth validator module (docs/oauth.md) exists only for PostgreSQL 18 and later.
if ((PG >= 18)); then
  grep -qxF "./usr/lib/postgresql/$PG/lib/rowguard_oauth.so" <<<"$contents" ||
    fail "the package lacks rowguard_oauth.so (PostgreSQL $PG)"
else
  grep -q "rowguard_oauth.so" <<<"$contents" && fail "the package has rowguard_oauth.so for PostgreSQL $PG"
fi
depends=$(dpkg-deb -f "$DEB" Depends)
echo "Depends: $depends"
grep -qE "(^|, )postgresql-$PG( |,|$)" <<<"$depends" || fail "Depends does not name postgresql-$PG"
grep -q libsimdjson <<<"$depends" || fail "Depends does not name libsimdjson (shlibs)"
grep -q libcurl <<<"$depends" || fail "Depends does not name libcurl (shlibs of rowguard_fetch.so)"

# --- 3. install the .deb with apt into a clean overlay (Depends come from the archive) ----
step "apt-get install ./$(basename "$DEB") in the clean root"
overlay_root root
cp "$DEB" "$MERGED/tmp/"
install_deb() {
  in_chroot "$MERGED" DEBIAN_FRONTEND=noninteractive \
    apt-get "${APT_OPTS[@]}" install "/tmp/$(basename "$DEB")"
}
if ! install_deb >"$WORK/install.log" 2>&1; then
  # The cached package lists may be out of date: refresh them once.
  in_chroot "$MERGED" apt-get -q -o Acquire::Check-Valid-Until=false update >>"$WORK/install.log" 2>&1
  install_deb >>"$WORK/install.log" 2>&1 ||
    { tail -n 30 "$WORK/install.log"; fail "apt-get install of the .deb failed"; }
fi
grep -E '^(Unpacking|Setting up) ' "$WORK/install.log" | sed 's/^/  /'
in_chroot "$MERGED" dpkg-query -W "postgresql-$PG-rowguard" || fail "postgresql-$PG-rowguard is not installed"

# --- 4. a cluster inside the root; CREATE EXTENSION, upgrade, demo -------------------------
step "cluster in the root; CREATE EXTENSION rowguard; the demo"
BIN=/usr/lib/postgresql/$PG/bin
in_chroot "$MERGED" install -d -o postgres -g postgres /tmp/rg-sock
in_chroot "$MERGED" runuser -u postgres -- "$BIN/initdb" -D /tmp/rg-data -U postgres --auth=trust \
  -E UTF8 --locale=C --no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; fail "initdb"; }
# Only a unix socket inside the root: the root shares the host's network.
in_chroot "$MERGED" runuser -u postgres -- "$BIN/pg_ctl" -D /tmp/rg-data -l /tmp/rg-data/server.log \
  -w -t 60 -o "-c listen_addresses='' -c unix_socket_directories=/tmp/rg-sock -c fsync=off" \
  start >/dev/null || { tail -n 30 "$MERGED/tmp/rg-data/server.log"; fail "server did not start"; }
rpsql() { in_chroot "$MERGED" "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h /tmp/rg-sock -U postgres "$@"; }

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
# Each of the demo's two tenants sees its own half of the 10000 orders; no token, none.
grep -Eq '^ alice +\| +5000 ' "$WORK/demo.out" || { cat "$WORK/demo.out"; fail "demo: alice's rows"; }
grep -Eq '^ bob +\| +5000 ' "$WORK/demo.out" || { cat "$WORK/demo.out"; fail "demo: bob's rows"; }
[[ "$(grep -A2 '^ rows_without_a_token' "$WORK/demo.out" | tail -n1 | tr -d ' ')" == 0 ]] ||
  { cat "$WORK/demo.out"; fail "demo: rows without a token"; }
echo "demo: $(grep -c . "$WORK/demo.out") lines of output, tenant isolation as expected"

# The fetch module loads in the clean root (its libcurl comes from the package's Depends):
# a fetch from a closed port fails to connect (08001), not to load the module (58P01).
got=$(rpsql -d postgres -At -c "DO \$\$ BEGIN PERFORM rowguard._https_get_json('https://127.0.0.1:1/');
  EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'sqlstate %: %', SQLSTATE, SQLERRM; END \$\$" 2>&1)
grep -q 'sqlstate 08001' <<<"$got" || fail "a fetch through rowguard_fetch.so: $got"
echo "rowguard_fetch.so: loaded on the first fetch ($got)"

echo "package: PASS (postgresql-$PG-rowguard $VERSION in a clean $RELEASE root) in $((SECONDS - START))s"
