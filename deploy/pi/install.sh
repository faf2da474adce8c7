#!/usr/bin/env bash
# Installs the AMR gateway on a Raspberry Pi (Debian/Raspberry Pi OS).
#   sudo deploy/pi/install.sh            install from this checkout (built: npm ci && npm run build)
#   DESTDIR=/tmp/root deploy/pi/install.sh   stage into a directory tree (packaging, tests): no
#                                            users, no systemctl, no udev reload — files only.
# Steps: check Node >= 20.19, create the service user (in dialout), copy the built gateway and
# its runtime dependencies to /opt/amr-gateway, a sample config to /etc/amr-gateway (never
# overwriting an existing one), the systemd unit (logs to the journal, sandboxed) and the udev rule.
# An older install's logrotate config (the gateway used to log to a file) is removed.
set -euo pipefail

DESTDIR="${DESTDIR:-}"
PREFIX="${PREFIX:-/opt/amr-gateway}"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NODE_BIN="${NODE_BIN:-$(command -v node || true)}"
SERVICE_USER="${SERVICE_USER:-amr-gateway}"

die() { echo "install.sh: $*" >&2; exit 1; }

[ -n "$NODE_BIN" ] || die "node not found: install Node.js 20.19 or newer (https://nodejs.org or NodeSource apt repo)"
ver="$("$NODE_BIN" -p 'process.versions.node')"
major="${ver%%.*}"; rest="${ver#*.}"; minor="${rest%%.*}"
if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
  die "Node $ver is too old: need >= 20.19"
fi
[ -f "$SRC/gateway/dist/cli/amr-gateway.js" ] || die "gateway not built: run 'npm ci && npm run build' in $SRC first"

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (or set DESTDIR to stage files)"; fi

install -d "$DESTDIR$PREFIX/gateway" "$DESTDIR$PREFIX/protocols" "$DESTDIR/etc/amr-gateway" \
  "$DESTDIR/etc/systemd/system" "$DESTDIR/etc/udev/rules.d" \
  "$DESTDIR/var/lib/amr-gateway" "$DESTDIR/var/log/amr-gateway"

# Application: built JS of gateway and protocols, plus the installed node_modules (workspace links resolved).
cp -r "$SRC/gateway/bin" "$SRC/gateway/dist" "$SRC/gateway/package.json" "$SRC/gateway/README.md" "$DESTDIR$PREFIX/gateway/" 2>/dev/null || \
  cp -r "$SRC/gateway/bin" "$SRC/gateway/dist" "$SRC/gateway/package.json" "$DESTDIR$PREFIX/gateway/"
cp -r "$SRC/protocols/dist" "$SRC/protocols/package.json" "$DESTDIR$PREFIX/protocols/"
# Runtime dependency closure of @amr/gateway as npm resolved it (offline: no registry needed on the Pi).
if [ -d "$SRC/node_modules" ]; then
  install -d "$DESTDIR$PREFIX/node_modules/@amr"
  (cd "$SRC" && npm ls --all --omit=dev --parseable -w @amr/gateway 2>/dev/null) | while read -r dir; do
    case "$dir" in
      "$SRC"|"$SRC/node_modules/@amr/"*) continue ;;
      "$SRC/node_modules/"*) rel="${dir#"$SRC/"}" ;;
      *) continue ;;
    esac
    install -d "$DESTDIR$PREFIX/$(dirname "$rel")"
    cp -rL "$dir" "$DESTDIR$PREFIX/$(dirname "$rel")/"
  done
  ln -sfn ../../protocols "$DESTDIR$PREFIX/node_modules/@amr/protocols"
fi

# Config: never overwrite a site's config.
if [ ! -f "$DESTDIR/etc/amr-gateway/gateway.yaml" ]; then
  install -m 0640 "$SRC/gateway/config/gateway.sample.yaml" "$DESTDIR/etc/amr-gateway/gateway.yaml"
fi
sed "s#@NODE@#$NODE_BIN#g" "$SRC/deploy/pi/amr-gateway.service" > "$DESTDIR/etc/systemd/system/amr-gateway.service"
install -m 0644 "$SRC/deploy/pi/99-amr-gateway-serial.rules" "$DESTDIR/etc/udev/rules.d/99-amr-gateway-serial.rules"
# Logs go to the journal now: a logrotate config left by an older install only rotates leftovers.
rm -f "$DESTDIR/etc/logrotate.d/amr-gateway"

if [ -n "$DESTDIR" ]; then
  echo "staged into $DESTDIR (no user, systemd or udev changes)"
  exit 0
fi

# System integration (real install only).
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/amr-gateway --shell /usr/sbin/nologin "$SERVICE_USER"
fi
usermod -a -G dialout "$SERVICE_USER"
chown -R "$SERVICE_USER:$SERVICE_USER" /var/lib/amr-gateway /var/log/amr-gateway
chown root:"$SERVICE_USER" /etc/amr-gateway /etc/amr-gateway/gateway.yaml
chmod 0770 /etc/amr-gateway
udevadm control --reload-rules && udevadm trigger --subsystem-match=tty || true
systemctl daemon-reload
systemctl enable amr-gateway.service
echo "installed. Edit /etc/amr-gateway/gateway.yaml, check it with:"
echo "  $NODE_BIN $PREFIX/gateway/bin/amr-gateway.js check --config /etc/amr-gateway/gateway.yaml"
echo "then: systemctl start amr-gateway && journalctl -u amr-gateway -f"
