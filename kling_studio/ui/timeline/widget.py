"""The timeline panel: a small toolbar over the :class:`TimelineView`."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from kling_studio.core.limits import MAX_TOTAL_SECONDS, Mode, ShotType
from kling_studio.core.project import Project
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.icons import icon
from kling_studio.ui.selection import ShotSelection
from kling_studio.ui.timeline.geometry import ZOOM_STEP
from kling_studio.ui.timeline.scene import CostFor, TimelineScene
from kling_studio.ui.timeline.view import TimelineView

REFUSAL_SHOWN_MS = 6000


class TimelineWidget(QWidget):
    """The shot timeline with its toolbar: add shot, zoom, the clip's length, and why an edit was refused.

    Args:
        project: The project whose storyboard is shown.
        editor: Where every edit goes (one undoable command each).
        selection: The current shot, shared with the shot list and the inspector.
        cost_for: Price text of a shot by id ("" for the single-prompt clip), e.g. from the live report.
        parent: Qt parent.

    Signals:
        edit_requested(str): double-click or Enter on a block; the shot id ("" for the single prompt).
        edit_refused(str): an edit was refused; the message says why (also shown in the toolbar).
    """

    edit_requested = Signal(str)
    edit_refused = Signal(str)

    def __init__(
        self,
        project: Project,
        editor: ProjectEditor,
        selection: ShotSelection,
        cost_for: CostFor,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._project = project
        self.scene = TimelineScene(project, editor, selection, cost_for, self)
        self.view = TimelineView(self.scene, self)

        self.add_button = QToolButton(self)
        self.add_button.setText("Add shot")
        self.add_button.setToolTip("Add a shot after the current one (Insert)")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_button.setIcon(icon("add-shot", self.palette().text().color().name()))
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.zoom_out_button = self._tool_button("−", "Zoom out (Ctrl+wheel)", "Zoom out")
        self.zoom_out_button.clicked.connect(self._on_zoom_out_button_clicked)
        self.zoom_in_button = self._tool_button("+", "Zoom in (Ctrl+wheel)", "Zoom in")
        self.zoom_in_button.clicked.connect(self._on_zoom_in_button_clicked)
        self.fit_button = self._tool_button("Fit", "Fit 15 s into the width", "Zoom to fit")
        self.fit_button.clicked.connect(self._on_fit_button_clicked)
        self.length_label = QLabel(self)
        self.length_label.setObjectName("timelineLength")
        self.message_label = QLabel(self)
        self.message_label.setObjectName("timelineMessage")
        self.message_label.setWordWrap(False)
        # Long refusals must not widen the window: the label shrinks and its tooltip keeps the full text.
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.setInterval(REFUSAL_SHOWN_MS)
        self._message_timer.timeout.connect(self.message_label.clear)

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 0)
        bar.setSpacing(6)
        bar.addWidget(self.add_button)
        bar.addSpacing(8)
        bar.addWidget(self.length_label)
        bar.addSpacing(12)
        bar.addWidget(self.message_label, 1)
        for button in (self.zoom_out_button, self.zoom_in_button, self.fit_button):
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.setFocusProxy(self.view)

        self.scene.edit_requested.connect(self.edit_requested)
        self.scene.edit_refused.connect(self._on_scene_edit_refused)
        self.scene.layout_changed.connect(self._on_scene_layout_changed)
        self._on_scene_layout_changed()

    def detach(self) -> None:
        """Stop following the project (call before the project is replaced or the widget dropped)."""
        self.scene.detach()

    def _tool_button(self, text: str, tooltip: str, accessible: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tooltip)
        button.setAccessibleName(accessible)
        button.setAutoRaise(True)
        return button

    def _on_add_button_clicked(self) -> None:
        self.view.add_shot_after_current()
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_zoom_in_button_clicked(self) -> None:
        self.view.zoom_by(ZOOM_STEP)

    def _on_zoom_out_button_clicked(self) -> None:
        self.view.zoom_by(1 / ZOOM_STEP)

    def _on_fit_button_clicked(self) -> None:
        self.view.zoom_to_fit()

    def _on_scene_edit_refused(self, message: str) -> None:
        self.message_label.setText(message)
        self.message_label.setToolTip(message)
        self._message_timer.start()
        self.edit_refused.emit(message)

    def _on_scene_layout_changed(self) -> None:
        board = self._project.storyboard
        total = board.total_seconds
        if board.mode is Mode.MULTI:
            count = len(board.shots)
            text = f"{count} {'shot' if count == 1 else 'shots'} · {total} of {MAX_TOTAL_SECONDS} s"
        elif self._project.settings.shot_type == ShotType.INTELLIGENT:
            text = f"Intelligent · {total} of {MAX_TOTAL_SECONDS} s"
        else:
            text = f"Single prompt · {total} of {MAX_TOTAL_SECONDS} s"
        self.length_label.setText(text)
        self.add_button.setEnabled(
            board.mode is Mode.SINGLE or board.refusal("insert_shot", len(board.shots)) is None
        )
