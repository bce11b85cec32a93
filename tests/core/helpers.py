"""Small builders for core tests: projects in a line, no QApplication anywhere."""

from __future__ import annotations

from dataclasses import replace

from kling_studio.core.brief import Brief, BriefText
from kling_studio.core.limits import Mode
from kling_studio.core.project import Project
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.core.storyboard import Shot, Storyboard


def multi_project(*shots: tuple[str, int], **settings: object) -> Project:
    """A multi-shot project from ``(prompt, seconds)`` pairs and any settings to override."""
    return Project(
        storyboard=Storyboard(mode=Mode.MULTI, shots=[Shot(p, d) for p, d in shots]),
        settings=Settings(replace(SettingsValues(), **settings)),
        prompt_follows_brief=False,
    )


def single_project(
    prompt: str = "A red fox trots across fresh snow at dawn.", duration: int = 5, **settings: object
):
    """A single-prompt project with a hand-written prompt."""
    return Project(
        storyboard=Storyboard(mode=Mode.SINGLE, prompt=prompt, duration=duration),
        settings=Settings(replace(SettingsValues(), **settings)),
        prompt_follows_brief=False,
    )


def brief_project(**sections: str) -> Project:
    """A single-prompt project whose prompt follows the brief."""
    project = Project(brief=Brief(BriefText(**sections)))
    project.sync_prompt_from_brief()
    return project
