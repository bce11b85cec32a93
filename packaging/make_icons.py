"""Render the app icon's PNG sizes, the Windows .ico and the macOS .icns from the one SVG.

Run after changing ``kling_studio/resources/icons/app-icon.svg`` and commit what it writes::

    python packaging/make_icons.py

Qt draws the SVG (offscreen, no display needed); the .ico and .icns containers are written here directly
with PNG payloads, which every supported Windows and macOS version reads.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent.parent / "kling_studio" / "resources" / "icons"
SVG = ICON_DIR / "app-icon.svg"

# The hicolor theme sizes the Linux package installs (plus the scalable SVG itself).
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (the @2x types repeat a size under another name).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


def render_png(svg: Path, size: int) -> bytes:
    """Draw ``svg`` into a transparent ``size``×``size`` image and return it PNG-encoded."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {svg} is not a valid SVG; fix the file and run again")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """Pack PNG images into a Windows ICO container (PNG entries, Windows Vista and later)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, payload = b"", b""
    for size in sizes:
        data = pngs[size]
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset + len(payload))
        payload += data
    return header + entries + payload


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """Pack PNG images into a macOS ICNS container."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    """Write every icon file next to the SVG and list them."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    needed = set(PNG_SIZES) | set(ICO_SIZES) | {size for _, size in ICNS_TYPES}
    pngs = {size: render_png(SVG, size) for size in sorted(needed)}
    written = []
    for size in PNG_SIZES:
        path = ICON_DIR / f"app-icon-{size}.png"
        path.write_bytes(pngs[size])
        written.append(path)
    (ICON_DIR / "app-icon.ico").write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    (ICON_DIR / "app-icon.icns").write_bytes(icns_bytes(pngs))
    written += [ICON_DIR / "app-icon.ico", ICON_DIR / "app-icon.icns"]
    for path in written:
        print(f"{path.relative_to(ICON_DIR.parent.parent.parent)}  {path.stat().st_size} bytes")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
