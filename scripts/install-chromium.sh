#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests if it is missing, with the Korean (Nanum) and
# colour-emoji fonts the screenshots need (without them Hangul and emoji render as boxes). Browsers
# are never downloaded from anywhere else (the network is closed; only Debian's packages and npm
# are reachable).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/nanum ] || missing+=(fonts-nanum)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -eq 0 ]; then
  echo "[install-chromium] present: $(/usr/bin/chromium --version 2>/dev/null || true), fonts-nanum, fonts-noto-color-emoji"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; else SUDO=""; fi
echo "[install-chromium] installing Debian's ${missing[*]}…"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
/usr/bin/chromium --version
