"""The always-visible cost meter and the Generate button that carries the exact price.

The meter shows the total at the chosen tier, the same project at the other tiers ("draft at standard:
$0.63 · final at 4k: $2.10"), and what has been spent today and this month with the budget left (red when
over). On the simulator it says "Simulator — nothing is charged" next to every price. It renders a
:class:`~kling_studio.ui.live_report.ProjectReport`, so it is current within the frame of any edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kling_studio.core.limits import Tier
from kling_studio.core.money import format_usd
from kling_studio.ui.live_report import LiveReport, ProjectReport

SIMULATOR_NOTE = "Simulator — nothing is charged"

_TIER_ROLE = {Tier.STANDARD: "draft at standard", Tier.PRO: "draft at pro", Tier.K4: "final at 4k"}


@dataclass(frozen=True)
class Spend:
    """Money spent so far, from the ledger.

    Attributes:
        today: spent since local midnight.
        month: spent since the first of the month.
        budget_left: what the tightest budget still allows, or None without a budget.
    """

    today: Decimal
    month: Decimal
    budget_left: Decimal | None = None

    @property
    def over_budget(self) -> bool:
        """True when a budget is exhausted or exceeded."""
        return self.budget_left is not None and self.budget_left <= 0


def other_tiers_text(report: ProjectReport) -> str:
    """``draft at standard: $0.63 · final at 4k: $2.10``: the project at every tier but the chosen one."""
    others = [(tier, est) for tier, est in report.estimates.items() if tier != report.tier]
    parts = [f"{_TIER_ROLE[tier]}: {format_usd(est.total)}" for tier, est in others]
    return " · ".join(parts)


def generate_label(report: ProjectReport) -> str:
    """``Generate 4k — $5.04`` (the exact price the Generate button carries)."""
    current = report.current
    if current is None:
        return f"Generate {report.tier.value}"
    return f"Generate {report.tier.value} — {format_usd(current.total)}"


def blocking_reason(report: ProjectReport) -> str:
    """Why Generate is disabled (the first error's message), or "" when it is enabled."""
    if report.errors:
        first = report.errors[0]
        more = len(report.errors) - 1
        return first.message + (f" (and {more} more problem{'s' if more != 1 else ''})" if more else "")
    if report.current is None:
        return "There is no price for this tier in the price list; update the prices."
    return ""


class CostMeter(QFrame):
    """Price, other tiers, spend and the Generate button, in one strip along the window's bottom.

    Args:
        live: the project's live report.
        parent: Qt parent.

    Signals:
        generate_requested(): the Generate button was pressed while enabled.
    """

    generate_requested = Signal()

    def __init__(self, live: LiveReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("costMeter")
        self._spend: Spend | None = None
        self._simulated = False

        self.total_label = QLabel(self)
        self.total_label.setProperty("role", "price")
        self.total_label.setAccessibleName("Estimated price")
        self.detail_label = QLabel(self)
        self.detail_label.setProperty("role", "muted")
        self.tiers_label = QLabel(self)
        self.tiers_label.setProperty("role", "muted")
        self.tiers_label.setAccessibleName("Price at the other tiers")
        self.spend_label = QLabel(self)
        self.spend_label.setAccessibleName("Spend")
        self.simulator_label = QLabel(SIMULATOR_NOTE, self)
        self.simulator_label.setObjectName("simulatorNote")
        self.simulator_label.setProperty("role", "muted")
        self.reason_label = QLabel(self)
        self.reason_label.setProperty("role", "error")
        self.reason_label.setWordWrap(True)
        self.reason_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reason_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.generate_button = QPushButton(self)
        self.generate_button.setObjectName("generateButton")
        self.generate_button.setMinimumHeight(36)
        self.generate_button.clicked.connect(self._on_generate_button_clicked)

        price_column = QVBoxLayout()
        price_column.setSpacing(2)
        price_column.addWidget(self.total_label)
        price_column.addWidget(self.detail_label)
        info_column = QVBoxLayout()
        info_column.setSpacing(2)
        info_column.addWidget(self.tiers_label)
        info_column.addWidget(self.spend_label)
        info_column.addWidget(self.simulator_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.setSpacing(20)
        layout.addLayout(price_column)
        layout.addLayout(info_column, 1)
        layout.addWidget(self.reason_label, 1)
        layout.addWidget(self.generate_button)
        self.setMinimumHeight(72)

        live.updated.connect(self._on_live_updated)
        self._report = live.report
        self._render()

    # ---- inputs --------------------------------------------------------------------------------------
    def set_spend(self, spend: Spend | None) -> None:
        """Show what the ledger says was spent (None hides the line: services not up yet)."""
        self._spend = spend
        self._render_spend()

    def set_simulated(self, simulated: bool) -> None:
        """Say "Simulator — nothing is charged" (True) or nothing (False: real money)."""
        self._simulated = simulated
        self.simulator_label.setVisible(simulated)
        self._render_spend()

    # ---- reading (what the user sees) ----------------------------------------------------------------
    @property
    def report(self) -> ProjectReport:
        """The report being shown."""
        return self._report

    def total_text(self) -> str:
        """The total as shown."""
        return self.total_label.text()

    # ---- rendering -----------------------------------------------------------------------------------
    def _on_live_updated(self, report: ProjectReport) -> None:
        self._report = report
        self._render()

    def _render(self) -> None:
        report = self._report
        current = report.current
        if current is None:
            self.total_label.setText("—")
            self.detail_label.setText(f"{report.tier.value}: no price in the price list")
        else:
            self.total_label.setText(format_usd(current.total))
            sound = "audio on" if current.audio_on else "audio off"
            self.detail_label.setText(f"{report.tier.value} · {current.seconds} s · {sound}")
        self.tiers_label.setText(other_tiers_text(report))
        reason = blocking_reason(report)
        self.reason_label.setText(reason)
        self.reason_label.setVisible(bool(reason))
        self.generate_button.setText(generate_label(report))
        self.generate_button.setEnabled(not reason)
        self.generate_button.setToolTip(reason or "Send this project to fal at the price shown")
        self.simulator_label.setVisible(self._simulated)
        self._render_spend()

    def _render_spend(self) -> None:
        spend = self._spend
        if spend is None:
            self.spend_label.setVisible(False)
            return
        parts = [f"today {format_usd(spend.today)}", f"this month {format_usd(spend.month)}"]
        current = self._report.current
        too_dear = (
            spend.budget_left is not None and current is not None and current.total > spend.budget_left
        )
        if spend.budget_left is not None:
            left = format_usd(max(spend.budget_left, Decimal(0)))
            parts.append("over budget" if spend.over_budget else f"budget left {left}")
        text = "Spent " + " · ".join(parts)
        if too_dear and not spend.over_budget:
            text += " — this clip would go over it"
        self.spend_label.setText(text)
        self.spend_label.setProperty("overBudget", spend.over_budget or too_dear)
        self.spend_label.style().unpolish(self.spend_label)
        self.spend_label.style().polish(self.spend_label)
        self.spend_label.setVisible(True)

    def _on_generate_button_clicked(self) -> None:
        if self.generate_button.isEnabled():
            self.generate_requested.emit()
