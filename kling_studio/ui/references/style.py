"""Styles of the reference widgets, derived from the application palette (so light and dark both work)."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QWidget


def references_style(palette: QPalette) -> str:
    """A style sheet for slots, element rows, mention tokens and the refusal banner."""
    accent = palette.color(QPalette.ColorRole.Highlight).name()
    base = palette.color(QPalette.ColorRole.Base).name()
    alt = palette.color(QPalette.ColorRole.AlternateBase).name()
    border = palette.color(QPalette.ColorRole.Mid).name()
    muted = palette.color(QPalette.ColorRole.PlaceholderText).name()
    return f"""
QFrame#imageSlot {{ background: {base}; border: 1px dashed {border}; border-radius: 8px; }}
QFrame#imageSlot[empty="false"] {{ border: 1px solid {border}; }}
QFrame#imageSlot[missing="true"] {{ border: 1px solid #e5484d; }}
QFrame#imageSlot QLabel#slotPicture {{ color: {muted}; }}
QFrame#elementRow {{ background: {alt}; border: 1px solid {border}; border-radius: 10px; }}
QLabel#elementToken {{
    background: {accent}; color: #ffffff; border-radius: 6px; padding: 3px 8px; font-weight: 600;
}}
QToolButton#slotClear {{
    padding: 0; border-radius: 10px; background: rgba(0, 0, 0, 0.55); color: #ffffff; font-weight: 700;
}}
QLabel#modeNote {{ color: {muted}; }}
QFrame#problemBanner {{ background: rgba(229, 72, 77, 0.14); border: 1px solid #e5484d; border-radius: 8px; }}
QPushButton#fixButton {{ background: {accent}; color: #ffffff; border: none; font-weight: 600; }}
QListView#referenceGrid {{ background: {base}; border: 1px solid {border}; border-radius: 8px; }}
QListView#referenceGrid::item {{ border-radius: 6px; padding: 4px; }}
QListView#referenceGrid::item:selected {{ background: {accent}; color: #ffffff; }}
"""


def apply_references_style(widget: QWidget) -> None:
    """Style ``widget`` and its children (call once, from the constructor)."""
    widget.setStyleSheet(references_style(widget.palette()))
