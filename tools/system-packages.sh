#!/usr/bin/env bash
# System libraries Kling Studio and its tests need on Debian/Ubuntu: Qt's xcb platform, Qt Multimedia's
# PulseAudio client, a virtual screen for screenshots, a Secret Service for the keyring, curl for the
# download benchmark. Installs only what is missing; does nothing where apt-get is not available.
set -euo pipefail
packages=(
  xvfb xauth libpulse0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-xfixes0 libxcb-sync1 libxcb-xkb1
  gnome-keyring dbus dbus-x11 curl zstd desktop-file-utils imagemagick
)
command -v apt-get >/dev/null || { echo "system-packages: no apt-get here; install the equivalents of: ${packages[*]}"; exit 0; }
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
