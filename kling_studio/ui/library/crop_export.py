"""Crop export: preview a 9:16 or 1:1 window on the 16:9 master in the player, place it, export in the background.

:class:`CropExporter` runs :func:`~kling_studio.services.crops.export_crop` on a worker thread with progress and
cancel; :class:`CropDialog` is the window around it (open it with ``open()``, never ``exec()``).
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from kling_studio.services.crops import CropCancelled, CropError, crop_path, export_crop
from kling_studio.services.takes import Take
from kling_studio.ui.player.background import Background
from kling_studio.ui.player.player_widget import PlayerWidget


class CropExporter(QObject):
    """One crop export at a time, off the UI thread.

    Signals carry progress (0–1), the written file, or a message for people.
    """

    progressed = Signal(float)
    finished = Signal(object)  # Path
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._background = Background(workers=1, name="crop-export", parent=self)
        self._cancel: threading.Event | None = None

    @property
    def busy(self) -> bool:
        """True while an export runs."""
        return self._cancel is not None

    def start(self, master: Path, aspect: str, center: float, target: Path) -> None:
        """Export the ``aspect`` crop of ``master`` at ``center`` to ``target``."""
        if self._cancel is not None:
            return
        cancel = self._cancel = threading.Event()
        work = functools.partial(
            export_crop,
            master,
            target,
            aspect,
            center=center,
            progress=self.progressed.emit,  # from the worker: queued to this object's thread
            cancel=cancel,
        )
        self._background.submit(
            work,
            done=self._on_done,
            failed=self._on_failed,
        )

    def cancel(self) -> None:
        """Stop the running export (nothing is left behind)."""
        if self._cancel is not None:
            self._cancel.set()

    def close(self) -> None:
        """Stop and forget any export (the widget is going away)."""
        self.cancel()
        self._background.close()

    def _on_done(self, path: Path) -> None:
        self._cancel = None
        self.finished.emit(path)

    def _on_failed(self, error: BaseException) -> None:
        self._cancel = None
        if isinstance(error, CropCancelled):
            self.cancelled.emit()
        elif isinstance(error, CropError):
            self.failed.emit(str(error))
        else:
            self.failed.emit(f"The crop could not be made ({error}).")


class CropDialog(QDialog):
    """Preview and export 9:16 / 1:1 crops of one take.

    Args:
        take: The 16:9 master.
        folder: Where crops go (default: next to the master).
        parent: Owner.
    """

    def __init__(self, take: Take, folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Crops — {take.project_name}")
        self.setObjectName("cropDialog")
        self.take = take
        self.folder = folder
        self.player = PlayerWidget()
        self.exporter = CropExporter(self)
        self.vertical = QRadioButton("9:16 vertical")
        self.square = QRadioButton("1:1 square")
        self.vertical.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.vertical)
        group.addButton(self.square)
        group.buttonToggled.connect(self._on_aspect_toggled)
        hint = QLabel("Drag the frame sideways to place the crop.")
        hint.setProperty("role", "muted")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%p %")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.export_button = QPushButton("Export crop")
        self.export_button.setDefault(True)
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setEnabled(False)
        close = QPushButton("Close")
        self.export_button.clicked.connect(self.export)
        self.cancel_button.clicked.connect(self.exporter.cancel)
        close.clicked.connect(self.reject)
        self.exporter.progressed.connect(lambda share: self.progress.setValue(int(share * 1000)))
        self.exporter.finished.connect(self._on_exporter_finished)
        self.exporter.failed.connect(self._on_exporter_failed)
        self.exporter.cancelled.connect(self._on_exporter_cancelled)

        options = QHBoxLayout()
        options.addWidget(self.vertical)
        options.addWidget(self.square)
        options.addSpacing(12)
        options.addWidget(hint)
        options.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.export_button)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.player, 1)
        layout.addLayout(options)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(1000, 720)
        self.player.load(take.video_path)
        self.player.view.show_crop_frame("9:16")

    @property
    def aspect(self) -> str:
        """The chosen crop."""
        return "9:16" if self.vertical.isChecked() else "1:1"

    def target(self) -> Path:
        """Where the crop will be written."""
        return crop_path(self.take.video_path, self.aspect, self.folder)

    def export(self) -> None:
        """Start exporting the crop as placed."""
        if self.exporter.busy:
            return
        self.export_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText(f"Exporting {self.target().name}…")
        self.exporter.start(self.take.video_path, self.aspect, self.player.view.crop_item.center, self.target())

    def done(self, result: int) -> None:
        """Closing stops the export and the player."""
        self.exporter.close()
        self.player.close_media()
        super().done(result)

    def _on_aspect_toggled(self, *_args: object) -> None:
        self.player.view.show_crop_frame(self.aspect)

    def _finish(self, text: str) -> None:
        self.export_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText(text)

    def _on_exporter_finished(self, path: Path) -> None:
        self.progress.setValue(1000)
        self._finish(f"Saved {path}")

    def _on_exporter_failed(self, message: str) -> None:
        self._finish(message)

    def _on_exporter_cancelled(self) -> None:
        self.progress.setValue(0)
        self._finish("Stopped; nothing was saved.")


__all__ = ["CropDialog", "CropExporter"]
