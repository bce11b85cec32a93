"""SVG icons from ``kling_studio/resources/icons``, drawn in the theme's colour and crisp at any scale.

The SVGs stroke with ``currentColor``; :func:`icon` substitutes the colour it is given and renders the vector
at whatever size and device-pixel ratio Qt asks for, so HiDPI screens get sharp edges.
"""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPixmap

_PACKAGE = "kling_studio"


def icon_names() -> list[str]:
    """Names of the bundled line icons (file names without ``.svg``)."""
    folder = resources.files(_PACKAGE).joinpath("resources", "icons")
    return sorted(p.name.removesuffix(".svg") for p in folder.iterdir() if p.name.endswith(".svg"))


def svg_text(name: str) -> str:
    """The SVG source of icon ``name``.

    Raises:
        FileNotFoundError: no icon has that name (the message lists the ones that exist).
    """
    path = resources.files(_PACKAGE).joinpath("resources", "icons", f"{name}.svg")
    if not path.is_file():
        raise FileNotFoundError(f"no icon named {name!r}; available: {', '.join(icon_names())}")
    return path.read_text(encoding="utf-8")


class SvgIconEngine(QIconEngine):
    """Renders one SVG at the exact size asked for; disabled icons are drawn at reduced opacity."""

    def __init__(self, svg: bytes) -> None:
        from PySide6.QtSvg import QSvgRenderer  # loaded with the first icon, not before the first paint

        super().__init__()
        self._svg = svg
        self._renderer = QSvgRenderer(QByteArray(svg))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        """Draw the vector into ``rect``."""
        painter.save()
        if mode == QIcon.Mode.Disabled:
            painter.setOpacity(0.4)
        self._renderer.render(painter, QRectF(rect))
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        """A transparent pixmap of ``size`` with the icon drawn in it."""
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        """A copy for Qt's implicit sharing."""
        return SvgIconEngine(self._svg)


def icon(name: str, color: str) -> QIcon:
    """Icon ``name`` stroked in ``color`` (``#rrggbb``)."""
    svg = svg_text(name).replace("currentColor", color).encode("utf-8")
    return QIcon(SvgIconEngine(svg))
