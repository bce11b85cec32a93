#!/usr/bin/env bash
# Build the Linux installer: a PyInstaller one-folder bundle packed as a .deb.
#
#   bash packaging/linux/build-deb.sh            # → dist/kling-studio_<version>_<arch>.deb
#
# Layout of the package:
#   /opt/kling-studio/                      the bundle (kling-studio + _internal/)
#   /usr/bin/kling-studio                   a two-line launcher into it
#   /usr/share/applications/kling-studio.desktop
#   /usr/share/icons/hicolor/<n>x<n>/apps/kling-studio.png, scalable/apps/kling-studio.svg
#   /usr/share/mime/packages/kling-studio.xml   (*.klingproj project files)
# dpkg's file triggers refresh the desktop, icon and MIME caches, so there are no maintainer scripts.
#
# Uses the repository's .venv when there is one, else python3; installs PyInstaller there if missing.
# Environment: PYTHON (interpreter to build with), OUT_DIR (default dist), BUILD_DIR (default build/deb).
# Build the .deb on the oldest distribution you support: the bundle needs at least its glibc.
set -euo pipefail
cd "$(dirname "$0")/../.."
root_dir=$(pwd)
started=$(date +%s)

die() { echo "build-deb: $*" >&2; exit 1; }

if [ -n "${PYTHON:-}" ]; then py=$PYTHON
elif [ -x .venv/bin/python ]; then py=.venv/bin/python
else py=$(command -v python3) || die "no python3 found; install Python 3.11+ or set PYTHON"
fi
command -v dpkg-deb >/dev/null || die "dpkg-deb not found: build the .deb on Debian or Ubuntu"

out_dir=${OUT_DIR:-dist}
build_dir=${BUILD_DIR:-build/deb}
mkdir -p "$out_dir" "$build_dir"

# The package itself must be installed in that Python: the bundle carries its metadata (for --version).
"$py" -c 'import importlib.metadata as m; m.version("kling-studio")' 2>/dev/null \
  || "$py" -m pip install --quiet -e . || die "could not install kling-studio into $py"
"$py" -m PyInstaller --version >/dev/null 2>&1 \
  || "$py" -m pip install --quiet 'pyinstaller>=6.6' || die "could not install PyInstaller into $py"

version=$("$py" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
arch=$(dpkg --print-architecture)
echo "build-deb: kling-studio $version ($arch) with $("$py" --version) and PyInstaller $("$py" -m PyInstaller --version)"

# 1. The bundle. nice: build machines are often shared; strip stays off (see the spec).
bundle_started=$(date +%s)
nice -n 10 "$py" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$build_dir/dist" --workpath "$build_dir/work" packaging/pyinstaller/kling-studio.spec
bundle="$build_dir/dist/kling-studio"
[ -x "$bundle/kling-studio" ] || die "PyInstaller did not produce $bundle/kling-studio"
# Only libpython loses its debug symbols (a self-built Python carries ~18 MB of them). Never strip the
# rest: strip corrupts the FFmpeg libraries Qt Multimedia loads.
for lib in "$bundle"/_internal/libpython3*.so*; do
  [ -f "$lib" ] && command -v strip >/dev/null && strip --strip-debug "$lib"
done
bundle_seconds=$(( $(date +%s) - bundle_started ))

# 2. The package tree.
pkg="$build_dir/root"
rm -rf "$pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/opt" "$pkg/usr/bin" "$pkg/usr/share/applications" \
  "$pkg/usr/share/mime/packages" "$pkg/usr/share/icons/hicolor/scalable/apps" "$pkg/usr/share/doc/kling-studio"
cp -a "$bundle" "$pkg/opt/kling-studio"
cat > "$pkg/usr/bin/kling-studio" <<'LAUNCHER'
#!/bin/sh
exec /opt/kling-studio/kling-studio "$@"
LAUNCHER
chmod 0755 "$pkg/usr/bin/kling-studio"
install -m 0644 packaging/linux/kling-studio.desktop "$pkg/usr/share/applications/kling-studio.desktop"
install -m 0644 packaging/linux/kling-studio-mime.xml "$pkg/usr/share/mime/packages/kling-studio.xml"
icons=kling_studio/resources/icons
for size in 16 24 32 48 64 128 256 512; do
  [ -f "$icons/app-icon-$size.png" ] || die "missing $icons/app-icon-$size.png: run python packaging/make_icons.py"
  install -D -m 0644 "$icons/app-icon-$size.png" "$pkg/usr/share/icons/hicolor/${size}x${size}/apps/kling-studio.png"
done
install -m 0644 "$icons/app-icon.svg" "$pkg/usr/share/icons/hicolor/scalable/apps/kling-studio.svg"
cat > "$pkg/usr/share/doc/kling-studio/copyright" <<'COPYRIGHT'
Kling Studio is distributed under the MIT license. The bundle under /opt/kling-studio also contains
Python, Qt for Python (LGPLv3), Qt (LGPLv3), FFmpeg (LGPLv2.1+) and PyAV with its FFmpeg build, each under
its own license; their license files are inside the bundle next to each component.
COPYRIGHT
chmod -R u+rwX,go+rX,go-w "$pkg"

# The oldest glibc the bundle's own binaries ask for (never lower than what they link against).
glibc=$(find "$pkg/opt" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
  | xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
[ -n "$glibc" ] || glibc=$(ldd --version | head -1 | grep -o '[0-9][0-9.]*$')

installed_kb=$(du -sk --apparent-size "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: kling-studio
Version: $version
Architecture: $arch
Maintainer: Kling Studio <support@klingstudio.ai>
Installed-Size: $installed_kb
Section: video
Priority: optional
Depends: libc6 (>= $glibc), libpulse0, libegl1, libgl1, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0, libxkbcommon0, libxkbcommon-x11-0, libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-shape0, libxcb-xinerama0, libxcb-randr0, libxcb-xfixes0, libxcb-sync1, libxcb-xkb1, libxcb-render0, libxcb-shm0
Recommends: gnome-keyring | kwalletmanager
Suggests: xdg-utils
Description: desktop studio for Kling V3 AI video on fal
 Write a brief, lay out shots on a timeline, see the exact price before you pay,
 and never lose a paid result. Your fal key stays in the desktop keyring.
 Without a key the built-in simulator runs everything locally, free.
CONTROL

deb="$out_dir/kling-studio_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group -Zzstd "$pkg" "$deb" >/dev/null
total_seconds=$(( $(date +%s) - started ))
bundle_mb=$(( $(du -sk --apparent-size "$bundle" | cut -f1) / 1024 ))
deb_mb=$(( $(stat -c %s "$deb") / 1024 / 1024 ))
echo "build-deb: bundle $bundle_mb MB unpacked (built in ${bundle_seconds} s), package $deb_mb MB, needs glibc >= $glibc"
echo "build-deb: wrote $root_dir/$deb in ${total_seconds} s"
