"""The problems panel: what fal would refuse and what the prompt guide advises, one row per problem.

Clicking a row announces the problem; the window then selects the shot and focuses the field it names.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLabel, QListView, QVBoxLayout, QWidget

from kling_studio.core.validation import Problem, Severity
from kling_studio.ui.live_report import LiveReport, ProjectReport

ProblemRole = Qt.ItemDataRole.UserRole + 1

_Index = QModelIndex | QPersistentModelIndex


class ProblemsModel(QAbstractListModel):
    """The project's problems as a list model (errors first).

    Args:
        error_icon: shown beside errors.
        warning_icon: shown beside warnings.
        parent: Qt parent.
    """

    def __init__(
        self,
        error_icon: QIcon | None = None,
        warning_icon: QIcon | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._problems: list[Problem] = []
        self._icons = {Severity.ERROR: error_icon, Severity.WARNING: warning_icon}

    def set_problems(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        """Show ``problems`` (a full reset: lists are short and change as a whole)."""
        if list(problems) == self._problems:
            return
        self.beginResetModel()
        self._problems = list(problems)
        self.endResetModel()

    def problem(self, row: int) -> Problem:
        """The problem on ``row``."""
        return self._problems[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        """Number of problems (a flat list has no children)."""
        return 0 if parent.isValid() else len(self._problems)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Message, hint as tooltip, severity icon, accessible text and the Problem itself."""
        if not index.isValid() or not 0 <= index.row() < len(self._problems):
            return None
        problem = self._problems[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return problem.message
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{problem.message}\nFix: {problem.hint}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{problem.severity.value}: {problem.message} Fix: {problem.hint}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icons.get(problem.severity)
        if role == ProblemRole:
            return problem
        return None


def summary_text(problems: tuple[Problem, ...] | list[Problem]) -> str:
    """``2 errors · 1 warning``, or a plain all-clear."""
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    warnings = len(problems) - errors
    if not problems:
        return "No problems — ready to generate"
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return " · ".join(parts)


class ProblemsPanel(QWidget):
    """A summary line over the list of problems; clicking one emits :attr:`problem_activated`.

    Args:
        live: the project's live report.
        error_icon: icon for errors.
        warning_icon: icon for warnings.
        parent: Qt parent.
    """

    problem_activated = Signal(object)

    def __init__(
        self,
        live: LiveReport,
        error_icon: QIcon | None = None,
        warning_icon: QIcon | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = ProblemsModel(error_icon, warning_icon, self)
        self._summary = QLabel(self)
        self._summary.setProperty("role", "muted")
        self._summary.setWordWrap(True)
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.view.setWordWrap(True)
        self.view.setUniformItemSizes(False)
        self.view.setAccessibleName("Problems")
        self.view.clicked.connect(self._on_view_clicked)
        self.view.activated.connect(self._on_view_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self._summary)
        layout.addWidget(self.view, 1)
        self.setMinimumSize(220, 120)
        live.updated.connect(self._on_live_updated)
        self._on_live_updated(live.report)

    def summary(self) -> str:
        """The summary line as shown."""
        return self._summary.text()

    def _on_live_updated(self, report: ProjectReport) -> None:
        self.model.set_problems(report.problems)
        self._summary.setText(summary_text(report.problems))

    def _on_view_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.problem_activated.emit(self.model.problem(index.row()))
