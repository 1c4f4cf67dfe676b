#!/usr/bin/env bash
# Installs Debian's ClamAV daemon (clamd) for the antivirus scan of uploads and its tests, if it is
# missing. Only clamd is wanted: the tests start their own clamd with a one-line signature database
# (the EICAR test file), and the network is closed, so freshclam (the signature updater) must not run.
# Debian's packages start nothing by themselves here (no systemd); if an init system did start
# clamav-freshclam, we stop it. --no-install-recommends skips clamav-freshclam's recommended extras.
set -euo pipefail
if [ -x /usr/sbin/clamd ]; then
  echo "[install-clamav] present: $(/usr/sbin/clamd --version 2>/dev/null || true)"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; else SUDO=""; fi
echo "[install-clamav] installing Debian's clamav-daemon…"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends clamav-daemon >/dev/null
# freshclam would try (and fail) to download signatures from the internet: never let it run.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now clamav-freshclam.service clamav-daemon.service >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/clamav-freshclam ]; then $SUDO /etc/init.d/clamav-freshclam stop >/dev/null 2>&1 || true; fi
/usr/sbin/clamd --version
echo "[install-clamav] installed /usr/sbin/clamd (freshclam not started; tests bring their own signatures)"
