"""The output library as a Qt tree model: projects, each with its downloaded takes, newest first.

Takes are read from their sidecars, and each project's cost per accepted second from the ledger, on a worker
thread (:meth:`LibraryModel.reload`); posters are decoded on a worker the first time a take's row is shown.
Search is a :class:`TakeFilter` proxy over it (prompt, project, request id).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QImage

from kling_studio.core.money import format_usd
from kling_studio.services.frame_cache import CachedFrame, poster_frame
from kling_studio.services.takes import (
    CostPerSecond,
    ProjectSpend,
    Take,
    Verdict,
    cost_per_accepted_second,
    list_takes,
)
from kling_studio.ui.player.background import Background

_Index = QModelIndex | QPersistentModelIndex

TakeRole = Qt.ItemDataRole.UserRole + 11
ProjectRole = Qt.ItemDataRole.UserRole + 12
SearchTextRole = Qt.ItemDataRole.UserRole + 13

COLUMNS = ("Take", "Tier", "Cost", "Review", "Made")
TITLE, TIER, COST, REVIEW, MADE = range(len(COLUMNS))
POSTER_BOX = (128, 72)
_NO_PARENT = 0xFFFFFFFF  # internalId of project rows

_VERDICT_TEXT = {Verdict.ACCEPTED: "accepted", Verdict.REJECTED: "rejected", Verdict.UNREVIEWED: "to review"}
_VERDICT_COLOR = {Verdict.ACCEPTED: "#3ecf8e", Verdict.REJECTED: "#ff5d5d", Verdict.UNREVIEWED: "#9a9ca5"}


@dataclass
class ProjectTakes:
    """One project's takes and what they cost per accepted second."""

    name: str
    takes: list[Take]
    cost: CostPerSecond

    @property
    def summary(self) -> str:
        """``3 takes · 2 accepted``."""
        accepted = sum(1 for t in self.takes if t.accepted)
        plural = "s" if len(self.takes) != 1 else ""
        return f"{len(self.takes)} take{plural} · {accepted} accepted"


def cost_text(cost: CostPerSecond) -> str:
    """``$0.478 / accepted s`` (simulated marked), or what is missing for a figure."""
    if cost.per_second is None:
        return "none accepted yet"
    shown = cost.per_second.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    mark = " · sim" if cost.simulated else ""
    return f"${shown} / accepted s{mark}"


def group_takes(takes: Iterable[Take], ledger: ProjectSpend) -> list[ProjectTakes]:
    """Takes grouped by project (projects with the newest take first), with each project's cost."""
    groups: dict[str, list[Take]] = {}
    for take in takes:
        groups.setdefault(take.project_name, []).append(take)
    everything = [t for group in groups.values() for t in group]
    return [ProjectTakes(name, group, cost_per_accepted_second(name, everything, ledger))
            for name, group in groups.items()]


def load_library(outputs_root: Path, ledger: ProjectSpend) -> list[ProjectTakes]:
    """Read every take and each project's cost (blocking: sidecars and the ledger)."""
    return group_takes(list_takes(outputs_root), ledger)


class LibraryModel(QAbstractItemModel):
    """Projects (top level) and their takes (children).

    Args:
        outputs_root: ``<data>/outputs``.
        ledger: Spend per project (``store.ledger``).
        parent: Owner.
    """

    reloaded = Signal()
    poster_ready = Signal(str)  # video path

    def __init__(self, outputs_root: Path, ledger: ProjectSpend, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = Path(outputs_root)
        self._ledger = ledger
        self._projects: list[ProjectTakes] = []
        self._posters: dict[str, QImage | None] = {}
        self._poster_frames: dict[str, CachedFrame] = {}
        self._loader = Background(workers=1, name="library", parent=self)
        self._poster_maker = Background(workers=1, name="library-posters", parent=self)
        self._load_token = 0

    # ---- loading ----------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the takes again off the UI thread; :attr:`reloaded` follows."""
        self._load_token += 1
        token = self._load_token
        self._loader.submit(
            load_library, self._root, self._ledger, done=lambda projects: self._on_loaded(token, projects)
        )

    def set_projects(self, projects: list[ProjectTakes]) -> None:
        """Show exactly ``projects``."""
        self.beginResetModel()
        self._projects = list(projects)
        self.endResetModel()

    def _on_loaded(self, token: int, projects: list[ProjectTakes]) -> None:
        if token != self._load_token:
            return
        self.set_projects(projects)
        self.reloaded.emit()

    def update_take(self, take: Take) -> None:
        """A take changed (e.g. its review): show it, and refresh its project's cost off the UI thread."""
        for p_row, project in enumerate(self._projects):
            for t_row, existing in enumerate(project.takes):
                if existing.video_path == take.video_path:
                    project.takes[t_row] = take
                    parent = self.index(p_row, 0)
                    self.dataChanged.emit(self.index(t_row, 0, parent), self.index(t_row, len(COLUMNS) - 1, parent))
                    self._recost(p_row)
                    return

    def _recost(self, p_row: int) -> None:
        project = self._projects[p_row]
        takes = list(project.takes)
        self._loader.submit(
            cost_per_accepted_second,
            project.name,
            takes,
            self._ledger,
            done=lambda cost: self._on_recosted(project, cost),
        )

    def _on_recosted(self, project: ProjectTakes, cost: CostPerSecond) -> None:
        if project not in self._projects:
            return
        project.cost = cost
        row = self._projects.index(project)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def close(self) -> None:
        """Stop worker threads' deliveries."""
        self._loader.close()
        self._poster_maker.close()

    # ---- reading ------------------------------------------------------------------------------------------
    def projects(self) -> list[ProjectTakes]:
        """The projects as shown."""
        return list(self._projects)

    def take_index(self, video_path: Path) -> QModelIndex:
        """The row of the take with this video (invalid when not shown)."""
        for p_row, project in enumerate(self._projects):
            for t_row, take in enumerate(project.takes):
                if take.video_path == Path(video_path):
                    return self.index(t_row, 0, self.index(p_row, 0))
        return QModelIndex()

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Project rows have no parent; take rows point at their project through internalId."""
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _NO_PARENT)
        return self.createIndex(row, column, parent.row())

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        """A take's project; nothing for a project."""
        if not index.isValid() or index.internalId() == _NO_PARENT:
            return QModelIndex()
        return self.createIndex(int(index.internalId()), 0, _NO_PARENT)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """Projects at the top, takes under a project."""
        if not parent.isValid():
            return len(self._projects)
        if parent.column() != 0 or parent.internalId() != _NO_PARENT:
            return 0
        return len(self._projects[parent.row()].takes)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """Take, tier, cost, review, made."""
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole and horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Project rows: name, count, cost per accepted second. Take rows: prompt, tier, cost, verdict, date."""
        if not index.isValid():
            return None
        if index.internalId() == _NO_PARENT:
            return self._project_data(self._projects[index.row()], index.column(), role)
        project = self._projects[int(index.internalId())]
        if index.row() >= len(project.takes):
            return None
        return self._take_data(project.takes[index.row()], index.column(), role)

    def _project_data(self, project: ProjectTakes, column: int, role: int) -> Any:
        if role == ProjectRole:
            return project
        if role == SearchTextRole:
            return project.name
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column == TITLE:
                return f"{project.name}  —  {project.summary}"
            if column == COST:
                return cost_text(project.cost)
        if role == Qt.ItemDataRole.ToolTipRole and column == COST:
            spent = format_usd(project.cost.spend)
            kind = "simulated spend" if project.cost.simulated else "spend"
            return f"All {kind} on {project.name}: {spent} ÷ {project.cost.accepted_seconds} accepted seconds"
        return None

    def _take_data(self, take: Take, column: int, role: int) -> Any:
        if role == TakeRole:
            return take
        if role == SearchTextRole:
            return " ".join((take.prompt, take.project_name, take.request_id or "", take.job_id))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if column == TITLE:
                prompt = take.prompt if len(take.prompt) <= 90 else take.prompt[:89] + "…"
                return f"{prompt}\n{take.seconds} s · {len(take.shot_seconds)} shot(s) · {take.job_id}"
            if column == TIER:
                return take.tier
            if column == COST:
                return format_usd(take.estimated_cost) + (" sim" if take.simulated else "")
            if column == REVIEW:
                return _VERDICT_TEXT[take.review.verdict]
            if column == MADE:
                return take.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if take.created_at else "—"
        if role == Qt.ItemDataRole.DecorationRole and column == TITLE:
            return self._poster(take)
        if role == Qt.ItemDataRole.ForegroundRole and column == REVIEW:
            return QColor(_VERDICT_COLOR[take.review.verdict])
        if role == Qt.ItemDataRole.ToolTipRole and column == TITLE:
            return take.prompt
        return None

    # ---- posters ----------------------------------------------------------------------------------------
    def _poster(self, take: Take) -> QImage | None:
        key = str(take.video_path)
        if key in self._posters:
            return self._posters[key]
        self._posters[key] = None
        self._poster_maker.submit(
            poster_frame, take.video_path, POSTER_BOX,
            done=lambda frame: self._on_poster_made(key, frame), failed=lambda _error: None,
        )
        return None

    def _on_poster_made(self, key: str, frame: CachedFrame) -> None:
        self._poster_frames[key] = frame  # the QImage shares these bytes
        self._posters[key] = QImage(frame.pixels, frame.width, frame.height, frame.width * 4,
                                    QImage.Format.Format_RGB32)
        index = self.take_index(Path(key))
        if index.isValid():
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
        self.poster_ready.emit(key)


class TakeFilter(QSortFilterProxyModel):
    """Shows the takes whose prompt, project or request id holds every word typed (and their projects)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(True)
        self._words: list[str] = []

    def set_search(self, text: str) -> None:
        """Filter by ``text`` (empty shows everything)."""
        self.beginFilterChange()
        self._words = text.casefold().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        """Rows whose search text holds every word."""
        if not self._words:
            return True
        model = self.sourceModel()
        text = str(model.index(source_row, 0, source_parent).data(SearchTextRole) or "").casefold()
        is_take = source_parent.isValid()
        return is_take and all(word in text for word in self._words)

