"""Where the job database, outputs and logs live, and what the user is told when a folder is unusable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kling_studio.services import paths
from kling_studio.services.job_store import JobStore
from kling_studio.services.paths import DataFolderError


def test_the_environment_moves_every_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLING_STUDIO_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("KLING_STUDIO_CONFIG_DIR", str(tmp_path / "settings"))
    assert paths.data_dir() == tmp_path / "elsewhere"
    assert paths.config_dir() == tmp_path / "settings"
    assert paths.database_path() == tmp_path / "elsewhere" / "jobs.sqlite3"
    assert paths.logs_dir() == tmp_path / "elsewhere" / "logs"
    assert paths.outputs_dir("night-market") == tmp_path / "elsewhere" / "outputs" / "night-market"
    assert (tmp_path / "elsewhere" / "outputs" / "night-market").is_dir()  # created on first use
    assert not paths.database_path().exists()  # the store creates the file, not paths


def test_without_overrides_platformdirs_decides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KLING_STUDIO_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(Path, "home", lambda: tmp_path)  # macOS/Windows fall back to the home folder
    assert paths.data_dir().name == "kling-studio"


def test_a_file_in_the_way_names_the_folder_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("KLING_STUDIO_DATA_DIR", str(blocker / "data"))
    with pytest.raises(DataFolderError) as caught:
        paths.data_dir()
    message = str(caught.value)
    assert str(blocker / "data") in message
    assert "KLING_STUDIO_DATA_DIR" in message
    with pytest.raises(DataFolderError):
        JobStore(blocker / "data" / "jobs.sqlite3")


def test_a_read_only_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.access", lambda *_args, **_kw: False)  # root ignores chmod; simulate the verdict
    monkeypatch.setenv("KLING_STUDIO_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DataFolderError, match=r"read-only.*Make it writable, or set KLING_STUDIO_DATA_DIR"):
        paths.data_dir()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_a_really_read_only_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("KLING_STUDIO_DATA_DIR", str(locked / "data"))
    try:
        with pytest.raises(DataFolderError, match="KLING_STUDIO_DATA_DIR"):
            paths.data_dir()
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Night Market", "night-market"),
        ("Café Night #2", "cafe-night-2"),
        ("../../etc/passwd", "etc-passwd"),
        ("   ", "untitled"),
        ("夜市", "untitled"),
        ("A" * 100, "a" * 64),
    ],
)
def test_project_names_become_safe_folder_names(name: str, slug: str) -> None:
    assert paths.slugify(name) == slug


@pytest.mark.parametrize("bad", ["", "..", "a/b", "Upper", "../x"])
def test_outputs_refuses_anything_but_a_slug(bad: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        paths.outputs_dir(bad)
