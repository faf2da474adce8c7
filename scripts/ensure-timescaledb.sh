#!/usr/bin/env bash
# Installs TimescaleDB into the machine's PostgreSQL 15 when it is missing, from the vendored
# upstream source (../shared/vendor/timescaledb-<version>.tar.gz beside the project root): the
# registries reachable here carry no TimescaleDB package. The tests then start their own PostgreSQL
# instance with it preloaded (headend/test/support/pg-server.ts); the machine's service on 5432 is
# never touched. About 2 minutes on 2 cores the first time; afterwards only a `test -f` and exit.
# Needs root (as on CI and the dev machines); elsewhere it says what to run and fails.
set -euo pipefail
VERSION=2.23.1
here="$(cd "$(dirname "$0")/.." && pwd)"
tarball="$here/../shared/vendor/timescaledb-$VERSION.tar.gz"
pgbin=/usr/lib/postgresql/15/bin
libdir="$([ -x "$pgbin/pg_config" ] && "$pgbin/pg_config" --pkglibdir || echo /usr/lib/postgresql/15/lib)"
if [ -f "$libdir/timescaledb-$VERSION.so" ] && [ -x "$pgbin/initdb" ]; then exit 0; fi
if [ ! -f "$tarball" ]; then
  echo "TimescaleDB $VERSION is not installed in PostgreSQL 15 and its source is missing: expected $tarball" \
       "(the shared folder beside the project root holds vendored sources; see its README)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "TimescaleDB $VERSION is missing from PostgreSQL 15; build it as root: sudo bash $0" >&2
  exit 1
fi
need=()
for p in postgresql-15 postgresql-server-dev-15 cmake build-essential libssl-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages to build TimescaleDB: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building TimescaleDB $VERSION for PostgreSQL 15 (about 2 minutes)…" >&2
tar xzf "$tarball" -C "$work"
cd "$work/timescaledb-$VERSION"
PATH="$pgbin:$PATH" ./bootstrap -DREGRESS_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DTAP_CHECKS=OFF \
  -DPG_CONFIG="$pgbin/pg_config" >"$work/bootstrap.log" 2>&1 || { tail -30 "$work/bootstrap.log" >&2; exit 1; }
cd build
make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -30 "$work/make.log" >&2; exit 1; }
make install >"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; exit 1; }
echo "TimescaleDB $VERSION installed into $libdir" >&2
