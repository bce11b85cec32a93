"""`kling-studio submit / jobs / wait / cancel` as a user runs them, against the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from runner_helpers import TEST_KEY, multi_shot_project

from kling_studio.core.limits import Tier
from kling_studio.core.project_file import save_project
from kling_studio.services.job_store import JobStore
from kling_studio.services.ledger import BudgetPolicy


def _env(tmp_path: Path, sim_url: str, *, key: str | None = TEST_KEY) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KLING_STUDIO_DATA_DIR=str(tmp_path / "data"),
        KLING_STUDIO_CONFIG_DIR=str(tmp_path / "config"),
        KLING_STUDIO_QUEUE_URL=sim_url,
    )
    env.pop("FAL_KEY", None)
    if key:
        env["FAL_KEY"] = key
    return env


def _cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kling_studio", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=120,
    )


def _project(tmp_path: Path, durations=(4, 3, 5), tier=Tier.K4) -> Path:
    path = tmp_path / "spot.klingproj"
    save_project(multi_shot_project(durations, tier=tier), path)
    return path


def test_submit_shows_the_price_and_prints_the_downloaded_file(tmp_path, simulator):
    env = _env(tmp_path, simulator.url)
    result = _cli("submit", str(_project(tmp_path, (1, 1, 1), Tier.PRO)), "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert "$0.50" in result.stderr  # 3 s x $0.168
    out = Path(result.stdout.strip())
    assert out.is_file() and out.suffix == ".mp4"
    assert out.with_suffix(".json").is_file()

    listing = json.loads(_cli("jobs", "--json", env=env).stdout)
    assert listing[0]["state"] == "downloaded"
    assert listing[0]["estimated_cost"] == "0.504"


def test_submit_without_yes_refuses_to_pay_when_it_cannot_ask(tmp_path, simulator):
    result = _cli("submit", str(_project(tmp_path)), env=_env(tmp_path, simulator.url), stdin="")
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert simulator.submits_for() == 0


def test_submit_over_budget_is_refused_before_anything_is_sent(tmp_path, simulator):
    data = tmp_path / "data"
    data.mkdir()
    with JobStore(data / "jobs.sqlite3") as store:
        store.ledger.set_budget(BudgetPolicy(daily=Decimal("5.00")))
    result = _cli("submit", str(_project(tmp_path)), "--yes", env=_env(tmp_path, simulator.url))
    assert result.returncode == 2
    assert "$5.04" in result.stderr and "budget" in result.stderr.lower()
    assert simulator.submits_for() == 0


def test_without_a_key_the_cli_says_nothing_is_charged(tmp_path, simulator):
    result = _cli(
        "submit", str(_project(tmp_path, (3,), Tier.STANDARD)), "--detach",
        env=_env(tmp_path, simulator.url, key=None),
    )
    assert result.returncode == 0, result.stderr
    assert "Simulator — nothing is charged" in result.stderr
    job_id = result.stdout.strip()
    waited = _cli("wait", job_id, "--timeout", "60", env=_env(tmp_path, simulator.url, key=None))
    assert waited.returncode == 0, waited.stderr
    assert Path(waited.stdout.strip()).is_file()


def test_a_raw_fal_input_can_be_submitted_by_power_users(tmp_path, simulator):
    raw = tmp_path / "input.json"
    raw.write_text(json.dumps({"prompt": "a red fox in snow", "duration": "3", "generate_audio": False}))
    result = _cli(
        "submit", "--model", "fal-ai/kling-video/v3/standard/text-to-video", "--input", str(raw), "--yes",
        env=_env(tmp_path, simulator.url),
    )
    assert result.returncode == 0, result.stderr
    assert "$0.25" in result.stderr  # 3 s x $0.084


def test_unknown_job_ids_get_a_plain_message(tmp_path, simulator):
    result = _cli("wait", "deadbeef", env=_env(tmp_path, simulator.url))
    assert result.returncode == 2
    assert "deadbeef" in result.stderr
    assert "Traceback" not in result.stderr
