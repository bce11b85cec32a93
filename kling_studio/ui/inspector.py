"""The inspector: the selected shot (or the single prompt) and the generation settings.

Shot: its prompt with the live lint shown right under it, its duration and its cost. Settings: tier, aspect
ratio, audio, negative prompt, cfg scale, shot type and the single ↔ shots switch. Going back from shots to
a single prompt asks which text to keep, with a non-blocking dialog. Every change goes through the
:class:`~kling_studio.ui.edits.ProjectEditor`; the widgets re-render from the model after every change.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics, QIcon
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kling_studio.core.limits import (
    MAX_SHOT_SECONDS,
    MAX_TOTAL_SECONDS,
    MIN_SHOT_SECONDS,
    MIN_TOTAL_SECONDS,
    AspectRatio,
    Mode,
    ShotType,
    Tier,
)
from kling_studio.core.money import format_usd
from kling_studio.core.project import Project
from kling_studio.core.storyboard import StoryboardError
from kling_studio.core.validation import Problem, Severity
from kling_studio.ui.brief_editor import set_plain_text_keeping_cursor
from kling_studio.ui.dialogs.keep_text_dialog import KeepTextDialog
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.live_report import LiveReport, ProjectReport
from kling_studio.ui.selection import ShotSelection

TIER_LABELS = {
    Tier.STANDARD: "Standard · 720p",
    Tier.PRO: "Pro · 1080p",
    Tier.K4: "4K · native 2160p",
}
ASPECT_LABELS = {
    AspectRatio.LANDSCAPE: "16:9 wide",
    AspectRatio.PORTRAIT: "9:16 tall",
    AspectRatio.SQUARE: "1:1 square",
}
SHOT_TYPE_LABELS = {
    ShotType.CUSTOMIZE: "My shots",
    ShotType.INTELLIGENT: "Kling plans cuts",
}
_SHOT_PATH = re.compile(r"^shots\[(\d+)\]\.(\w+)$")


def _section_title(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("sectionTitle")
    return label


def _set_problem(widget: QWidget, flagged: bool) -> None:
    if widget.property("problem") != flagged:
        widget.setProperty("problem", flagged)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class Inspector(QWidget):
    """Properties of the selected shot and the project's generation settings.

    Args:
        project: the project being edited.
        editor: the one way edits reach the project.
        selection: which shot is current.
        live: validation and prices of the project.
        icons: optional icons by name (``single``, ``multi``, ``warning``, ``error``).
        parent: Qt parent.

    Signals:
        edit_refused(str): an edit was refused; the message says why (the window shows it).
    """

    edit_refused = Signal(str)

    def __init__(
        self,
        project: Project,
        editor: ProjectEditor,
        selection: ShotSelection,
        live: LiveReport,
        icons: dict[str, QIcon] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._project = project
        self._editor = editor
        self._selection = selection
        self._live = live
        self._report = live.report
        self._keep_dialog: KeepTextDialog | None = None
        icons = icons or {}

        body = QWidget(self)
        self._build_shot_section(body)
        self._build_settings_section(body, icons)
        column = QVBoxLayout(body)
        column.setContentsMargins(12, 10, 12, 10)
        column.setSpacing(8)
        column.addWidget(_section_title("Storyboard", body))
        column.addLayout(self._mode_row)
        column.addWidget(self.shot_title)
        column.addWidget(self.prompt_edit)
        column.addWidget(self.lint_label)
        column.addLayout(self._duration_row)
        column.addWidget(self.cost_label)
        column.addSpacing(8)
        column.addWidget(_section_title("Settings", body))
        column.addLayout(self._settings_form)
        column.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.setMinimumWidth(280)

        project.changed.connect(self._render)
        selection.current_changed.connect(self._on_selection_current_changed)
        live.updated.connect(self._on_live_updated)
        self._render()

    # ---- building ------------------------------------------------------------------------------------
    def _build_shot_section(self, body: QWidget) -> None:
        self.single_button = QPushButton("Single prompt", body)
        self.multi_button = QPushButton("Shots", body)
        self._mode_group = QButtonGroup(self)
        for button, mode in ((self.single_button, Mode.SINGLE), (self.multi_button, Mode.MULTI)):
            button.setCheckable(True)
            button.setAccessibleName(f"Storyboard mode: {button.text()}")
            self._mode_group.addButton(button)
            button.clicked.connect(lambda _checked=False, m=mode: self._on_mode_button_clicked(m))
        self._mode_row = QHBoxLayout()
        self._mode_row.setSpacing(0)
        self._mode_row.addWidget(self.single_button)
        self._mode_row.addWidget(self.multi_button)

        self.shot_title = QLabel(body)
        self.shot_title.setWordWrap(True)
        self.shot_title.setStyleSheet("font-weight: 600;")
        self.prompt_edit = QPlainTextEdit(body)
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setAccessibleName("Prompt")
        line = QFontMetrics(self.prompt_edit.font()).lineSpacing()
        self.prompt_edit.setMinimumHeight(line * 5 + 18)
        self.prompt_edit.textChanged.connect(self._on_prompt_edit_text_changed)
        self.lint_label = QLabel(body)
        self.lint_label.setWordWrap(True)
        self.lint_label.setTextFormat(Qt.TextFormat.RichText)
        self.lint_label.setAccessibleName("Prompt problems")

        self.duration_spin = QSpinBox(body)
        self.duration_spin.setSuffix(" s")
        self.duration_spin.setKeyboardTracking(False)
        self.duration_spin.setAccessibleName("Duration in seconds")
        self.duration_spin.valueChanged.connect(self._on_duration_spin_value_changed)
        self.cost_label = QLabel(body)
        self.cost_label.setAccessibleName("Cost")
        self.remaining_label = QLabel(body)
        self.remaining_label.setProperty("role", "muted")
        duration_label = QLabel("Duration", body)
        duration_label.setBuddy(self.duration_spin)
        self._duration_row = QHBoxLayout()
        self._duration_row.setSpacing(8)
        self._duration_row.addWidget(duration_label)
        self._duration_row.addWidget(self.duration_spin)
        self._duration_row.addWidget(self.remaining_label, 1)
        self.cost_label.setWordWrap(True)

    def _build_settings_section(self, body: QWidget, icons: dict[str, QIcon]) -> None:
        self.tier_combo = QComboBox(body)
        for tier, label in TIER_LABELS.items():
            self.tier_combo.addItem(label, tier)
        self.tier_combo.currentIndexChanged.connect(
            lambda _i: self._set("tier", self.tier_combo.currentData())
        )
        self.aspect_combo = QComboBox(body)
        for ratio, label in ASPECT_LABELS.items():
            self.aspect_combo.addItem(label, ratio)
        self.aspect_combo.currentIndexChanged.connect(
            lambda _i: self._set("aspect_ratio", self.aspect_combo.currentData())
        )
        self.audio_check = QCheckBox("Sound and speech", body)
        self.audio_check.toggled.connect(lambda on: self._set("generate_audio", on))
        self.negative_edit = QLineEdit(body)
        self.negative_edit.setPlaceholderText("What to avoid: blur, distort, and low quality")
        self.negative_edit.textEdited.connect(lambda text: self._set("negative_prompt", text))
        self.cfg_slider = QSlider(Qt.Orientation.Horizontal, body)
        self.cfg_slider.setRange(0, 100)
        self.cfg_slider.setAccessibleName("cfg scale")
        self.cfg_slider.setToolTip("Lower: more creative freedom. Higher: follows the prompt closely.")
        self.cfg_slider.valueChanged.connect(lambda v: self._set("cfg_scale", round(v / 100, 2)))
        self.cfg_value = QLabel(body)
        self.cfg_value.setMinimumWidth(QFontMetrics(self.cfg_value.font()).horizontalAdvance("0.00") + 4)
        cfg_row = QHBoxLayout()
        cfg_row.addWidget(self.cfg_slider, 1)
        cfg_row.addWidget(self.cfg_value)
        self.shot_type_combo = QComboBox(body)
        for shot_type, label in SHOT_TYPE_LABELS.items():
            self.shot_type_combo.addItem(label, shot_type)
        self.shot_type_combo.currentIndexChanged.connect(self._on_shot_type_combo_changed)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        self.tier_combo.setToolTip("Standard and Pro for drafts, 4K for finals")
        self.shot_type_combo.setToolTip(
            "My shots: you lay out the storyboard. Kling plans cuts: one prompt, the model cuts it."
        )
        for combo in (self.tier_combo, self.aspect_combo, self.shot_type_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.negative_edit.setMinimumWidth(80)
        form.addRow("Tier", self.tier_combo)
        form.addRow("Aspect ratio", self.aspect_combo)
        form.addRow("Audio", self.audio_check)
        form.addRow("Negative prompt", self.negative_edit)
        form.addRow("cfg scale", cfg_row)
        form.addRow("Shot type", self.shot_type_combo)
        self._settings_form = form

    # ---- public --------------------------------------------------------------------------------------
    def focus_field(self, field_path: str) -> None:
        """Put the focus on the control of ``field_path`` (``prompt``, ``shots[2].duration``, ``tier``…)."""
        match = _SHOT_PATH.match(field_path)
        name = match.group(2) if match else field_path
        target = {
            "prompt": self.prompt_edit,
            "duration": self.duration_spin,
            "tier": self.tier_combo,
            "aspect_ratio": self.aspect_combo,
            "generate_audio": self.audio_check,
            "negative_prompt": self.negative_edit,
            "cfg_scale": self.cfg_slider,
            "shot_type": self.shot_type_combo,
            "mode": self.multi_button,
        }.get(name)
        if target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def detach(self) -> None:
        """Stop following the project (it is being replaced)."""
        self._project.changed.disconnect(self._render)

    # ---- model → widgets -----------------------------------------------------------------------------
    def _on_selection_current_changed(self, _shot_id: str) -> None:
        self._render()

    def _on_live_updated(self, report: ProjectReport) -> None:
        self._report = report
        self._render_report()

    def _current_shot_index(self) -> int:
        board = self._project.storyboard
        if board.mode is not Mode.MULTI or not board.shots:
            return -1
        index = self._selection.current_index
        return index if index >= 0 else 0

    def _render(self) -> None:
        project = self._project
        board = project.storyboard
        values = project.settings.values
        multi = board.mode is Mode.MULTI
        self.single_button.setChecked(not multi)
        self.multi_button.setChecked(multi)
        index = self._current_shot_index()
        widgets = (self.prompt_edit, self.duration_spin)
        for widget in widgets:
            widget.blockSignals(True)
        if multi and index >= 0:
            shot = board.shots[index]
            self.shot_title.setText(f"Shot {index + 1} of {len(board.shots)}")
            set_plain_text_keeping_cursor(self.prompt_edit, shot.prompt)
            self.prompt_edit.setPlaceholderText("What happens in this shot: action, camera move, framing")
            self.duration_spin.setRange(MIN_SHOT_SECONDS, MAX_SHOT_SECONDS)
            self.duration_spin.setValue(shot.duration)
        else:
            planned = values.shot_type == ShotType.INTELLIGENT
            self.shot_title.setText("Whole clip — Kling plans the cuts" if planned else "Whole clip")
            set_plain_text_keeping_cursor(self.prompt_edit, board.prompt)
            self.prompt_edit.setPlaceholderText("Describe the clip, or fill in the brief to build the prompt")
            self.duration_spin.setRange(MIN_TOTAL_SECONDS, MAX_TOTAL_SECONDS)
            self.duration_spin.setValue(board.duration)
        for widget in widgets:
            widget.blockSignals(False)
        left = f"{board.remaining_seconds} s of {MAX_TOTAL_SECONDS} s left" if multi else ""
        self.remaining_label.setText(left)
        self._render_settings()
        self._render_report()

    def _render_aspect_source(self) -> None:
        """With a start frame fal takes the aspect ratio from the image: the control then has no effect."""
        from_image = self._project.references.start_frame is not None
        self.aspect_combo.setEnabled(not from_image)
        self.aspect_combo.setToolTip(
            "From the start image: image-to-video clips take the start image's aspect ratio"
            if from_image
            else "The clip's shape: 16:9 landscape, 9:16 portrait or 1:1 square"
        )
        label = self._settings_form.labelForField(self.aspect_combo)
        if label is not None:
            label.setText("Aspect ratio\n(from the start image)" if from_image else "Aspect ratio")

    def _render_settings(self) -> None:
        values = self._project.settings.values
        controls = (
            self.tier_combo,
            self.aspect_combo,
            self.audio_check,
            self.negative_edit,
            self.cfg_slider,
            self.shot_type_combo,
        )
        for control in controls:
            control.blockSignals(True)
        self.tier_combo.setCurrentIndex(max(0, self.tier_combo.findData(values.tier)))
        self.aspect_combo.setCurrentIndex(max(0, self.aspect_combo.findData(values.aspect_ratio)))
        self._render_aspect_source()
        self.audio_check.setChecked(values.generate_audio is True)
        if self.negative_edit.text() != values.negative_prompt:
            self.negative_edit.setText(str(values.negative_prompt))
            self.negative_edit.setCursorPosition(0)
        cfg = values.cfg_scale if isinstance(values.cfg_scale, int | float) else 0.5
        self.cfg_slider.setValue(round(cfg * 100))
        self.cfg_value.setText(f"{cfg:.2f}")
        self.shot_type_combo.setCurrentIndex(max(0, self.shot_type_combo.findData(values.shot_type)))
        for control in controls:
            control.blockSignals(False)

    def _render_report(self) -> None:
        report = self._report
        index = self._current_shot_index()
        field_path = f"shots[{index}].prompt" if index >= 0 else "prompt"
        duration_path = f"shots[{index}].duration" if index >= 0 else "duration"
        mine = [p for p in report.problems if p.field_path == field_path]
        self.lint_label.setText(_problems_html(mine))
        self.lint_label.setVisible(bool(mine))
        _set_problem(self.prompt_edit, any(p.severity is Severity.ERROR for p in mine))
        _set_problem(self.duration_spin, any(p.field_path == duration_path for p in report.errors))
        current = report.current
        if current is None:
            self.cost_label.setText("")
        elif index >= 0 and index < len(current.lines):
            line = current.lines[index]
            rate = f"${current.price_per_second}/s"
            self.cost_label.setText(f"Shot cost {format_usd(line.cost)} · {line.seconds} s × {rate}")
        else:
            rate = f"${current.price_per_second}/s"
            self.cost_label.setText(f"Clip cost {format_usd(current.total)} · {current.seconds} s × {rate}")

    # ---- widgets → model -----------------------------------------------------------------------------
    def _run(self, edit) -> None:
        try:
            edit()
        except StoryboardError as exc:
            self.edit_refused.emit(str(exc))
            self._render()

    def _set(self, name: str, value: object) -> None:
        self._run(lambda: self._editor.set_setting(name, value))

    def _on_prompt_edit_text_changed(self) -> None:
        text = self.prompt_edit.toPlainText()
        index = self._current_shot_index()
        if index >= 0:
            shot_id = self._project.storyboard.shots[index].id
            self._run(lambda: self._editor.set_shot_prompt(shot_id, text))
        else:
            self._run(lambda: self._editor.set_prompt(text))

    def _on_duration_spin_value_changed(self, seconds: int) -> None:
        index = self._current_shot_index()
        if index >= 0:
            shot_id = self._project.storyboard.shots[index].id
            self._run(lambda: self._editor.resize_shot(shot_id, seconds))
        else:
            self._run(lambda: self._editor.set_single_duration(seconds))

    def _on_mode_button_clicked(self, mode: Mode) -> None:
        board = self._project.storyboard
        if mode is board.mode:
            return
        if mode is Mode.MULTI:
            self._run(lambda: self._editor.set_mode(Mode.MULTI))
            return
        self._render()  # keep showing the current mode until the user has answered
        self._ask_which_text(lambda keep: self._editor.set_mode(Mode.SINGLE, keep=keep))

    def _on_shot_type_combo_changed(self, _index: int) -> None:
        shot_type = self.shot_type_combo.currentData()
        if shot_type == ShotType.INTELLIGENT and self._project.storyboard.mode is Mode.MULTI:
            self._render()
            self._ask_which_text(lambda keep: self._editor.set_shot_type(ShotType.INTELLIGENT, keep=keep))
            return
        self._run(lambda: self._editor.set_shot_type(shot_type))

    def _ask_which_text(self, then) -> None:
        """Open the non-blocking "which text to keep" dialog; ``then(keep)`` runs when the user answers."""
        if self._keep_dialog is not None:
            self._keep_dialog.deleteLater()
        dialog = KeepTextDialog(self)
        dialog.keep_chosen.connect(lambda keep: self._run(lambda: then(keep)))
        self._keep_dialog = dialog
        dialog.open()

    @property
    def keep_text_dialog(self) -> KeepTextDialog | None:
        """The "which text to keep" dialog while it is (or was last) open."""
        return self._keep_dialog


def _problems_html(problems: list[Problem]) -> str:
    rows = []
    for problem in problems:
        color = "#ff5d5d" if problem.severity is Severity.ERROR else "#f0b429"
        mark = "●"
        rows.append(
            f"<div><span style='color:{color}'>{mark}</span> {_escape(problem.message)}"
            f"<br><span style='color:gray'>{_escape(problem.hint)}</span></div>"
        )
    return "".join(rows)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
