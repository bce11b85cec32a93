"""Delivery from the library: export an accepted take with its sidecar, write the brief as Markdown, open crops.

:class:`DeliveryController` answers a :class:`LibraryPanel`'s delivery requests: it asks where (a file dialog
opened with ``open()``, never a nested event loop), copies or writes off the UI thread, and reports the
outcome in words through :attr:`DeliveryController.reported`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from kling_studio.services.takes import Take, TakeError, export_markdown, export_take
from kling_studio.ui.library.crop_export import CropDialog
from kling_studio.ui.library.library_panel import LibraryPanel
from kling_studio.ui.player.background import Background


class DeliveryController(QObject):
    """Handles the panel's export, Markdown and crop requests.

    Args:
        panel: The library panel whose requests to answer (also the dialogs' parent).
        parent: Owner (default: the panel).
    """

    reported = Signal(str)  # what happened, for a status bar
    delivered = Signal(list)  # the files written

    def __init__(self, panel: LibraryPanel, parent: QObject | None = None) -> None:
        super().__init__(parent or panel)
        self._panel = panel
        self._background = Background(workers=1, name="delivery", parent=self)
        self._dialogs: list[QWidget] = []
        panel.export_requested.connect(self._on_panel_export_requested)
        panel.markdown_requested.connect(self._on_panel_markdown_requested)
        panel.crops_requested.connect(self._on_panel_crops_requested)

    def export_to(self, take: Take, folder: Path) -> None:
        """Copy ``take`` and its sidecar into ``folder`` (off the UI thread)."""
        self._run(export_take, take, folder)

    def markdown_to(self, take: Take, target: Path) -> None:
        """Write ``take``'s brief and storyboard to ``target`` (off the UI thread)."""
        self._run(lambda t, p: [export_markdown(t, p)], take, target)

    def _run(self, work: Callable[..., list[Path]], *args: object) -> None:
        self._background.submit(work, *args, done=self._on_done, failed=self._on_failed)

    def _on_done(self, paths: list[Path]) -> None:
        self.delivered.emit(paths)
        self.reported.emit("Saved " + ", ".join(str(p) for p in paths))

    def _on_failed(self, error: BaseException) -> None:
        self.reported.emit(str(error) if isinstance(error, TakeError) else f"Not saved ({error}).")

    def _keep(self, dialog: QWidget) -> None:
        self._dialogs.append(dialog)
        dialog.destroyed.connect(lambda *_: self._dialogs.remove(dialog) if dialog in self._dialogs else None)

    def _on_panel_export_requested(self, take: Take) -> None:
        dialog = QFileDialog(self._panel, f"Deliver {take.video_path.name} to…")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda folder: self.export_to(take, Path(folder)))
        self._keep(dialog)
        dialog.open()

    def _on_panel_markdown_requested(self, take: Take) -> None:
        dialog = QFileDialog(self._panel, "Save the brief and storyboard as…")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("Markdown (*.md)")
        dialog.setDefaultSuffix("md")
        dialog.selectFile(f"{take.project_slug}-{take.job_id}.md")
        dialog.fileSelected.connect(lambda target: self.markdown_to(take, Path(target)))
        self._keep(dialog)
        dialog.open()

    def _on_panel_crops_requested(self, take: Take) -> None:
        dialog = CropDialog(take, parent=self._panel)
        self._keep(dialog)
        dialog.open()
