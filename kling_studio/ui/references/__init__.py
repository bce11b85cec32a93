"""The reference library panel, the start/end frame and elements editor, and ``@Element`` completion.

The names below load on first use (PEP 562): the library model pulls in the image checks (PyAV, numpy,
~0.25 s), which the main window must not pay before its first paint just to create the References dock.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "BackgroundWork": "background",
    "ElementCompleter": "element_completer",
    "ReferenceLibraryModel": "library_model",
    "ReferenceLibraryPanel": "library_panel",
    "ReferencesEditor": "edits",
    "ReferencesWorkspace": "workspace",
    "ShotReferencesEditor": "references_editor",
    "ThumbnailCache": "thumbnails",
    "attach_element_completer": "element_completer",
}

__all__ = [
    "BackgroundWork",
    "ElementCompleter",
    "ReferenceLibraryModel",
    "ReferenceLibraryPanel",
    "ReferencesEditor",
    "ReferencesWorkspace",
    "ShotReferencesEditor",
    "ThumbnailCache",
    "attach_element_completer",
]

if TYPE_CHECKING:
    from kling_studio.ui.references.background import BackgroundWork
    from kling_studio.ui.references.edits import ReferencesEditor
    from kling_studio.ui.references.element_completer import ElementCompleter, attach_element_completer
    from kling_studio.ui.references.library_model import ReferenceLibraryModel
    from kling_studio.ui.references.library_panel import ReferenceLibraryPanel
    from kling_studio.ui.references.references_editor import ShotReferencesEditor
    from kling_studio.ui.references.thumbnails import ThumbnailCache
    from kling_studio.ui.references.workspace import ReferencesWorkspace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
