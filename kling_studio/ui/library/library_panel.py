"""The library panel: search, the project/take tree, the selected take's details and review, and delivery.

Playing, comparing and exporting are requests (signals) the window answers with its player and dialogs;
the panel itself only reads takes and saves reviews.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from kling_studio.core.money import format_usd
from kling_studio.services.takes import Take
from kling_studio.ui.icons import icon
from kling_studio.ui.library.library_model import COST, MADE, REVIEW, TIER, TITLE, LibraryModel, TakeFilter, TakeRole
from kling_studio.ui.review.review_panel import ReviewPanel


class TakeDetails(QWidget):
    """The sidecar's facts about one take: prompt, model and tier, cost, request id, dates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("takeDetails")
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout(self)
        form.setContentsMargins(10, 10, 10, 10)
        for key, label in (
            ("prompt", "Prompt"), ("shots", "Shots"), ("model", "Model"), ("cost", "Cost"),
            ("request", "Request id"), ("job", "Job"), ("made", "Made"), ("file", "File"),
        ):
            value = QLabel("—")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = value
            form.addRow(label, value)

    def set_take(self, take: Take | None) -> None:
        """Show ``take``'s facts (or dashes)."""
        if take is None:
            for value in self.fields.values():
                value.setText("—")
            return
        shots = " + ".join(f"{s} s" for s in take.shot_seconds)
        values = {
            "prompt": take.prompt,
            "shots": f"{shots} = {take.seconds} s" if len(take.shot_seconds) > 1 else shots,
            "model": f"{take.model_id} ({take.tier})",
            "cost": format_usd(take.estimated_cost) + (" — simulated, nothing charged" if take.simulated else ""),
            "request": take.request_id or "—",
            "job": take.job_id,
            "made": take.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if take.created_at else "—",
            "file": str(take.video_path),
        }
        for key, text in values.items():
            self.fields[key].setText(text)


class LibraryPanel(QWidget):
    """The output library.

    Args:
        model: The library model (call ``model.reload()`` to read takes).
        parent: Owner.
    """

    play_requested = Signal(object)  # Take
    compare_requested = Signal(object, object)  # Take, Take
    export_requested = Signal(object)  # Take (accepted): copy it with its sidecar to a folder
    crops_requested = Signal(object)  # Take: 9:16 and 1:1 crops
    markdown_requested = Signal(object)  # Take: brief and storyboard as Markdown

    def __init__(self, model: LibraryModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPanel")
        self.model = model
        self.proxy = TakeFilter(self)
        self.proxy.setSourceModel(model)
        color = self.palette().color(QPalette.ColorRole.ButtonText).name()
        self.search = QLineEdit()
        self.search.setObjectName("librarySearch")
        self.search.setPlaceholderText("Search prompts, projects, request ids…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.tree = QTreeView()
        self.tree.setObjectName("libraryTree")
        self.tree.setAccessibleName("Takes by project")
        self.tree.setModel(self.proxy)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setIconSize(QSize(128, 72))
        self.tree.setUniformRowHeights(False)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        for column, width in ((TIER, 50), (COST, 210), (REVIEW, 90), (MADE, 140)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.tree.setColumnWidth(column, width)
        header.setStretchLastSection(False)
        self.tree.doubleClicked.connect(self._on_tree_double_clicked)
        self.details = TakeDetails()
        self.review = ReviewPanel()
        self.review.review_saved.connect(self._on_review_saved)

        self.play_button = QPushButton(icon("play", color), "Play")
        self.compare_button = QPushButton(icon("compare", color), "Compare")
        self.compare_button.setToolTip("Select two takes (Ctrl+click) to compare them in sync")
        self.export_button = QPushButton(icon("export", color), "Export…")
        self.export_button.setToolTip("Copy the accepted take and its sidecar to a folder")
        self.crops_button = QPushButton(icon("crop", color), "Crops…")
        self.crops_button.setToolTip("9:16 and 1:1 crops of a 16:9 master")
        self.markdown_button = QPushButton("Brief as Markdown…")
        self.play_button.clicked.connect(lambda: self._emit_for_take(self.play_requested))
        self.export_button.clicked.connect(lambda: self._emit_for_take(self.export_requested))
        self.crops_button.clicked.connect(lambda: self._emit_for_take(self.crops_requested))
        self.markdown_button.clicked.connect(lambda: self._emit_for_take(self.markdown_requested))
        self.compare_button.clicked.connect(self._on_compare_clicked)
        self.empty = QLabel("No takes yet. Finished jobs are downloaded here, grouped by project.")
        self.empty.setProperty("role", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        actions = QHBoxLayout()
        for button in (self.play_button, self.compare_button, self.export_button, self.crops_button,
                       self.markdown_button):
            actions.addWidget(button)
        actions.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 0, 8)
        left_layout.addWidget(self.search)
        left_layout.addWidget(self.tree, 1)
        left_layout.addWidget(self.empty)
        left_layout.addLayout(actions)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.details)
        right.addWidget(self.review)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.tree.selectionModel().selectionChanged.connect(self._on_tree_selection_changed)
        model.modelReset.connect(self._on_model_reset)
        self._on_model_reset()

    # ---- API ----------------------------------------------------------------------------------------------
    def selected_takes(self) -> list[Take]:
        """The takes selected (project rows are skipped), in view order."""
        rows = self.tree.selectionModel().selectedRows(0)
        takes = [index.data(TakeRole) for index in sorted(rows, key=lambda i: self.tree.visualRect(i).top())]
        return [take for take in takes if take is not None]

    def current_take(self) -> Take | None:
        """The take whose details are shown."""
        return self.review.take()

    def select_take(self, video_path: Path) -> bool:
        """Select the take with this video; True when it is shown."""
        index = self.proxy.mapFromSource(self.model.take_index(video_path))
        if not index.isValid():
            return False
        self.tree.expand(index.parent())
        self.tree.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        return True

    # ---- slots --------------------------------------------------------------------------------------------
    def _emit_for_take(self, signal: Signal) -> None:
        take = self.current_take()
        if take is not None:
            signal.emit(take)  # type: ignore[attr-defined]

    def _update_actions(self) -> None:
        take = self.current_take()
        has = take is not None
        self.play_button.setEnabled(has)
        self.crops_button.setEnabled(has)
        self.markdown_button.setEnabled(has)
        self.export_button.setEnabled(has and take.accepted)  # type: ignore[union-attr]
        self.compare_button.setEnabled(len(self.selected_takes()) == 2)

    def _on_search_text_changed(self, text: str) -> None:
        self.proxy.set_search(text)
        self.tree.expandAll()

    def _on_tree_selection_changed(self, *_args: object) -> None:
        current = self.tree.currentIndex()
        take = current.data(TakeRole) if current.isValid() else None
        if take is None:
            selected = self.selected_takes()
            take = selected[-1] if selected else None
        self.details.set_take(take)
        self.review.set_take(take)
        self._update_actions()

    def _on_tree_double_clicked(self, index: QModelIndex) -> None:
        take = index.data(TakeRole)
        if take is not None:
            self.play_requested.emit(take)

    def _on_compare_clicked(self) -> None:
        takes = self.selected_takes()
        if len(takes) == 2:
            self.compare_requested.emit(takes[0], takes[1])

    def _on_review_saved(self, take: Take) -> None:
        self.model.update_take(take)
        self.details.set_take(take)
        self._update_actions()

    def _on_model_reset(self) -> None:
        self.tree.expandAll()
        has_takes = self.model.rowCount() > 0
        self.empty.setVisible(not has_takes)
        self.tree.setVisible(has_takes)
        self._on_tree_selection_changed()
