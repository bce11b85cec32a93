#!/usr/bin/env bash
# Build the .deb, install it the way a user would, check the installed app, and remove it again.
#
#   bash packaging/linux/test-deb.sh
#
# 1. builds dist/kling-studio_<version>_<arch>.deb (packaging/linux/build-deb.sh)
# 2. `apt-get install ./dist/….deb` (needs root or sudo)
# 3. runs the installed `kling-studio --self-test` in its own D-Bus session with an unlocked
#    gnome-keyring, strict: the bundle's Secret Service backend must store and delete a secret
# 4. `desktop-file-validate` on the installed .desktop file
# 5. starts the .desktop file's Exec line under Xvfb, waits for the window, takes a screenshot
#    (SCREENSHOT, default build/deb/installed-app.png) and checks it is not blank
# 6. prints the unpacked bundle size (fails above MAX_BUNDLE_MB, default 400), then `apt-get remove`s the
#    package and checks nothing is left
# Fails loudly (non-zero, with the step's name) at the first thing that is wrong.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
screenshot=$(realpath -m "${SCREENSHOT:-build/deb/installed-app.png}")
desktop_file=/usr/share/applications/kling-studio.desktop
max_bundle_mb=${MAX_BUNDLE_MB:-400}

step() { echo "test-deb: --- $*"; }
die() { echo "test-deb: FAILED: $*" >&2; exit 1; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# What this script itself needs on the machine (most of it is there after tools/system-packages.sh).
tools=(xvfb xauth x11-utils imagemagick desktop-file-utils dbus dbus-x11 gnome-keyring binutils)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "build"
bash packaging/linux/build-deb.sh
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -1)
deb="$(pwd)/dist/kling-studio_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || die "build-deb.sh did not write $deb"

installed=0
work=$(mktemp -d)
cleanup() {
  if [ "$installed" -eq 1 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get remove -y -qq kling-studio >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step "apt-get install $deb"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$deb" >/dev/null || die "apt-get install failed"
installed=1
[ -x /usr/bin/kling-studio ] || die "/usr/bin/kling-studio is missing after install"
for icon in /usr/share/icons/hicolor/256x256/apps/kling-studio.png /usr/share/icons/hicolor/scalable/apps/kling-studio.svg; do
  [ -f "$icon" ] || die "icon $icon is missing after install"
done

step "installed kling-studio --version"
(cd "$work" && /usr/bin/kling-studio --version) || die "kling-studio --version failed"

step "installed kling-studio --self-test (strict keyring, in its own D-Bus session)"
mkdir -p "$work/home"
(cd "$work" && env -u DISPLAY HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" \
  XDG_CONFIG_HOME="$work/home/.config" KLING_STUDIO_SELF_TEST_STRICT=1 \
  dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
    exec /usr/bin/kling-studio --self-test' 2>"$work/self-test.stderr") \
  || { tail -20 "$work/self-test.stderr" >&2; die "the installed self-test failed (lines above)"; }

step "desktop-file-validate $desktop_file"
desktop-file-validate "$desktop_file" || die "$desktop_file is not valid"

step "start the .desktop Exec line under Xvfb"
exec_line=$(sed -n 's/^Exec=//p' "$desktop_file" | head -1 | sed 's/ *%[fFuUick]//g')
[ -n "$exec_line" ] || die "no Exec line in $desktop_file"
echo "test-deb: Exec=$exec_line"
mkdir -p "$(dirname "$screenshot")"
cat > "$work/run-app.sh" <<RUN
#!/bin/sh
# Start the app as the desktop would, wait until its window is mapped, then photograph the screen.
cd "$work"
$exec_line >"$work/app.log" 2>&1 &
pid=\$!
window='— Kling Studio": ("kling-studio"'  # the main window: "<project> — Kling Studio", WM_CLASS kling-studio
for i in \$(seq 1 60); do
  if ! kill -0 \$pid 2>/dev/null; then echo "the app exited before showing a window" >"$work/app.failed"; exit 1; fi
  if xwininfo -root -tree | grep -qF "\$window"; then break; fi
  sleep 1
done
xwininfo -root -tree | grep -F "\$window" >"$work/window.txt" || { echo "no Kling Studio window after 60 s" >"$work/app.failed"; kill \$pid; exit 1; }
sleep 3  # let the first paint finish
geometry=\$(grep -oE '[0-9]+x[0-9]+\+-?[0-9]+\+-?[0-9]+' "$work/window.txt" | head -1)
import -window root -crop "\$geometry" +repage "$screenshot"  # the main window and whatever it shows on top
kill -0 \$pid 2>/dev/null || { echo "the app died while being photographed" >"$work/app.failed"; exit 1; }
kill \$pid
wait \$pid 2>/dev/null || true
RUN
chmod +x "$work/run-app.sh"
env HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config" \
  xvfb-run -a -s "-screen 0 1920x1080x24" "$work/run-app.sh" \
  || { cat "$work/app.failed" 2>/dev/null >&2; tail -20 "$work/app.log" >&2; die "the installed app did not start from its .desktop Exec line"; }
colours=$(identify -format '%k' "$screenshot")
[ "$colours" -gt 16 ] || die "the screenshot $screenshot is blank ($colours colours)"
echo "test-deb: window $(sed 's/^ *//' "$work/window.txt")"
echo "test-deb: screenshot $screenshot ($colours colours)"

step "size"
bundle_mb=$(( $(du -sk --apparent-size /opt/kling-studio | cut -f1) / 1024 ))
deb_mb=$(( $(stat -c %s "$deb") / 1024 / 1024 ))
echo "test-deb: installed bundle /opt/kling-studio is $bundle_mb MB unpacked; the .deb is $deb_mb MB"
# A guard against a dependency that drags in a big Qt module (QtWebEngine alone is ~200 MB). Today:
# Qt ~130 MB, PyAV with its own FFmpeg ~100 MB, numpy ~40 MB (the simulator's renderer), the rest ~70 MB.
[ "$bundle_mb" -le "$max_bundle_mb" ] || die "the bundle grew to $bundle_mb MB (limit $max_bundle_mb MB): see what was added"

step "apt-get remove kling-studio"
DEBIAN_FRONTEND=noninteractive $sudo apt-get remove -y -qq kling-studio >/dev/null || die "apt-get remove failed"
installed=0
for left in /opt/kling-studio /usr/bin/kling-studio "$desktop_file"; do
  [ ! -e "$left" ] || die "$left is still there after apt-get remove"
done

echo "test-deb: passed in $(( $(date +%s) - started )) s (bundle $bundle_mb MB unpacked, .deb $deb_mb MB)"
