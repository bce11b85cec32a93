"""The release workflow cannot run here, so it is linted: GitHub's workflow schema plus what it must do."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"

pytest.importorskip("check_jsonschema", reason="install the test extra (check-jsonschema lints workflows)")
yaml = pytest.importorskip("ruamel.yaml", reason="comes with check-jsonschema")


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    """GitHub's workflow JSON schema, as vendored inside check-jsonschema (no network)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def load_workflow() -> dict:
    return yaml.YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))


def test_the_workflow_passes_githubs_schema() -> None:
    result = schema_check(WORKFLOW)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_job(tmp_path: Path) -> None:
    broken = tmp_path / "release.yml"
    text = WORKFLOW.read_text(encoding="utf-8")
    broken.write_text(text.replace("runs-on: windows-latest", "runs_on: windows"))

    result = schema_check(broken)

    assert result.returncode != 0
    assert "windows" in result.stdout + result.stderr


def runners(jobs: dict) -> set[str]:
    found = set()
    for job in jobs.values():
        runs_on = job["runs-on"]
        if "matrix.os" in runs_on:
            found.update(job["strategy"]["matrix"]["os"])
        else:
            found.add(runs_on)
    return found


def test_it_builds_on_the_four_runners_the_issue_names() -> None:
    jobs = load_workflow()["jobs"]

    assert runners({k: v for k, v in jobs.items() if k != "release"}) == {
        "ubuntu-22.04",
        "windows-latest",
        "macos-14",
        "macos-13",
    }


@pytest.mark.parametrize("job_name", ["linux", "windows", "macos"])
def test_every_bundle_is_self_tested_before_its_installer_is_uploaded(job_name: str) -> None:
    steps = load_workflow()["jobs"][job_name]["steps"]
    runs = [str(step.get("run", "")) for step in steps]
    uses = [str(step.get("uses", "")) for step in steps]

    self_test = next(i for i, run in enumerate(runs) if "--self-test" in run or "test-deb.sh" in run)
    upload = next(i for i, use in enumerate(uses) if use.startswith("actions/upload-artifact"))
    assert self_test < upload


def test_a_tag_attaches_the_installers_to_a_release() -> None:
    release = load_workflow()["jobs"]["release"]

    assert "refs/tags/" in release["if"]
    assert set(release["needs"]) == {"linux", "windows", "macos"}
    assert any("gh release create" in str(step.get("run", "")) for step in release["steps"])


def test_every_repository_path_the_workflow_names_exists() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    paths = set(re.findall(r"(?:packaging|tools)[/\\][\w./\\-]+\.(?:sh|spec|iss)", text))

    assert paths, "the workflow should call the packaging scripts"
    for path in paths:
        assert (ROOT / path.replace("\\", "/")).is_file(), path
