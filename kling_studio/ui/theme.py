"""The studio's look: a Fusion-based palette of our own, dark or light, following the system.

Dark neutral greys with one violet accent (the app icon's), a 13 px UI font and generous spacing, in the
spirit of DaVinci Resolve and Figma. Widgets ask for semantic colours (``Theme.colors.error``) instead of
hard-coding them, so both schemes stay consistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

UI_FONT_PX = 13


class Scheme(StrEnum):
    """Which palette to draw with."""

    DARK = "dark"
    LIGHT = "light"


@dataclass(frozen=True)
class Colors:
    """Semantic colours of one scheme, as ``#rrggbb`` strings (usable in palettes and style sheets)."""

    window: str
    panel: str
    base: str
    alt_base: str
    raised: str
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    error: str
    warning: str
    ok: str
    simulator: str


DARK = Colors(
    window="#1c1d21",
    panel="#232429",
    base="#18191c",
    alt_base="#202125",
    raised="#2d2f35",
    border="#35373e",
    text="#e6e6ea",
    muted="#9a9ca5",
    accent="#7c5cff",
    accent_text="#ffffff",
    error="#ff5d5d",
    warning="#f0b429",
    ok="#3ecf8e",
    simulator="#2b6cb0",
)

LIGHT = Colors(
    window="#f3f3f6",
    panel="#ffffff",
    base="#ffffff",
    alt_base="#f7f7fa",
    raised="#e9e9ef",
    border="#d5d6dd",
    text="#1d1e22",
    muted="#62646d",
    accent="#6a46f5",
    accent_text="#ffffff",
    error="#d32f2f",
    warning="#b7791f",
    ok="#2f855a",
    simulator="#2b6cb0",
)


def colors_for(scheme: Scheme) -> Colors:
    """The colours of ``scheme``."""
    return DARK if scheme is Scheme.DARK else LIGHT


def system_scheme() -> Scheme:
    """The scheme the desktop asks for; dark when the system does not say (the studio's home look)."""
    hints = QGuiApplication.styleHints()
    if hints.colorScheme() == Qt.ColorScheme.Light:
        return Scheme.LIGHT
    return Scheme.DARK


def build_palette(colors: Colors) -> QPalette:
    """A full QPalette from the semantic colours (disabled roles dimmed)."""
    palette = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: colors.window,
        role.WindowText: colors.text,
        role.Base: colors.base,
        role.AlternateBase: colors.alt_base,
        role.ToolTipBase: colors.raised,
        role.ToolTipText: colors.text,
        role.PlaceholderText: colors.muted,
        role.Text: colors.text,
        role.Button: colors.raised,
        role.ButtonText: colors.text,
        role.BrightText: colors.error,
        role.Highlight: colors.accent,
        role.HighlightedText: colors.accent_text,
        role.Link: colors.accent,
        role.Light: colors.raised,
        role.Midlight: colors.border,
        role.Mid: colors.border,
        role.Dark: colors.base,
        role.Shadow: "#000000",
    }
    for r, value in pairs.items():
        palette.setColor(r, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, r, QColor(colors.muted))
    palette.setColor(disabled, role.Highlight, QColor(colors.border))
    return palette


def style_sheet(colors: Colors) -> str:
    """The few rules a palette cannot express: rounded inputs, the accent button, dock titles, banners."""
    c = colors
    return f"""
QToolTip {{ color: {c.text}; background: {c.raised}; border: 1px solid {c.border}; padding: 4px; }}
QMainWindow::separator {{ background: {c.border}; width: 1px; height: 1px; }}
QDockWidget {{ titlebar-close-icon: none; font-weight: 600; }}
QDockWidget::title {{ background: {c.panel}; padding: 6px 10px; border-bottom: 1px solid {c.border}; }}
QPlainTextEdit, QTextEdit, QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    background: {c.base}; border: 1px solid {c.border}; border-radius: 6px; padding: 4px 6px;
    selection-background-color: {c.accent};
}}
QPlainTextEdit:focus, QTextEdit:focus, QLineEdit:focus, QSpinBox:focus, QComboBox:focus {{
    border: 1px solid {c.accent};
}}
QPlainTextEdit[problem="true"], QLineEdit[problem="true"] {{ border: 1px solid {c.error}; }}
QPushButton, QToolButton {{
    background: {c.raised}; border: 1px solid {c.border}; border-radius: 6px; padding: 5px 12px;
}}
QToolButton {{ padding: 4px 8px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {c.accent}; }}
QPushButton:disabled, QToolButton:disabled {{ color: {c.muted}; background: {c.panel}; }}
QPushButton#generateButton {{
    background: {c.accent}; color: {c.accent_text}; border: none; font-weight: 600; padding: 8px 18px;
}}
QPushButton#generateButton:disabled {{ background: {c.raised}; color: {c.muted}; }}
QFrame#costMeter, QFrame#briefPreview {{ background: {c.panel}; border-top: 1px solid {c.border}; }}
QLabel#sectionTitle {{ font-weight: 600; color: {c.muted}; text-transform: uppercase; }}
QLabel[role="muted"] {{ color: {c.muted}; }}
QLabel[role="error"] {{ color: {c.error}; }}
QLabel[role="price"] {{ font-size: 18px; font-weight: 600; }}
QLabel[overBudget="true"] {{ color: {c.error}; font-weight: 600; }}
QFrame#simulatorBanner {{ background: {c.simulator}; }}
QFrame#simulatorBanner QLabel {{ color: #ffffff; font-weight: 600; }}
QFrame#simulatorBanner QPushButton {{
    background: rgba(255, 255, 255, 0.16); color: #ffffff; border: 1px solid rgba(255, 255, 255, 0.5);
}}
QTabBar::tab {{ padding: 6px 14px; background: {c.panel}; border: 1px solid {c.border}; }}
QTabBar::tab:selected {{ background: {c.base}; color: {c.text}; }}
QListView, QTreeView {{ background: {c.base}; border: none; }}
QListView::item, QTreeView::item {{ padding: 4px; }}
QSlider::groove:horizontal {{ height: 4px; background: {c.border}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {c.accent}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {c.text}; width: 14px; margin: -6px 0; border-radius: 7px; }}
QStatusBar {{ background: {c.panel}; border-top: 1px solid {c.border}; color: {c.muted}; }}
QMenuBar {{ background: {c.window}; }}
QMenu {{ background: {c.panel}; border: 1px solid {c.border}; padding: 4px; }}
QMenu::item {{ padding: 5px 22px 5px 22px; border-radius: 4px; }}
QMenu::item:selected {{ background: {c.accent}; color: {c.accent_text}; }}
"""


class Theme(QObject):
    """Applies our palette to the application and follows the system's light/dark changes.

    Args:
        app: the application to style.
        scheme: force a scheme (screenshots, tests); None follows the system.
    """

    scheme_changed = Signal(str)

    def __init__(self, app: QApplication, scheme: Scheme | None = None) -> None:
        super().__init__(app)
        self._app = app
        self._forced = scheme
        self._scheme = scheme or system_scheme()
        app.setStyle(QStyleFactory.create("Fusion"))
        font = QFont(app.font())
        font.setPixelSize(UI_FONT_PX)
        app.setFont(font)
        self._apply()
        app.styleHints().colorSchemeChanged.connect(self._on_hints_color_scheme_changed)

    @property
    def scheme(self) -> Scheme:
        """The scheme in use."""
        return self._scheme

    @property
    def colors(self) -> Colors:
        """The semantic colours in use."""
        return colors_for(self._scheme)

    def set_scheme(self, scheme: Scheme | None) -> None:
        """Force ``scheme``, or follow the system again with None."""
        self._forced = scheme
        self._switch(scheme or system_scheme())

    def _on_hints_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._forced is None:
            self._switch(system_scheme())

    def _switch(self, scheme: Scheme) -> None:
        if scheme is self._scheme:
            return
        self._scheme = scheme
        self._apply()
        self.scheme_changed.emit(scheme.value)

    def _apply(self) -> None:
        colors = self.colors
        self._app.setPalette(build_palette(colors))
        self._app.setStyleSheet(style_sheet(colors))
