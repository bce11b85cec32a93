"""The project commands as a person runs them: `python -m kling_studio new|validate|estimate|request`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
PROJECTS = DATA / "projects"
BROKEN = DATA / "broken"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("KLING_STUDIO_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "kling_studio", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=cwd,
        timeout=60,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bundled_prices() -> dict:
    """The bundled price list as a dict, to edit into a "newer" price file."""
    raw = resources.files("kling_studio").joinpath("resources", "pricing.json").read_text("utf-8")
    return json.loads(raw)


def broken_rows() -> list[tuple[str, str]]:
    rows = []
    for line in (BROKEN / "README.md").read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[2].strip("`")))
    return rows


# ---- broken files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fragment"), broken_rows())
def test_validate_refuses_each_broken_file_with_exit_2_a_clear_message_and_the_file_untouched(name, fragment):
    path = BROKEN / name
    before, mtime = sha256(path), path.stat().st_mtime_ns
    result = run("validate", path)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert sha256(path) == before and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in BROKEN.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("command", ["estimate", "request"])
def test_estimate_and_request_refuse_unopenable_files_the_same_way(command):
    result = run(command, BROKEN / "truncated.json")
    assert result.returncode == 2
    assert "truncated.json ends too early" in result.stderr
    assert "Traceback" not in result.stderr


# ---- estimate: the acceptance prices ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "tier", "total"),
    [
        ("harbour-3-shots-4k.klingproj", "4k", "$5.04"),  # 4 + 3 + 5 s, audio on
        ("single-pro-10s.klingproj", "pro", "$1.68"),  # single prompt, 10 s, audio on
        ("standard-5s-silent.klingproj", "standard", "$0.42"),  # 5 s, no audio
        ("trailer-15s-4k.klingproj", "4k", "$6.30"),  # 15 s at 4k
    ],
)
def test_estimate_prints_the_exact_total(file, tier, total):
    result = run("estimate", PROJECTS / file)
    assert result.returncode == 0, result.stderr
    total_line = next(line for line in result.stdout.splitlines() if line.strip().startswith("Total"))
    assert total_line.split()[-1] == total
    assert f"Tier {tier} (fal-ai/kling-video/v3/{tier}/text-to-video)" in result.stdout
    assert "Other tiers:" in result.stdout


def test_estimate_shows_a_line_per_shot():
    result = run("estimate", PROJECTS / "harbour-3-shots-4k.klingproj")
    lines = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("Shot")]
    assert lines == [
        ["Shot", "1", "4", "s", "$1.68"],
        ["Shot", "2", "3", "s", "$1.26"],
        ["Shot", "3", "5", "s", "$2.10"],
    ]
    assert "Other tiers: standard $1.51, pro $2.02" in result.stdout


def test_estimate_json_gives_exact_decimal_strings():
    result = run("estimate", PROJECTS / "harbour-3-shots-4k.klingproj", "--json", "--tier", "pro")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model_id"] == "fal-ai/kling-video/v3/pro/text-to-video"
    assert data["total"] == "2.016" and data["price_per_second"] == "0.168"
    assert [line["cost"] for line in data["lines"]] == ["0.672", "0.504", "0.840"]
    assert data["other_tiers"] == {"standard": "1.512", "4k": "5.04"}
    assert data["valid"] is True


def test_estimate_with_a_newer_price_file(tmp_path):
    prices = bundled_prices()
    prices["checked"] = "2027-02-01"
    for model in prices["models"]:
        if model["tier"] == "standard":
            model["per_second_audio_off"] = "0.1"
    path = tmp_path / "pricing.json"
    path.write_text(json.dumps(prices), encoding="utf-8")
    result = run("estimate", PROJECTS / "standard-5s-silent.klingproj", "--prices", path)
    assert result.returncode == 0, result.stderr
    assert "$0.50" in result.stdout and "checked 2027-02-01" in result.stdout


def test_estimate_with_an_unknown_tier_or_a_broken_price_file_exits_2(tmp_path):
    result = run("estimate", PROJECTS / "single-pro-10s.klingproj", "--tier", "8k")
    assert result.returncode == 2 and "There is no tier '8k'" in result.stderr
    bad = tmp_path / "pricing.json"
    bad.write_text(
        '{"format": "kling-studio-prices", "version": 1, "currency": "USD", "models": [{}]}', "utf-8"
    )
    result = run("estimate", PROJECTS / "single-pro-10s.klingproj", "--prices", bad)
    assert result.returncode == 2
    assert str(bad) in result.stderr and '"model_id"' in result.stderr


# ---- request: exactly what fal gets ---------------------------------------------------------------------


def test_request_on_a_multi_shot_project():
    result = run("request", PROJECTS / "harbour-3-shots-4k.klingproj")
    assert result.returncode == 0, result.stderr
    model_id, _, body = result.stdout.partition("\n")
    assert model_id == "fal-ai/kling-video/v3/4k/text-to-video"
    data = json.loads(body)
    assert [shot["duration"] for shot in data["multi_prompt"]] == ["4", "3", "5"]
    assert data["duration"] == "12"
    assert data["shot_type"] == "customize"
    assert "prompt" not in data
    assert list(data) == [
        "multi_prompt",
        "duration",
        "shot_type",
        "aspect_ratio",
        "generate_audio",
        "negative_prompt",
        "cfg_scale",
    ]


def test_request_on_a_single_prompt_project_with_another_tier():
    result = run("request", PROJECTS / "single-pro-10s.klingproj", "--tier", "standard")
    assert result.returncode == 0, result.stderr
    model_id, _, body = result.stdout.partition("\n")
    assert model_id == "fal-ai/kling-video/v3/standard/text-to-video"
    data = json.loads(body)
    assert data["prompt"].startswith("A red fox") and data["duration"] == "10"
    assert "multi_prompt" not in data


def test_request_refuses_a_project_fal_would_refuse():
    result = run("request", BROKEN / "total-too-long.klingproj")
    assert result.returncode == 2
    assert "shots: The shots add up to 17 s" in result.stderr
    assert result.stdout == ""


def test_request_imports_a_pasted_fal_input():
    result = run("request", PROJECTS / "fal-input-wrapped.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fal-ai/kling-video/v3/4k/text-to-video\n")


# ---- validate and new ---------------------------------------------------------------------------------


def test_validate_a_good_project():
    result = run("validate", PROJECTS / "harbour-3-shots-4k.klingproj")
    assert result.returncode == 0, result.stderr
    assert "ready to send" in result.stdout and result.stderr == ""


def test_validate_prints_warnings_but_exits_0(tmp_path):
    path = tmp_path / "shout.klingproj"
    data = json.loads((PROJECTS / "single-pro-10s.klingproj").read_text("utf-8"))
    data["storyboard"]["prompt"] = 'A sergeant shouts: "MOVE OUT NOW"'
    path.write_text(json.dumps(data), "utf-8")
    result = run("validate", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('warning: prompt: Speech is written in capitals ("MOVE", "OUT", "NOW")')
    assert "(fix: " in result.stdout and "1 warning" in result.stdout


def test_new_from_a_preset_then_validate_estimate_and_request(tmp_path):
    result = run("new", "spot.klingproj", "--preset", "product spot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Created spot.klingproj from the preset Product spot: 3 shots, 12 s" in result.stdout
    assert run("validate", "spot.klingproj", cwd=tmp_path).returncode == 0
    estimate = run("estimate", "spot.klingproj", cwd=tmp_path)
    assert "Total   12 s     $5.04" in estimate.stdout
    assert (
        json.loads(run("request", "spot.klingproj", cwd=tmp_path).stdout.partition("\n")[2])["duration"] == "12"
    )


def test_new_never_overwrites_without_force(tmp_path):
    path = tmp_path / "mine.klingproj"
    path.write_text("precious", "utf-8")
    result = run("new", path)
    assert result.returncode == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert path.read_text("utf-8") == "precious"
    assert run("new", path, "--force").returncode == 0
    assert json.loads(path.read_text("utf-8"))["format"] == "kling-studio-project"


def test_new_empty_project_is_named_after_the_file_and_validate_says_what_is_missing(tmp_path):
    assert run("new", "teaser.klingproj", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "teaser.klingproj").read_text("utf-8"))["name"] == "teaser"
    result = run("validate", "teaser.klingproj", cwd=tmp_path)
    assert result.returncode == 2
    assert "prompt: The prompt is empty." in result.stderr


def test_new_with_an_unknown_preset_lists_the_presets(tmp_path):
    result = run("new", tmp_path / "x.klingproj", "--preset", "wedding")
    assert result.returncode == 2
    assert "product-spot" in result.stderr and "concept-reel" in result.stderr
    assert not (tmp_path / "x.klingproj").exists()


def test_new_lists_presets():
    result = run("new", "--list-presets")
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        "product-spot",
        "social-vertical",
        "music-video",
        "cinematic-trailer",
        "editorial-clip",
        "concept-reel",
    ]


def test_a_missing_file_is_exit_2_without_a_traceback(tmp_path):
    result = run("validate", tmp_path / "nope.klingproj")
    assert result.returncode == 2
    assert "There is no file" in result.stderr and "Traceback" not in result.stderr


def test_estimate_uses_the_price_file_the_app_uses(tmp_path):
    prices = bundled_prices()
    prices["checked"] = "2027-03-01"
    for model in prices["models"]:
        if model["tier"] == "4k":
            model["per_second_audio_on"] = "0.40"
    config = Path(os.environ["KLING_STUDIO_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "pricing.json").write_text(json.dumps(prices), "utf-8")
    result = run("estimate", PROJECTS / "trailer-15s-4k.klingproj")
    assert result.returncode == 0, result.stderr
    assert "$6.00" in result.stdout and "checked 2027-03-01" in result.stdout
    assert str(config / "pricing.json") in result.stdout


def test_a_lone_project_file_argument_opens_the_window_and_commands_still_parse(tmp_path):
    from kling_studio.cli import project_to_open

    existing = tmp_path / "raw fal input.json"
    existing.write_text("{}")
    assert project_to_open([str(tmp_path / "Spot.klingproj")]) == tmp_path / "Spot.klingproj"
    assert project_to_open([str(existing)]) == existing
    assert project_to_open(["validate"]) is None  # a command, not a file
    assert project_to_open(["--version"]) is None
    assert project_to_open(["validate", str(tmp_path / "Spot.klingproj")]) is None
