#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests if it is missing. Browsers are never downloaded
# from anywhere else (the network is closed; only Debian's packages and npm are reachable).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "[install-chromium] /usr/bin/chromium present: $(/usr/bin/chromium --version 2>/dev/null || true)"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; else SUDO=""; fi
echo "[install-chromium] installing Debian's chromium…"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
