#!/usr/bin/env bash
# Throwaway Debian roots with other PostgreSQL majors, for the version matrix
# (scripts/test-matrix.sh). One root per major:
#
#   pg17  Debian trixie                       postgresql-17
#   pg18  Debian forky (debootstrap's sid script)   postgresql-18
#   pg19  Debian sid + experimental           postgresql-19 (19~rc1 until the final
#                                             release reaches the archive)
#
# Usage: scripts/pg-roots.sh [--list] [VERSION ...]   (default: every version above)
#   Builds a root that is missing or broken, refreshes a healthy one with apt (so a new
#   point release, or the final 19.x replacing 19~rc1, is picked up without a code change)
#   and prints "root pgN: <path> (PostgreSQL x.y, built|refreshed in Ns)".
#   --list prints the versions this script knows and exits.
#
# The package archive is read from this machine's own apt configuration
# (/etc/apt/sources.list.d/*.sources or /etc/apt/sources.list); set ROWGUARD_DEBIAN_MIRROR
# to override it. No host name is written into the repository.
#
# Environment:
#   ROWGUARD_ROOTS_DIR      where roots are cached (default /var/cache/rowguard/roots)
#   ROWGUARD_ROOTS_OFFLINE=1  use a healthy cached root as it is, no apt refresh
#   ROWGUARD_ROOTS_FRESH    seconds a root counts as fresh after its last build or refresh
#                           (no apt refresh then, unless the package set below changed;
#                           default 3600)
#   ROWGUARD_DEBIAN_MIRROR  archive URL to use instead of the host's
#
# Roots are built into NAME.new and renamed when complete, so an interrupted build never
# leaves a root that looks healthy. A root is healthy when its marker file exists and its
# PostgreSQL server binary runs. Building takes a lock per root (flock), so concurrent
# runs on one machine wait for each other instead of building twice.
set -euo pipefail

ROOTS_DIR=${ROWGUARD_ROOTS_DIR:-/var/cache/rowguard/roots}

# version -> Debian suite, debootstrap script, extra suite whose postgresql-N is wanted
declare -A SUITE=([17]=trixie [18]=forky [19]=sid)
declare -A SCRIPT=([17]=trixie [18]=sid [19]=sid)
declare -A EXTRA=([19]=experimental)
VERSIONS=(17 18 19)

# What the build and the matrix's suites need inside a root; %V% is the major version.
# postgresql-contrib is not a separate package on these releases (contrib modules are in
# postgresql-N); pg_regress and the isolation tester are in postgresql-client-N and
# postgresql-server-dev-N.
ROOT_PACKAGES=(
  postgresql-%V% postgresql-client-%V% postgresql-server-dev-%V% libpq-dev
  build-essential g++ make pkg-config
  libssl-dev openssl libsimdjson-dev libcurl4-openssl-dev
  pgbouncer python3 python3-psycopg python3-jwt python3-cryptography
  procps util-linux ca-certificates
)

# Packages only some releases have: pgTAP for test/integration/pgtap.sh. Debian has
# postgresql-17-pgtap in trixie and postgresql-18-pgtap in forky and sid; there is no
# postgresql-19-pgtap (sid or experimental) yet, so the pg19 root goes without.
# libpq-oauth (PostgreSQL 18+): libpq's OAuth device authorization flow, which Debian
# ships apart from libpq5 (libpq loads it when a server asks for OAuth); without it psql
# cannot sign in with oauth_issuer/oauth_client_id (test/integration/oauth.sh). It is built
# from the same source as libpq5, so the pg19 root's pin on src:postgresql-19 picks the
# matching 19 version from experimental.
declare -A ROOT_EXTRA_PACKAGES=(
  [17]="postgresql-17-pgtap libtap-parser-sourcehandler-pgtap-perl"
  [18]="postgresql-18-pgtap libtap-parser-sourcehandler-pgtap-perl libpq-oauth"
  [19]="libpq-oauth"
)

log() { printf 'pg-roots: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The archive of this machine's own Debian release, from its apt configuration.
host_mirror() {
  if [[ -n "${ROWGUARD_DEBIAN_MIRROR:-}" ]]; then echo "$ROWGUARD_DEBIAN_MIRROR"; return; fi
  local codename f url=""
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  # deb822 files: the first URI of a "deb" stanza whose Suites has the bare codename.
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    url=$(awk -v cn="$codename" '
      function flush() { if (types ~ /(^|[ \t])deb([ \t]|$)/ && (" " suites " ") ~ (" " cn " ") && uri != "" && found == "") found = uri; types = ""; suites = ""; uri = "" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^Types:/  { sub(/^Types:[ \t]*/, ""); types = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^URIs:/   { sub(/^URIs:[ \t]*/, ""); split($0, u, /[ \t]+/); uri = u[1] }
      END { flush(); print found }' "$f")
    [[ -n "$url" ]] && break
  done
  # one-line format: "deb [options] URI codename components"
  if [[ -z "$url" ]]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f "$f" ]] || continue
      url=$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
        awk -v cn="$codename" '$1 == "deb" && $3 == cn { print $2; exit }')
      [[ -n "$url" ]] && break
    done
  fi
  [[ -n "$url" ]] || die "no Debian archive for '$codename' in this machine's apt configuration (set ROWGUARD_DEBIAN_MIRROR)"
  echo "${url%/}"
}

root_path() { echo "$ROOTS_DIR/pg$1"; }

packages_for() {
  printf '%s\n' "${ROOT_PACKAGES[@]}" | sed "s/%V%/$1/g"
  [[ -z "${ROOT_EXTRA_PACKAGES[$1]:-}" ]] || printf '%s\n' ${ROOT_EXTRA_PACKAGES[$1]}
}

# Version of the package set (and of this script's root layout): a change rebuilds nothing,
# it installs what is missing: a cached root whose marker names another package set is
# refreshed at once, however fresh it is (refresh_root).
packages_hash() { packages_for "$1" | sha256sum | cut -c1-16; }

# Mount what apt, postgresql-common and PostgreSQL need inside a root; undone by root_umount.
root_mount() {
  local r=$1
  mountpoint -q "$r/proc" || mount -t proc proc "$r/proc"
  mkdir -p "$r/dev/shm"
  mountpoint -q "$r/dev/shm" || mount -t tmpfs -o mode=1777,size=512m shm "$r/dev/shm"
}

# Stop every process whose root directory is R (by pid), then unmount.
root_kill() {
  local r p i left
  r=$(readlink -f "$1")
  for i in 1 2 3 4 5 6 7 8 9 10; do
    left=()
    for p in /proc/[0-9]*; do
      [[ "$(readlink "$p/root" 2>/dev/null)" == "$r" ]] && left+=("${p#/proc/}")
    done
    ((${#left[@]})) || return 0
    if ((i < 6)); then kill -TERM "${left[@]}" 2>/dev/null || true
    else kill -KILL "${left[@]}" 2>/dev/null || true; fi
    sleep 1
  done
  log "processes still running in $r: ${left[*]}"
  return 1
}

root_umount() {
  local r=$1 m
  root_kill "$r" || true
  for m in "$r/dev/shm" "$r/proc"; do
    while mountpoint -q "$m" 2>/dev/null; do umount "$m" 2>/dev/null || umount -l "$m" || break; done
  done
}

in_root() { # in_root ROOT command...
  local r=$1; shift
  chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

APT_OPTS=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Configure apt and postgresql-common inside a fresh root (before PostgreSQL is installed).
root_configure() {
  local r=$1 v=$2 mirror=$3
  # The archive's testing/unstable Release files may be past their Valid-Until date on a
  # frozen mirror; signatures are still checked.
  cat > "$r/etc/apt/apt.conf.d/90rowguard" <<'EOF'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
  {
    echo "deb $mirror ${SUITE[$v]} main"
    [[ -n "${EXTRA[$v]:-}" ]] && echo "deb $mirror ${EXTRA[$v]} main"
  } > "$r/etc/apt/sources.list"
  if [[ -n "${EXTRA[$v]:-}" ]]; then
    # PostgreSQL N from the extra suite competes with the main suite's on version alone
    # (both priority 500), so the final release, once it reaches the main suite,
    # replaces the release candidate without a change here.
    cat > "$r/etc/apt/preferences.d/rowguard" <<EOF
Package: src:postgresql-$v src:postgresql-common
Pin: release a=${EXTRA[$v]}
Pin-Priority: 500
EOF
  fi
  # No services start inside the root; no default cluster is created.
  printf '#!/bin/sh\nexit 101\n' > "$r/usr/sbin/policy-rc.d"
  chmod 0755 "$r/usr/sbin/policy-rc.d"
  mkdir -p "$r/etc/postgresql-common/createcluster.d"
  echo "create_main_cluster = false" > "$r/etc/postgresql-common/createcluster.d/rowguard.conf"
  cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
}

root_install() { # install/upgrade the package set
  local r=$1 v=$2
  local -a pkgs
  mapfile -t pkgs < <(packages_for "$v")
  cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
  in_root "$r" apt-get -q update || return 1
  in_root "$r" apt-get "${APT_OPTS[@]}" dist-upgrade || return 1
  in_root "$r" apt-get "${APT_OPTS[@]}" install "${pkgs[@]}" || return 1
  in_root "$r" apt-get -q clean || true
}

# The root's PostgreSQL server and pg_config run.
root_works() {
  local r=$1 v=$2
  [[ -x "$r/usr/lib/postgresql/$v/bin/postgres" ]] &&
    in_root "$r" "/usr/lib/postgresql/$v/bin/postgres" -V >/dev/null 2>&1 &&
    in_root "$r" "/usr/lib/postgresql/$v/bin/pg_config" --version >/dev/null 2>&1
}

# A complete root (marker written at the end of a build) whose PostgreSQL runs.
root_healthy() { [[ -f "$1/.rowguard-root" ]] && root_works "$1" "$2"; }

root_version() { in_root "$1" "/usr/lib/postgresql/$2/bin/postgres" -V | awk '{print $3}'; }

write_marker() {
  local r=$1 v=$2 what=$3 secs=$4
  {
    echo "version=$v"
    echo "suite=${SUITE[$v]}${EXTRA[$v]:+ + ${EXTRA[$v]}}"
    echo "packages=$(packages_hash "$v")"
    echo "postgresql=$(root_version "$r" "$v")"
    echo "$what=$(date -u +%FT%TZ) ${secs}s"
  } > "$r/.rowguard-root.tmp"
  mv "$r/.rowguard-root.tmp" "$r/.rowguard-root"
}

build_root() {
  local v=$1 r new mirror t0=$SECONDS
  r=$(root_path "$v"); new="$r.new"
  mirror=$(host_mirror)
  log "pg$v: building a ${SUITE[$v]} root${EXTRA[$v]:+ with ${EXTRA[$v]}} in $r (archive from the host's apt configuration)"
  if [[ -d "$new" ]]; then root_umount "$new"; rm -rf --one-file-system "$new"; fi
  mkdir -p "$new"
  if ! debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
       "${SUITE[$v]}" "$new" "$mirror" "/usr/share/debootstrap/scripts/${SCRIPT[$v]}" \
       > "$ROOTS_DIR/pg$v.debootstrap.log" 2>&1; then
    tail -n 20 "$ROOTS_DIR/pg$v.debootstrap.log" >&2
    [[ -f "$new/debootstrap/debootstrap.log" ]] && tail -n 20 "$new/debootstrap/debootstrap.log" >&2
    log "pg$v: debootstrap of ${SUITE[$v]} failed (archive unreachable?); log: $ROOTS_DIR/pg$v.debootstrap.log"
    return 1
  fi
  root_configure "$new" "$v" "$mirror"
  root_mount "$new"
  local rc=0
  root_install "$new" "$v" > "$ROOTS_DIR/pg$v.apt.log" 2>&1 || rc=1
  root_umount "$new"
  if ((rc)); then
    tail -n 30 "$ROOTS_DIR/pg$v.apt.log" >&2
    log "pg$v: installing the packages into the root failed; log: $ROOTS_DIR/pg$v.apt.log"
    return 1
  fi
  root_works "$new" "$v" || { log "pg$v: the new root has no working PostgreSQL $v"; return 1; }
  write_marker "$new" "$v" built $((SECONDS - t0))
  if [[ -d "$r" ]]; then root_umount "$r"; rm -rf --one-file-system "$r"; fi
  mv "$new" "$r"
  log "pg$v: built in $((SECONDS - t0))s"
  echo "root pg$v: $r (PostgreSQL $(root_version "$r" "$v"), built in $((SECONDS - t0))s)"
}

refresh_root() {
  local v=$1 r t0=$SECONDS rc=0
  r=$(root_path "$v")
  if [[ "${ROWGUARD_ROOTS_OFFLINE:-0}" == 1 ]]; then
    [[ "$(sed -n 's/^packages=//p' "$r/.rowguard-root")" == "$(packages_hash "$v")" ]] ||
      log "pg$v: ROWGUARD_ROOTS_OFFLINE=1: the root lacks packages added since it was built (suites needing them fail)"
    echo "root pg$v: $r (PostgreSQL $(root_version "$r" "$v"), cached, not refreshed)"
    return 0
  fi
  local age=$(( $(date +%s) - $(stat -c %Y "$r/.rowguard-root") ))
  local have want
  have=$(sed -n 's/^packages=//p' "$r/.rowguard-root")
  want=$(packages_hash "$v")
  if [[ "$have" != "$want" ]]; then
    log "pg$v: the package set changed since the root was built or refreshed ($have -> $want): refreshing"
  elif ((age < ${ROWGUARD_ROOTS_FRESH:-3600})); then
    echo "root pg$v: $r (PostgreSQL $(root_version "$r" "$v"), cached, built or refreshed ${age}s ago)"
    return 0
  fi
  root_mount "$r"
  root_install "$r" "$v" >"$ROOTS_DIR/pg$v.refresh.log" 2>&1 || rc=1
  root_umount "$r"
  if ((rc)) || ! root_healthy "$r" "$v"; then
    if root_healthy "$r" "$v"; then
      log "pg$v: refreshing with apt failed (archive unreachable?), using the cached root as it is; log: $ROOTS_DIR/pg$v.refresh.log"
      echo "root pg$v: $r (PostgreSQL $(root_version "$r" "$v"), cached, refresh failed)"
      return 0
    fi
    return 1
  fi
  write_marker "$r" "$v" refreshed $((SECONDS - t0))
  echo "root pg$v: $r (PostgreSQL $(root_version "$r" "$v"), refreshed in $((SECONDS - t0))s)"
}

ensure_root() {
  local v=$1 r
  [[ -n "${SUITE[$v]:-}" ]] || die "unknown PostgreSQL version '$v' (known: ${VERSIONS[*]})"
  r=$(root_path "$v")
  mkdir -p "$ROOTS_DIR"
  exec {lockfd}>"$ROOTS_DIR/pg$v.lock"
  flock "$lockfd"
  local rc=0
  if root_healthy "$r" "$v"; then
    refresh_root "$v" || rc=$?
  else
    build_root "$v" || rc=$?
  fi
  exec {lockfd}>&-
  return $rc
}

main() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot, mount)"
  if [[ "${1:-}" == --list ]]; then printf '%s\n' "${VERSIONS[@]}"; return 0; fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed (Debian package debootstrap)"
  local -a want=("$@")
  ((${#want[@]})) || want=("${VERSIONS[@]}")
  local v failed=0
  for v in "${want[@]}"; do
    ensure_root "$v" || { log "pg$v: no usable root"; failed=1; }
  done
  return $failed
}

# Sourced by scripts/test-matrix.sh for root_path/root_mount/root_umount/in_root.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
