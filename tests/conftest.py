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


def pytest_addoption(parser: pytest.Parser) -> None:
    # Registered here, in the root conftest: pytest reads options before it collects tests/reliability, so an
    # option defined there would be refused when the whole suite runs (`bash tools/test.sh --reliability-trials 200`).
    group = parser.getgroup("kling-studio reliability")
    group.addoption("--reliability-trials", type=int, default=None, help="crash trials to run (default 50)")
    group.addoption("--fuzz-examples", type=int, default=None, help="hypothesis examples per fuzz target")
