"""The layering rule, checked by importing each layer in a clean interpreter."""

import json
import subprocess
import sys

import pytest


def _modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    "module",
    ["kling_studio.core"]
    + [
        f"kling_studio.core.{m}"
        for m in (
            "brief",
            "storyboard",
            "errors",
            "validation",
            "request",
            "pricing",
            "money",
            "project_file",
            "project_migrations",
            "presets",
        )
    ],
)
def test_core_loads_no_qt(module):
    loaded = _modules_after_import(module)
    assert not {m for m in loaded if m.split(".")[0] in {"PySide6", "shiboken6", "qasync"}}


def test_core_never_imports_services_or_ui():
    loaded = _modules_after_import("kling_studio.core")
    assert not {m for m in loaded if m.startswith(("kling_studio.services", "kling_studio.ui"))}
