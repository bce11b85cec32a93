"""`kling-studio --self-test` as the installers run it: a separate process, its lines and its exit code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kling_studio.ui.self_test import Status, check_playback, one_line, render_test_clip

LINE = re.compile(r"^(?P<status>ok  |WARN|FAIL) (?P<name>[a-z ]+): (?P<detail>.+)$")
CHECKS = ["qt", "main window", "multimedia", "keyring", "render", "playback"]
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def self_test(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kling_studio --self-test`` in a clean working directory with extra environment."""
    full_env = {**os.environ, **env}
    full_env.pop("QT_QPA_PLATFORM", None)  # the self-test must choose offscreen by itself
    return subprocess.run(
        [sys.executable, "-m", "kling_studio", "--self-test"],
        capture_output=True,
        text=True,
        timeout=240,
        env=full_env,
        cwd=tmp_path,
    )


def parsed(stdout: str) -> dict[str, tuple[str, str]]:
    """Check name → (status, detail) for each check line; any other line but the summary is an error."""
    lines = stdout.splitlines()
    results = {}
    for line in lines[:-1]:
        match = LINE.match(line)
        assert match, f"not a check line: {line!r}"
        results[match["name"]] = (match["status"].strip(), match["detail"])
    return results


def test_a_working_install_passes_every_check_in_order(tmp_path: Path) -> None:
    run = self_test(tmp_path, **NO_KEYRING)

    assert run.returncode == 0, run.stdout + run.stderr
    results = parsed(run.stdout)
    assert list(results) == CHECKS
    assert results["qt"][0] == "ok" and "platform offscreen" in results["qt"][1]
    assert results["main window"] == ("ok", "built (1280×800)")
    assert results["multimedia"][0] == "ok" and "FFmpeg" in results["multimedia"][1]
    assert results["render"][0] == "ok"
    status, detail = results["playback"]
    assert status == "ok", detail
    delivered, expected = map(int, re.match(r"(\d+)/(\d+) frames", detail).groups())
    assert expected == 48  # 2 s at 24 fps
    assert delivered >= 0.9 * expected
    assert run.stdout.splitlines()[-1].startswith("self-test passed (6 checks")


def test_no_keyring_is_a_warning_but_fails_in_strict_mode(tmp_path: Path) -> None:
    relaxed = self_test(tmp_path, **NO_KEYRING)
    strict = self_test(tmp_path, **NO_KEYRING, KLING_STUDIO_SELF_TEST_STRICT="1")

    status, detail = parsed(relaxed.stdout)["keyring"]
    assert (relaxed.returncode, status) == (0, "WARN")
    assert "no usable keyring backend" in detail and "GNOME Keyring or KWallet" in detail
    assert strict.returncode == 1
    assert parsed(strict.stdout)["keyring"][0] == "FAIL"
    assert strict.stdout.splitlines()[-1] == "self-test FAILED: keyring"


@pytest.mark.keyring
def test_strict_mode_round_trips_a_secret_through_the_real_secret_service(tmp_path: Path) -> None:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip("needs a D-Bus session with gnome-keyring (tools/test.sh provides one)")
    run = self_test(tmp_path, KLING_STUDIO_SELF_TEST_STRICT="1")

    status, detail = parsed(run.stdout)["keyring"]
    assert status == "ok", detail
    assert "SecretService" in detail and "stored, read and deleted" in detail


def test_the_report_file_holds_the_same_lines_for_windowed_builds(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "self-test.txt"
    run = self_test(tmp_path, **NO_KEYRING, KLING_STUDIO_SELF_TEST_REPORT=str(report))

    assert run.returncode == 0
    assert report.read_text(encoding="utf-8") == run.stdout


def test_the_self_test_leaves_the_users_data_alone(tmp_path: Path) -> None:
    data_dir, config_dir = tmp_path / "user-data", tmp_path / "user-config"
    run = self_test(
        tmp_path, **NO_KEYRING, KLING_STUDIO_DATA_DIR=str(data_dir), KLING_STUDIO_CONFIG_DIR=str(config_dir)
    )

    assert run.returncode == 0
    assert not data_dir.exists()
    assert not config_dir.exists()


def test_a_clip_that_stops_halfway_fails_playback(qapp, tmp_path: Path) -> None:
    clip, _, _ = render_test_clip(tmp_path)
    data = clip.read_bytes()
    broken = tmp_path / "half.mp4"
    broken.write_bytes(data[: len(data) // 2])  # +faststart: the index survives, half the frames do not

    result = check_playback(broken, timeout_s=20)

    assert result.status is Status.FAIL
    assert "frames" in result.detail


def test_a_file_that_is_no_video_fails_playback_with_its_name(qapp, tmp_path: Path) -> None:
    junk = tmp_path / "not-a-video.mp4"
    junk.write_bytes(b"this is not an mp4" * 100)

    result = check_playback(junk, timeout_s=10)

    assert result.status is Status.FAIL
    assert "not-a-video.mp4" in result.detail


def test_a_check_that_hangs_is_reported_and_ends_the_process(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import time
        from kling_studio.ui.self_test import Reporter, time_limit
        with time_limit(Reporter(None), "render", 0.5):
            time.sleep(30)
        print("not reached")
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20)

    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "FAIL render: no answer after 0.5 s; the check hung",
        "self-test FAILED (a check hung)",
    ]


def test_long_error_messages_become_one_line_with_their_cause() -> None:
    message = "\n\nIMPORTANT: read this\n\nsome advice\nmore advice\nOriginal error was: libfoo.so: bad ELF\n"

    assert one_line(message) == "IMPORTANT: read this … Original error was: libfoo.so: bad ELF"
    assert one_line("short") == "short"
