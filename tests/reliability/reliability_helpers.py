"""Shared pieces of the reliability suite: the CLI in a subprocess, a project file, the job rows on disk."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from kling_studio.core.limits import Mode, Tier
from kling_studio.core.project import Project
from kling_studio.core.project_file import save_project
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.services.simulator import FaultPlan, RequestRecord, SimulatorConfig, SimulatorServer
from kling_studio.services.simulator.jobs import Job as SimJob

HOLD_ENV = "KLING_STUDIO_HOLD_AT"
CLI = (sys.executable, "-m", "kling_studio")


def cli_env(root: Path, queue_url: str, key: str, **extra: str) -> dict[str, str]:
    """The environment for a CLI process using ``root/data`` and ``root/config`` against ``queue_url``."""
    env = {k: v for k, v in os.environ.items() if k not in (HOLD_ENV, "FAL_KEY")}
    env.update(
        KLING_STUDIO_DATA_DIR=str(root / "data"),
        KLING_STUDIO_CONFIG_DIR=str(root / "config"),
        KLING_STUDIO_QUEUE_URL=queue_url,
        KLING_STUDIO_STORAGE_URL=queue_url,
        FAL_KEY=key,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Run ``kling-studio ARGS`` to its end."""
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, **kwargs)


def start_cli(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen[str]:
    """Start ``kling-studio ARGS`` with piped, line-buffered text output."""
    return subprocess.Popen(
        [*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, **kwargs
    )


def short_project(
    name: str = "Crash trial", *, tier: Tier = Tier.PRO, seconds: tuple[int, ...] = (1, 1, 1)
) -> Project:
    """A small multi-shot project: cheap to render as a preview, identical input every time (render cache)."""
    shots = [Shot(f"shot {i + 1}: a lighthouse at dusk, slow push-in", s) for i, s in enumerate(seconds)]
    return Project(
        name=name,
        storyboard=Storyboard(mode=Mode.MULTI, shots=shots),
        settings=Settings(SettingsValues(tier=tier, generate_audio=False)),
    )


def write_project(path: Path, project: Project | None = None) -> Path:
    """Save a project file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_project(project or short_project(), path)
    return path


def job_rows(data_dir: Path) -> list[dict]:
    """Every job row (with its charge status) in ``data_dir``'s database, read with plain sqlite3."""
    db = data_dir / "jobs.sqlite3"
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            "SELECT jobs.*, spend.status AS charge FROM jobs LEFT JOIN spend ON spend.job_id = jobs.id"
        ).fetchall()
        return [dict(row) for row in rows]
    finally:
        conn.close()


def leftovers(folder: Path) -> list[Path]:
    """Partial files a crash or a failure could leave: ``*.part`` downloads and temporary save files."""
    if not folder.exists():
        return []
    found = [p for p in folder.rglob("*.part")]
    found += [p for p in folder.rglob(".*.tmp")]
    found += [p for p in folder.rglob("*.rendering")]
    return sorted(found)


def scan_for(needle: bytes, folders: list[Path]) -> list[Path]:
    """Files under ``folders`` whose bytes contain ``needle``."""
    hits = []
    for folder in folders:
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if path.is_file() and needle in path.read_bytes():
                hits.append(path)
    return hits


class SimulatorProcess:
    """A simulator in its own process (like fal, it does not share the app's interpreter and GIL).

    The request log, fault counts and the simulator's own record of each request are fetched over a pipe.
    """

    def __init__(self, **config: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve_simulator, args=(config, child), daemon=True)
        self._process.start()
        self.url, self.work_dir = self._conn.recv()

    def _ask(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def request_log(self) -> list[RequestRecord]:
        """Every request the simulator answered so far."""
        return self._ask("log")

    def requests_for(self, request_id: str) -> list[RequestRecord]:
        """Every request about one fal request id."""
        return [r for r in self.request_log() if r.request_id == request_id]

    def snapshot(self, request_id: str) -> SimJob | None:
        """The simulator's record of a request (state, error, file size)."""
        return self._ask("snapshot", request_id)

    def fired(self) -> dict[str, int]:
        """How often each fault rule fired."""
        return self._ask("fired")

    def stop(self) -> None:
        """Stop the simulator and its process."""
        if self._process.is_alive():
            with contextlib.suppress(OSError, EOFError):
                self._ask("stop")
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def _serve_simulator(config: dict[str, Any], conn: Any) -> None:
    # fal runs on other machines: a niceness > 0 keeps this stand-in from taking the CPU the app under test needs.
    os.nice(config.pop("nice", 0))
    if isinstance(config.get("faults"), str):
        config["faults"] = FaultPlan.parse(config["faults"])
    sim = SimulatorServer(SimulatorConfig(**config)).start()
    conn.send((sim.url, sim.work_dir))
    try:
        while True:
            command, *args = conn.recv()
            if command == "log":
                conn.send(sim.request_log())
            elif command == "snapshot":
                conn.send(sim.jobs.snapshot(args[0]))
            elif command == "fired":
                conn.send(sim.faults.fired())
            elif command == "stop":
                conn.send(None)
                return
    finally:
        sim.stop()
