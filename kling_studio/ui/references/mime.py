"""Library images dragged between the library, frame slots and element slots."""

from __future__ import annotations

import json
from collections.abc import Iterable

from PySide6.QtCore import QMimeData

from kling_studio.core.references import Reference

MIME_TYPE = "application/x-kling-studio-reference"


def references_to_mime(references: Iterable[Reference]) -> QMimeData:
    """Mime data carrying references by hash and name (never the image bytes)."""
    mime = QMimeData()
    payload = [{"sha256": r.sha256, "name": r.name, "tags": list(r.tags)} for r in references]
    mime.setData(MIME_TYPE, json.dumps(payload).encode("utf-8"))
    mime.setText(", ".join(r.label for r in references))
    return mime


def references_from_mime(mime: QMimeData) -> list[Reference]:
    """The references in dragged mime data; empty when it carries none (or garbage)."""
    if not mime.hasFormat(MIME_TYPE):
        return []
    try:
        payload = json.loads(bytes(mime.data(MIME_TYPE)).decode("utf-8"))
        return [Reference(p["sha256"], p.get("name", ""), tuple(p.get("tags", ()))) for p in payload]
    except (ValueError, KeyError, TypeError):
        return []
