#!/usr/bin/env bash
# Install the system (non-Python) packages that Headwater's tests need.
#
# Idempotent and fast when everything is already there: apt-get runs only for
# what is missing, and `apt-get update` only when the package lists cannot
# offer a missing package.
#
#   * MariaDB server + client (Debian package `mariadb-server`, `mariadb-client`)
#     used by headwater.testing.servers.MariaDBServer. Our tests start their own
#     mariadbd on a private port and socket; the system-wide service is never
#     needed, so it is kept from starting (and stopped if it is running).
#   * PostgreSQL 15 server binaries (initdb, postgres, psql) used by
#     headwater.testing.servers.PostgresServer. Only checked, see below.
#
# Usage: scripts/install-system-deps.sh        (as root, or with sudo available)
set -euo pipefail

log() { printf 'install-system-deps: %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    fi
fi

# Packages apt-get must install; filled by the checks below.
APT_PACKAGES=()

have_cmd() {
    # Looks in PATH and in the sbin directories, which are not in a non-root PATH.
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ] \
        || [ -x "/sbin/$1" ]
}

# --- MariaDB ------------------------------------------------------------------
if have_cmd mariadbd || have_cmd mysqld; then
    :
else
    APT_PACKAGES+=(mariadb-server mariadb-client)
fi
if ! have_cmd mariadb-install-db && ! have_cmd mysql_install_db; then
    # The server binary exists but the bootstrap script does not: reinstall.
    case " ${APT_PACKAGES[*]-} " in
        *" mariadb-server "*) ;;
        *) APT_PACKAGES+=(mariadb-server) ;;
    esac
fi

# --- Chromium (headless browser tests) ------------------------------------------
# tests/ui drive Debian's chromium through Playwright (executable_path), so no
# browser is downloaded by Playwright itself.
if ! have_cmd chromium; then
    APT_PACKAGES+=(chromium)
fi
# tests/ui/test_firefox.py drive Debian's firefox-esr over WebDriver BiDi (built into
# Firefox: no geckodriver, no download).
if ! have_cmd firefox-esr; then
    APT_PACKAGES+=(firefox-esr)
fi

# --- Install what is missing ----------------------------------------------------
apt_install() {
    local policy=/usr/sbin/policy-rc.d
    # Keep the packages' postinst scripts from starting system-wide services
    # (MariaDB on port 3306). Debian container images usually ship this file.
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
        # shellcheck disable=SC2064
        trap "$SUDO rm -f $policy" EXIT
    fi

    export DEBIAN_FRONTEND=noninteractive
    local aptlog candidates_ok=1 pkg policy_out
    aptlog="$(mktemp /tmp/headwater-apt.XXXXXX)"
    for pkg in "$@"; do
        # (No `apt-cache ... | grep -q`: under pipefail grep's early exit fails it.)
        policy_out="$(apt-cache policy "$pkg" 2>/dev/null || true)"
        if ! grep -q 'Candidate: [^(]' <<<"$policy_out"; then
            candidates_ok=0
        fi
    done
    apt_quiet() {
        if ! $SUDO env DEBIAN_FRONTEND=noninteractive "$@" >>"$aptlog" 2>&1; then
            return 1
        fi
    }
    if [ "$candidates_ok" = 0 ]; then
        log "apt-get update"
        apt_quiet apt-get update -qq || { tail -n 30 "$aptlog" >&2; exit 1; }
    fi
    log "apt-get install $*"
    local install=(apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "$@")
    if ! apt_quiet "${install[@]}"; then
        # Stale package lists (a version no longer on the mirror): refresh, retry once.
        log "install failed; apt-get update and retry"
        if ! apt_quiet apt-get update -qq || ! apt_quiet "${install[@]}"; then
            tail -n 30 "$aptlog" >&2
            exit 1
        fi
    fi
    rm -f "$aptlog"
}

if [ "${#APT_PACKAGES[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
        log "missing packages: ${APT_PACKAGES[*]}; run this script as root (or install sudo)"
        exit 1
    fi
    apt_install "${APT_PACKAGES[@]}"
fi

# A system-wide MariaDB started by some other means is not used by the tests and
# would hold port 3306 and /run/mysqld/mysqld.sock: stop it.
if pgrep -x mariadbd >/dev/null 2>&1 || pgrep -x mysqld >/dev/null 2>&1; then
    if [ -S /run/mysqld/mysqld.sock ] && command -v service >/dev/null 2>&1; then
        log "stopping the system-wide MariaDB service (tests start their own)"
        $SUDO service mariadb stop >/dev/null 2>&1 || true
    fi
fi

if ! have_cmd mariadbd && ! have_cmd mysqld; then
    log "ERROR: mariadbd is still missing after installing mariadb-server"
    exit 1
fi

# --- PostgreSQL -----------------------------------------------------------------
# headwater.testing.servers looks in $HEADWATER_PG_BIN, then
# /usr/lib/postgresql/<newest>/bin, then PATH.
pg_bin=""
pg_complete() { [ -x "$1/initdb" ] && [ -x "$1/postgres" ] && [ -x "$1/psql" ]; }
if [ -n "${HEADWATER_PG_BIN:-}" ] && pg_complete "$HEADWATER_PG_BIN"; then
    pg_bin="$HEADWATER_PG_BIN"
else
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        if pg_complete "$d"; then
            pg_bin="$d"
            break
        fi
    done
    if [ -z "$pg_bin" ] && command -v initdb >/dev/null 2>&1 \
        && pg_complete "$(dirname "$(command -v initdb)")"; then
        pg_bin="$(dirname "$(command -v initdb)")"
    fi
fi
if [ -z "$pg_bin" ]; then
    log "ERROR: PostgreSQL server binaries (initdb, postgres, psql) not found."
    log "  Expected them in /usr/lib/postgresql/15/bin. Install them with:"
    log "    apt-get install -y postgresql-15   # or: apt-get install -y postgresql"
    log "  or point HEADWATER_PG_BIN at a directory holding initdb, postgres and psql."
    exit 1
fi

log "ok: MariaDB $( (mariadbd --version 2>/dev/null || /usr/sbin/mariadbd --version) \
    | sed -n 's/.*Ver \([^ ]*\).*/\1/p'), PostgreSQL in $pg_bin"
