#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests if it is missing, with the Korean (Nanum) and
# colour-emoji fonts that the screenshots (`npm run screenshots`) and the accessibility test need:
# without them Hangul and emoji render as boxes. Idempotent: packages already installed are skipped,
# and nothing runs when all are there. Browsers are never downloaded from anywhere else (the network
# is closed; only Debian's packages and npm are reachable).
set -euo pipefail

# package → a file it installs (for machines where dpkg does not know the package, e.g. fonts copied in)
declare -A MARKER=(
  [chromium]=/usr/bin/chromium
  [fonts-nanum]=/usr/share/fonts/truetype/nanum/NanumGothic.ttf
  [fonts-noto-color-emoji]=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || [ -e "${MARKER[$1]}" ]
}

missing=()
for pkg in chromium fonts-nanum fonts-noto-color-emoji; do
  installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "[install-chromium] present: $(/usr/bin/chromium --version 2>/dev/null || echo chromium), fonts-nanum, fonts-noto-color-emoji"
  exit 0
fi

if [ "$(id -u)" != "0" ]; then SUDO="sudo"; else SUDO=""; fi
echo "[install-chromium] installing Debian's ${missing[*]}…"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
# new fonts are seen by Chromium once fontconfig's cache knows them
if command -v fc-cache >/dev/null; then fc-cache -f >/dev/null 2>&1 || true; fi
/usr/bin/chromium --version
