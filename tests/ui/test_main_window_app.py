"""The app as started by `kling-studio`: run_app in this process, with the real services behind it."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from kling_studio.ui.app import run_app

GIVE_UP_MS = 90_000


def test_first_run_without_a_key_welcomes_with_a_sample_and_says_nothing_is_charged(qapp):
    seen: dict[str, object] = {}

    def on_shown(window):
        QTimer.singleShot(GIVE_UP_MS, window.close_without_asking)

        def poll():
            dialog = window.welcome_dialog
            if dialog is None or not dialog.isVisible() or window.generate_action._services is None:
                QTimer.singleShot(50, poll)
                return
            seen["intro"] = dialog.intro_label.text()
            seen["banner"] = window.banner.isVisible() and window.banner.label.text()
            dialog.start_button.click()
            seen["title"] = window.windowTitle()
            seen["generate"] = window.cost_meter.generate_button.text()
            seen["enabled"] = window.cost_meter.generate_button.isEnabled()
            window.close_without_asking()

        poll()

    assert run_app(on_shown=on_shown) == 0
    assert "nothing is charged" in str(seen["intro"])
    assert str(seen["banner"]).startswith("Simulator — nothing is charged")
    assert str(seen["generate"]).startswith("Generate ")
    assert "$" in str(seen["generate"])
    assert seen["enabled"] is True
