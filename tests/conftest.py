"""Suite-wide settings: Qt draws offscreen, and no test ever touches the user's real data or keyring."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Each test gets its own data directory and no fal key from the developer's environment."""
    monkeypatch.setenv("KLING_STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KLING_STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("FAL_KEY", raising=False)
    monkeypatch.delenv("KLING_STUDIO_QUEUE_URL", raising=False)
