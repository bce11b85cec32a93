"""Reliability suite: options, the hypothesis profile, simulator fixtures and the figures printed at the end.

Options (or their environment variables, which also work when pytest starts from the repository root and
this conftest is not an initial one):

``--reliability-trials=N`` / ``KLING_STUDIO_RELIABILITY_TRIALS``  crash trials (default 50)
``--fuzz-examples=N`` / ``KLING_STUDIO_FUZZ_EXAMPLES``            examples per fuzz target (default 1000)

Every suite records its figures in :class:`reliability_figures.Figures`; ``pytest_terminal_summary`` prints
them, so they show in CI output without ``-s``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_profile import FUZZ_PROFILE
from hypothesis import HealthCheck, settings
from reliability_figures import FIGURES_KEY, Figures

from kling_studio.services.simulator import FaultPlan, SimulatorConfig, SimulatorServer

DEFAULT_TRIALS = 50
DEFAULT_FUZZ_EXAMPLES = 1000


def _option(config: pytest.Config, name: str, env: str, default: int) -> int:
    try:
        value = config.getoption(name)
    except ValueError:  # pytest ran without tests/conftest.py, which registers the option
        value = None
    if value is None:
        value = int(os.environ.get(env, default))
    return value


def fuzz_examples(config: pytest.Config) -> int:
    """Examples per fuzz target for this run."""
    return _option(config, "--fuzz-examples", "KLING_STUDIO_FUZZ_EXAMPLES", DEFAULT_FUZZ_EXAMPLES)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES_KEY] = Figures()
    # Derandomized, so CI runs the same examples every time; no deadline: the machine is shared.
    settings.register_profile(
        FUZZ_PROFILE,
        max_examples=fuzz_examples(config),
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    # Non-initial conftest: pytest_configure above ran late for this plugin only if it was loaded at start.
    config = parent.config
    if FIGURES_KEY not in config.stash:
        pytest_configure(config)


# Every key this suite (and tests/services) plants; none may end up in any file a test made.
PLANTED_SECRETS = (
    b"crash-trial-secret-",
    b"storm-secret-0000",
    b"storage-secret-0000",
    b"budget-secret-0000",
    b"fuzz-secret-000000",
    b"PLANTED-SECRET-7f3a9c1e5b",
    b"PLANTED-SECRET-0042",
    b"test-secret-0000",
)
_SCAN_LIMIT = 64 * 1024 * 1024


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Scan every file the whole run's tests wrote for the planted keys; a hit fails the run."""
    figures = session.config.stash.get(FIGURES_KEY, None)
    if figures is None or not figures.sections:
        return  # this suite did not run
    base = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    scanned, hits = 0, []
    for path in base.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= _SCAN_LIMIT:
                scanned += 1
                data = path.read_bytes()
                hits += [f"{path}: {s.decode()}" for s in PLANTED_SECRETS if s in data]
    figures.record("whole-run key scan", files=scanned, key_found=len(hits))
    if hits:
        figures.record("whole-run key scan", where="; ".join(hits[:5]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    figures = config.stash.get(FIGURES_KEY, None)
    if figures is None or not figures.sections:
        return
    terminalreporter.section("Kling Studio reliability figures")
    for line in figures.lines():
        terminalreporter.write_line(line)
    target = os.environ.get("KLING_STUDIO_RELIABILITY_JSON")
    if target:
        figures.write_json(Path(target))


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Figures:
    """Where each suite records what it measured."""
    config = request.config
    if FIGURES_KEY not in config.stash:
        pytest_configure(config)
    return config.stash[FIGURES_KEY]


@pytest.fixture(scope="session")
def trial_count(request: pytest.FixtureRequest) -> int:
    """How many crash trials to run."""
    return _option(request.config, "--reliability-trials", "KLING_STUDIO_RELIABILITY_TRIALS", DEFAULT_TRIALS)


@pytest.fixture(scope="session")
def simulator_render_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One render cache for the whole suite: identical inputs render once."""
    return tmp_path_factory.mktemp("reliability-renders")


@pytest.fixture
def make_simulator(simulator_render_cache: Path) -> Iterator[Callable[..., SimulatorServer]]:
    """Factory for started simulators (fast, preview renders, the shared cache); all stopped at teardown."""
    started: list[SimulatorServer] = []

    def factory(**config: Any) -> SimulatorServer:
        config.setdefault("speed", 200.0)
        config.setdefault("resolution", "preview")
        config.setdefault("work_dir", simulator_render_cache)
        if isinstance(config.get("faults"), str):
            config["faults"] = FaultPlan.parse(config["faults"])
        sim = SimulatorServer(SimulatorConfig(**config)).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()
