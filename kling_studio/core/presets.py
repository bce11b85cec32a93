"""Starting points for common jobs (product spot, social vertical, music video…), kept as data.

Each preset is a JSON file in ``resources/presets/``: a name, a description, and the brief, storyboard and
settings of a new project. A preset file is read through the project-file reader, so it obeys the same
types; shots get fresh ids in every new project.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from kling_studio.core.brief import BriefText
from kling_studio.core.errors import UserError
from kling_studio.core.project import Project
from kling_studio.core.project_file import CURRENT_VERSION, PROJECT_FORMAT, project_from_dict

PRESET_FORMAT = "kling-studio-preset"


class UnknownPresetError(UserError):
    """No preset has the name asked for; the message lists the ones that exist."""


class PresetFileError(UserError):
    """A preset file shipped with the app is broken (a packaging bug, reported in plain words)."""


@dataclass(frozen=True)
class Preset:
    """A starting point: how it is listed, and the project it makes.

    Attributes:
        slug: The short name used on the command line (``product-spot``).
        name: The name shown to people (``Product spot``).
        description: One sentence on what it makes.
        data: The ``brief``, ``storyboard`` and ``settings`` sections of the new project.
    """

    slug: str
    name: str
    description: str
    order: int = 0
    data: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def brief(self) -> BriefText:
        """The preset's brief."""
        return BriefText.from_dict(self.data.get("brief", {}))

    def new_project(self) -> Project:
        """A new, unsaved project filled from this preset."""
        project = project_from_dict(
            {
                "format": PROJECT_FORMAT,
                "version": CURRENT_VERSION,
                "name": self.name,
                "brief": self.data.get("brief", {}),
                "storyboard": self.data.get("storyboard", {}),
                "settings": self.data.get("settings", {}),
                "prompt_follows_brief": True,
            },
            origin=f"The preset {self.slug}",
        )
        project.extra.clear()  # preset bookkeeping is not project data
        project.sync_prompt_from_brief()
        return project


def list_presets() -> list[Preset]:
    """Every bundled preset, in the order they are meant to be shown."""
    folder = resources.files("kling_studio").joinpath("resources", "presets")
    found = [
        _read_preset(entry.name, entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]
    return sorted(found, key=lambda p: (p.order, p.name))


def get_preset(name: str) -> Preset:
    """The preset called ``name``: its slug or its display name, in any case (``Product spot``).

    Raises:
        UnknownPresetError: Listing the presets that exist.
    """
    presets = list_presets()
    wanted = _key(name)
    for preset in presets:
        if wanted in (_key(preset.slug), _key(preset.name)):
            return preset
    names = ", ".join(p.slug for p in presets)
    raise UnknownPresetError(f"There is no preset called {name!r}. The presets are: {names}.")


def new_project_from_preset(name: str) -> Project:
    """A new project filled from the preset ``name`` (see :func:`get_preset`)."""
    return get_preset(name).new_project()


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _read_preset(filename: str, raw: bytes) -> Preset:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PresetFileError(f"The preset file {filename} is broken: {exc}.") from None
    if not isinstance(data, dict) or data.get("format") != PRESET_FORMAT:
        raise PresetFileError(f'The preset file {filename} has no "format": "{PRESET_FORMAT}".')
    try:
        return Preset(
            slug=str(data["slug"]),
            name=str(data["name"]),
            description=str(data.get("description", "")),
            order=int(data.get("order", 0)),
            data={key: data.get(key, {}) for key in ("brief", "storyboard", "settings")},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PresetFileError(f"The preset file {filename} is missing {exc}.") from None
