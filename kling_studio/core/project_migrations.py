"""Older project shapes, brought up to the current one step by step.

Version 0 is not a file Kling Studio ever wrote: it is the raw input people copy from fal's web form or
API docs (``{"prompt": …, "duration": "5", …}`` or ``{"multi_prompt": [...]}``), optionally wrapped as
``{"model_id": …, "input": {…}}``. Opening one imports it as a project, so a prompt tuned in the
browser is one step away from the timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROJECT_FORMAT = "kling-studio-project"
CURRENT_VERSION = 1

_FAL_SETTINGS = ("shot_type", "aspect_ratio", "generate_audio", "negative_prompt", "cfg_scale")
_FAL_MODEL_PREFIX = "fal-ai/kling-video/v3/"


class MigrationProblem(ValueError):
    """Old data that cannot be brought up to date; names the field (in the old shape) and what is wrong."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path} {message}" if field_path else message)
        self.field_path = field_path


def looks_like_fal_input(data: dict[str, Any]) -> bool:
    """True for a bare fal input, or one wrapped as ``{"input": {...}}``."""
    if "format" in data:
        return False
    if "prompt" in data or "multi_prompt" in data:
        return True
    inner = data.get("input")
    return isinstance(inner, dict) and ("prompt" in inner or "multi_prompt" in inner)


def migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Bring ``data`` of ``version`` up to :data:`CURRENT_VERSION` (a new dict; ``data`` is not changed).

    Raises:
        MigrationProblem: When the old data cannot be read.
    """
    while version < CURRENT_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    return data


def _fal_input_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (a fal input) → version 1."""
    source, prefix, model_id = data, "", None
    if "prompt" not in data and "multi_prompt" not in data:
        source, prefix = data["input"], "input."
        model_id = data.get("model_id", data.get("model", data.get("endpoint")))

    board: dict[str, Any]
    if source.get("multi_prompt") is not None:
        items = source["multi_prompt"]
        if not isinstance(items, list):
            raise MigrationProblem(f"{prefix}multi_prompt", "must be a list of shots")
        shots = []
        for index, item in enumerate(items):
            where = f"{prefix}multi_prompt[{index}]"
            if not isinstance(item, dict):
                raise MigrationProblem(where, "must be an object with a prompt and a duration")
            shots.append(
                {
                    "prompt": _text(item.get("prompt", ""), f"{where}.prompt"),
                    "duration": _seconds(item.get("duration", "5"), f"{where}.duration"),
                }
            )
        total = sum(shot["duration"] for shot in shots)
        duration = _seconds(source.get("duration", str(total)), f"{prefix}duration")
        board = {"mode": "multi", "prompt": "", "duration": duration, "shots": shots}
    else:
        prompt = _text(source.get("prompt", ""), f"{prefix}prompt")
        duration = _seconds(source.get("duration", "5"), f"{prefix}duration")
        board = {"mode": "single", "prompt": prompt, "duration": duration, "shots": []}

    settings = {key: source[key] for key in _FAL_SETTINGS if key in source}
    tier = _tier_of(model_id)
    if tier:
        settings["tier"] = tier
    project: dict[str, Any] = {
        "format": PROJECT_FORMAT,
        "version": 1,
        "name": "Imported fal input",
        "brief": {},
        "storyboard": board,
        "settings": settings,
        "prompt_follows_brief": False,  # the imported prompt is hand-written; never overwrite it
    }
    unused = {
        key: value
        for key, value in source.items()
        if key not in (*_FAL_SETTINGS, "prompt", "multi_prompt", "duration")
    }
    if unused:
        project["fal_input_unused"] = unused  # kept (e.g. start_image_url) so nothing is silently lost
    return project


def _text(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MigrationProblem(where, f"must be text, not {describe(value)}")
    return value


def _seconds(value: object, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise MigrationProblem(where, f'must be whole seconds such as "5", not {describe(value)}')


def _tier_of(model_id: object) -> str | None:
    if not isinstance(model_id, str) or not model_id.startswith(_FAL_MODEL_PREFIX):
        return None
    tier = model_id[len(_FAL_MODEL_PREFIX) :].split("/")[0]
    return tier if tier in ("standard", "pro", "4k") else None


def describe(value: object) -> str:
    """A value as people would name it in an error message: ``the text "five"``, ``a list``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'the text "{shown}"'
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _fal_input_to_v1}
