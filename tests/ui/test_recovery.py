"""Crash recovery: a copy is written after an edit; a copy left by a dead session is offered back.

The in-process tests drive the document; the last test kills a real app process with SIGKILL and starts it
again, and the new window offers the unsaved project.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kling_studio.core.project_file import load_project
from kling_studio.ui.document import ProjectDocument, RecentFiles, find_recoveries
from kling_studio.ui.edits import ProjectEditor


def _document(tmp_path: Path) -> ProjectDocument:
    return ProjectDocument(tmp_path / "recovery", RecentFiles(tmp_path / "recent.json"))


def test_an_edit_writes_a_recovery_copy_a_few_seconds_later(qtbot, tmp_path):
    document = _document(tmp_path)
    ProjectEditor(document.project, document.undo_stack).set_brief_field("scene", "a rainy pier")
    with qtbot.waitSignal(document.recovery_written, timeout=5000):
        pass
    copy = load_project(document.recovery_path)
    assert copy.brief.get("scene") == "a rainy pier"
    document.close()
    assert not document.recovery_path.exists()


def test_a_live_sessions_copy_is_not_offered_but_a_dead_ones_is(qtbot, tmp_path):
    document = _document(tmp_path)
    ProjectEditor(document.project, document.undo_stack).set_brief_field("subject", "a paper boat")
    document.write_recovery()
    assert find_recoveries(tmp_path / "recovery") == []  # this session still holds the lock

    _simulate_crash(document)
    found = find_recoveries(tmp_path / "recovery")
    assert len(found) == 1

    second = _document(tmp_path)
    second.restore(found[0])
    assert second.project.brief.get("subject") == "a paper boat"
    assert second.is_dirty
    assert find_recoveries(tmp_path / "recovery") == []
    second.close()


def test_saving_removes_the_recovery_copy(qtbot, tmp_path):
    document = _document(tmp_path)
    ProjectEditor(document.project, document.undo_stack).set_brief_field("scene", "dunes")
    document.write_recovery()
    assert document.recovery_path.exists()
    document.save_as(tmp_path / "dunes.klingproj")
    assert not document.recovery_path.exists()
    document.close()


def _simulate_crash(document: ProjectDocument) -> None:
    """Drop the lock as a dead process would, without the clean close that deletes the copy."""
    lock = document._lock
    assert lock is not None
    lock.unlock()
    document._lock = None


_DRIVER = textwrap.dedent(
    """
    import sys
    from kling_studio.ui.app import run_app

    def on_shown(window):
        if sys.argv[1] == "edit":
            window.editor.set_brief_field("scene", "a lighthouse in a storm")
            window.document.recovery_written.connect(lambda path: print("RECOVERY", path, flush=True))
        else:
            dialog = window.pending_recovery_dialog
            print("OFFER", dialog.text() if dialog is not None and dialog.isVisible() else "none", flush=True)
            window.close_without_asking()

    sys.exit(run_app(on_shown=on_shown, show_welcome=False))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killing_the_app_with_unsaved_edits_offers_the_project_at_the_next_start(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    first = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, "edit"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and not line.startswith("RECOVERY"):
            line = first.stdout.readline()
            if not line and first.poll() is not None:
                pytest.fail(f"the app exited early: {first.stderr.read()}")
        assert line.startswith("RECOVERY"), "no recovery copy was written"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    second = subprocess.run(
        [sys.executable, "-c", _DRIVER, "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stderr
    offer = [ln for ln in second.stdout.splitlines() if ln.startswith("OFFER")]
    assert offer and "Restore" in offer[0] and "closed unexpectedly" in offer[0], second.stdout


def test_steady_typing_does_not_postpone_the_recovery_copy(qtbot, tmp_path):
    from PySide6.QtCore import QTimer

    document = _document(tmp_path)
    document._recovery_timer.setInterval(300)
    editor = ProjectEditor(document.project, document.undo_stack)
    sentence = "a storm rolls in over the bay"
    typed = iter(sentence)
    text = [""]

    stopped = [False]

    def type_one():
        ch = None if stopped[0] else next(typed, None)
        if ch is not None:
            text[0] += ch
            editor.set_brief_field("scene", text[0])
            QTimer.singleShot(100, type_one)  # faster than the recovery delay

    type_one()
    with qtbot.waitSignal(document.recovery_written, timeout=2000):
        pass
    stopped[0] = True
    written = load_project(document.recovery_path).brief.get("scene")
    assert written and sentence.startswith(written)
    assert len(written) < len(sentence), "the copy was written while the typing went on"
    document.close()
