"""The cost meter: exact prices at the chosen and other tiers, spend, simulator note, Generate's label."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtGui import QUndoStack

from kling_studio.core.limits import Mode
from kling_studio.core.pricing import PriceCatalog
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.ui.cost_meter import CostMeter, Spend
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.live_report import LiveReport


def _project(*durations: int, tier: str = "4k", audio: bool = True) -> Project:
    shots = [Shot(f"shot {i + 1} prompt", d) for i, d in enumerate(durations)]
    project = Project(storyboard=Storyboard(mode=Mode.MULTI, shots=shots))
    project.settings.set("tier", tier)
    project.settings.set("generate_audio", audio)
    return project


@pytest.fixture
def meter_for(qtbot):
    def build(project: Project) -> CostMeter:
        live = LiveReport(project, PriceCatalog.bundled())
        meter = CostMeter(live)
        meter._live = live  # keep the report alive as long as the widget
        qtbot.addWidget(meter)
        return meter

    return build


def test_shows_the_total_the_other_tiers_and_the_generate_price(meter_for):
    meter = meter_for(_project(4, 3, 5, tier="4k"))  # 12 s at $0.42 = $5.04

    assert meter.total_label.text() == "$5.04"
    assert meter.generate_button.text() == "Generate 4k — $5.04"
    assert meter.generate_button.isEnabled()
    # 12 s with audio: standard $0.126/s = $1.512 → $1.51; pro $0.168/s = $2.016 → $2.02
    assert meter.tiers_label.text() == "draft at standard: $1.51 · draft at pro: $2.02"


def test_an_edit_updates_the_price_at_once_without_waiting_for_events(meter_for):
    project = _project(4, 3, 5, tier="4k")
    meter = meter_for(project)
    editor = ProjectEditor(project, QUndoStack())

    editor.resize_shot(project.storyboard.shots[0].id, 6)  # 14 s

    assert meter.total_label.text() == "$5.88"  # no processEvents: same frame
    assert meter.generate_button.text() == "Generate 4k — $5.88"
    editor.set_setting("tier", "standard")
    assert meter.generate_button.text() == "Generate standard — $1.76"  # 14 × 0.126 = 1.764


@pytest.mark.parametrize(
    ("durations", "prompts", "reason"),
    [
        ((6, 5, 5), ("a", "b", "c"), "16"),
        ((4, 3, 5), ("a", "b", ""), "Shot 3"),
    ],
    ids=["16 s total", "empty prompt"],
)
def test_errors_disable_generate_and_name_the_problem(meter_for, durations, prompts, reason):
    shots = [Shot(p, d) for p, d in zip(prompts, durations, strict=True)]
    project = Project(storyboard=Storyboard(mode=Mode.MULTI, shots=shots))
    meter = meter_for(project)

    assert not meter.generate_button.isEnabled()
    assert reason in meter.reason_label.text()
    assert reason in meter.generate_button.toolTip()


def test_spend_and_budget_left_turn_red_when_over(meter_for):
    meter = meter_for(_project(5, tier="pro"))
    meter.set_spend(Spend(today=Decimal("1.20"), month=Decimal("14.7"), budget_left=Decimal("5.3")))
    assert meter.spend_label.text() == "Spent today $1.20 · this month $14.70 · budget left $5.30"
    assert meter.spend_label.property("overBudget") is False

    meter.set_spend(Spend(today=Decimal("12"), month=Decimal("30"), budget_left=Decimal("-2")))
    assert "over budget" in meter.spend_label.text()
    assert meter.spend_label.property("overBudget") is True


def test_says_nothing_is_charged_on_the_simulator(meter_for):
    meter = meter_for(_project(5))
    meter.show()
    meter.set_simulated(True)
    assert meter.simulator_label.isVisible()
    assert meter.simulator_label.text() == "Simulator — nothing is charged"
    meter.set_simulated(False)
    assert not meter.simulator_label.isVisible()


def test_a_clip_dearer_than_the_budget_left_is_flagged_red(meter_for):
    meter = meter_for(_project(4, 3, 5, tier="4k"))  # $5.04
    meter.set_spend(Spend(today=Decimal("1"), month=Decimal("45"), budget_left=Decimal("5.00")))
    assert meter.spend_label.text().endswith("budget left $5.00 — this clip would go over it")
    assert meter.spend_label.property("overBudget") is True
