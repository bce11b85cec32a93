"""The reference library panel, the start/end frame and elements editor, and ``@Element`` completion."""

from kling_studio.ui.references.background import BackgroundWork
from kling_studio.ui.references.edits import ReferencesEditor
from kling_studio.ui.references.element_completer import ElementCompleter, attach_element_completer
from kling_studio.ui.references.library_model import ReferenceLibraryModel
from kling_studio.ui.references.library_panel import ReferenceLibraryPanel
from kling_studio.ui.references.references_editor import ShotReferencesEditor
from kling_studio.ui.references.thumbnails import ThumbnailCache
from kling_studio.ui.references.workspace import ReferencesWorkspace

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
