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


def test_a_double_clicked_project_opens_in_the_window_instead_of_the_welcome(qapp, tmp_path):
    from kling_studio.core.project import Project
    from kling_studio.core.project_file import save_project

    path = tmp_path / "Launch spot.klingproj"
    project = Project(name="Launch spot")
    project.storyboard.set_prompt("a bottle on wet slate, slow push-in")
    save_project(project, path)
    seen: dict[str, object] = {}

    def on_shown(window):
        QTimer.singleShot(GIVE_UP_MS, window.close_without_asking)

        def look():
            if window.generate_action._services is None:
                QTimer.singleShot(50, look)
                return
            seen["title"] = window.windowTitle()
            seen["prompt"] = window.document.project.storyboard.prompt
            seen["welcome"] = window.welcome_dialog is not None and window.welcome_dialog.isVisible()
            window.close_without_asking()

        look()

    assert run_app(on_shown=on_shown, open_path=path) == 0
    assert "Launch spot" in str(seen["title"])
    assert seen["prompt"] == "a bottle on wet slate, slow push-in"
    assert seen["welcome"] is False


def test_a_project_the_os_hands_over_while_running_is_opened(qtbot, tmp_path):
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from kling_studio.ui.file_open import FileOpenForwarder

    opened: list[object] = []

    class Window:
        def open_path(self, path):
            opened.append(path)

    app = QApplication.instance()
    forwarder = FileOpenForwarder(Window())
    app.installEventFilter(forwarder)
    try:
        QApplication.sendEvent(app, QFileOpenEvent(str(tmp_path / "Pitch.klingproj")))
    finally:
        app.removeEventFilter(forwarder)
    assert opened == [tmp_path / "Pitch.klingproj"]
