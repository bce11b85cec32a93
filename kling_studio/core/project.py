"""A project: the brief, the storyboard and the settings a creator edits, plus what the file carried."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kling_studio.core.brief import Brief
from kling_studio.core.events import Event
from kling_studio.core.references import ProjectReferences
from kling_studio.core.settings import Settings
from kling_studio.core.storyboard import Storyboard


@dataclass
class Project:
    """Everything one project file holds.

    ``prompt_follows_brief``: while true, the single prompt is rebuilt from the brief on every brief edit;
    typing in the prompt itself turns it off, so a hand-tuned prompt is never overwritten.
    ``extra`` keeps keys a newer version of the app wrote, so a round trip through this version loses nothing.
    """

    name: str = "Untitled"
    brief: Brief = field(default_factory=Brief)
    storyboard: Storyboard = field(default_factory=Storyboard)
    settings: Settings = field(default_factory=Settings)
    references: ProjectReferences = field(default_factory=ProjectReferences)
    prompt_follows_brief: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        self.changed: Event[[]] = Event("project.changed")
        self.brief.changed.connect(self._on_brief_changed)
        self.storyboard.changed.connect(self.changed.emit)
        self.settings.changed.connect(self._on_settings_changed)
        self.references.changed.connect(self._on_references_changed)

    def sync_prompt_from_brief(self) -> None:
        """Rebuild the single prompt from the brief (when it follows the brief)."""
        if self.prompt_follows_brief:
            self.storyboard.set_prompt(self.brief.to_prompt(audio_on=self.settings.generate_audio))

    def _on_brief_changed(self, _key: str) -> None:
        self.sync_prompt_from_brief()
        self.changed.emit()

    def _on_references_changed(self, _part: str) -> None:
        self.changed.emit()

    def _on_settings_changed(self, name: str) -> None:
        if name == "generate_audio":
            self.sync_prompt_from_brief()
        self.changed.emit()
