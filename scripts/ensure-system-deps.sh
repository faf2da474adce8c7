#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo drive as real peers, only if missing:
#   socat     linked pseudo-terminal pairs (a serial line without hardware)
#   mbpoll    a Modbus master nobody here wrote, to prove the Modbus simulator interoperates
#   chromium  a real browser for the dashboard test (headend/test/dashboard, driven by playwright-core)
# Needs root (as on CI and the dev machines); elsewhere it says what to install and fails.
# When everything is present it only runs `command -v`/`test -x` and exits: quick and idempotent.
set -euo pipefail
need=()
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v mbpoll >/dev/null 2>&1 || need+=(mbpoll)
# The dashboard test launches exactly this path (Debian's package), not a downloaded browser build.
[ -x /usr/bin/chromium ] || need+=(chromium)
# The SFTP exchange test starts a real OpenSSH sshd (keys made with ssh-keygen) on a free port.
{ [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1; } || need+=(openssh-server openssh-client)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} — install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
