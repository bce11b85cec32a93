"""Generation settings of a project: tier, frame shape, sound, negative prompt, cfg scale, shot type."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from kling_studio.core.events import Event
from kling_studio.core.limits import (
    DEFAULT_CFG_SCALE,
    DEFAULT_NEGATIVE_PROMPT,
    AspectRatio,
    ShotType,
    Tier,
)


@dataclass(frozen=True)
class SettingsValues:
    """The settings as an immutable value (undo keeps copies of it)."""

    tier: Tier = Tier.PRO
    aspect_ratio: AspectRatio = AspectRatio.LANDSCAPE
    generate_audio: bool = True
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT
    cfg_scale: float = DEFAULT_CFG_SCALE
    shot_type: ShotType = ShotType.CUSTOMIZE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (enums as their strings)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


class Settings:
    """The live settings model; ``changed`` names the setting that changed."""

    def __init__(self, values: SettingsValues | None = None) -> None:
        self._values = values or SettingsValues()
        self.changed: Event[[str]] = Event("settings.changed")

    @property
    def values(self) -> SettingsValues:
        """All settings as one immutable value."""
        return self._values

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._values, name)

    def set(self, name: str, value: Any) -> None:
        """Change one setting; unchanged values announce nothing. Values are checked by validation, not here."""
        if getattr(self._values, name) == value:
            return
        self._values = replace(self._values, **{name: value})
        self.changed.emit(name)

    def replace_all(self, values: SettingsValues) -> None:
        """Replace every setting (presets, undo)."""
        old, self._values = self._values, values
        for f in fields(values):
            if getattr(old, f.name) != getattr(values, f.name):
                self.changed.emit(f.name)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value
