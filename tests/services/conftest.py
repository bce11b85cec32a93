"""Fixtures for service tests: a real fal simulator on a free 127.0.0.1 port, always stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kling_studio.services.simulator import FaultPlan, SimulatorConfig, SimulatorServer

TEST_SPEED = 200.0  # a 15 s clip "runs" in 75 ms; the preview render is the real cost


@pytest.fixture(scope="session")
def simulator_render_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One render cache for the session: identical inputs render once, which spares the shared CPU."""
    return tmp_path_factory.mktemp("simulator-renders")


@pytest.fixture
def make_simulator(simulator_render_cache: Path) -> Iterator[Callable[..., SimulatorServer]]:
    """Factory: ``make_simulator(speed=..., faults="429@status:0.3,seed=1", ...)`` → a started simulator.

    Takes any :class:`SimulatorConfig` field; ``faults`` may be a spec string. Defaults: fast (speed 200),
    preview renders, the session's render cache. Every simulator made is stopped at teardown.
    """
    started: list[SimulatorServer] = []

    def factory(**config: Any) -> SimulatorServer:
        config.setdefault("speed", TEST_SPEED)
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


@pytest.fixture
def simulator(make_simulator: Callable[..., SimulatorServer]) -> SimulatorServer:
    """A started simulator with the test defaults (fast, preview renders, no faults)."""
    return make_simulator()
