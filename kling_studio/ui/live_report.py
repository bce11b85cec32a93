"""Validation and prices of the open project, recomputed synchronously on every change.

Both are pure-Python and take well under a millisecond, so they run inside the model's ``changed`` event:
every widget that shows a problem or a price is up to date before the next frame is painted, with no timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QObject, Signal

from kling_studio.core.errors import UserError
from kling_studio.core.limits import Mode, Tier
from kling_studio.core.pricing import Estimate, PriceCatalog, estimate_tiers
from kling_studio.core.project import Project
from kling_studio.core.request import parse_tier
from kling_studio.core.validation import Problem, Severity, validate


@dataclass(frozen=True)
class ProjectReport:
    """What the project would cost and what is wrong with it, at one moment.

    Attributes:
        problems: every problem, errors first.
        estimates: the price at each tier, keyed by tier (missing when a tier cannot be priced).
        tier: the tier the project is set to.
        shot_ids: ids of the storyboard's shots in order (empty for a single prompt).
    """

    problems: tuple[Problem, ...]
    estimates: dict[Tier, Estimate]
    tier: Tier
    shot_ids: tuple[str, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems fal would refuse."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def current(self) -> Estimate | None:
        """The estimate at the chosen tier."""
        return self.estimates.get(self.tier)

    def shot_cost(self, shot_id: str) -> Decimal | None:
        """The chosen tier's cost of one shot, or None when unknown."""
        current = self.current
        if current is None or shot_id not in self.shot_ids:
            return None
        index = self.shot_ids.index(shot_id)
        if index >= len(current.lines):
            return None
        return current.lines[index].cost


def make_report(project: Project, catalog: PriceCatalog) -> ProjectReport:
    """Validate and price ``project`` at every tier."""
    problems = tuple(validate(project))
    try:
        estimates = estimate_tiers(project, catalog=catalog)
    except UserError:
        estimates = {}  # a price file without these models: the meter says prices are unknown
    board = project.storyboard
    shot_ids = tuple(s.id for s in board.shots) if board.mode is Mode.MULTI else ()
    try:
        tier = parse_tier(project.settings.tier)
    except UserError:
        tier = Tier.PRO  # validation reports the bad value; price the default meanwhile
    return ProjectReport(problems, estimates, tier, shot_ids)


class LiveReport(QObject):
    """Keeps a :class:`ProjectReport` of one project current.

    Args:
        project: the project to watch.
        catalog: the prices to use.
        parent: Qt parent.

    Signals:
        updated(ProjectReport): after every change of the project (and when the catalog changes).
    """

    updated = Signal(object)

    def __init__(self, project: Project, catalog: PriceCatalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._project = project
        self._catalog = catalog
        self._report = make_report(project, catalog)
        project.changed.connect(self._on_project_changed)

    @property
    def report(self) -> ProjectReport:
        """The latest report."""
        return self._report

    def set_catalog(self, catalog: PriceCatalog) -> None:
        """Use new prices (e.g. refreshed by the services) and report again."""
        self._catalog = catalog
        self._refresh()

    def detach(self) -> None:
        """Stop watching the project (before it is replaced)."""
        self._project.changed.disconnect(self._on_project_changed)

    def _on_project_changed(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        self._report = make_report(self._project, self._catalog)
        self.updated.emit(self._report)
