"""The creative brief: six template sections that assemble into a Kling prompt.

The order follows the Kling V3 prompt template: Scene, Subject, Important details, Audio, Use case,
Constraints. Empty sections are left out; Audio is left out when the clip has no sound.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from kling_studio.core.events import Event


@dataclass(frozen=True)
class BriefSection:
    """One template section: the field name, its label and a placeholder that teaches how to fill it."""

    key: str
    label: str
    placeholder: str


SECTIONS: tuple[BriefSection, ...] = (
    BriefSection("scene", "Scene", "Where and when: a sunlit marble kitchen at golden hour, steam rising"),
    BriefSection("subject", "Subject", "Who or what: a matte black espresso machine, brand logo facing camera"),
    BriefSection(
        "details",
        "Important details",
        "Camera, lens, lighting, colour grade, pacing: slow dolly-in, 50 mm, soft key light, warm grade",
    ),
    BriefSection("audio", "Audio", "Sound and speech: gentle hiss of steam, a barista says: good morning."),
    BriefSection("use_case", "Use case", "Where it runs: 15 s product spot for Instagram and YouTube pre-roll"),
    BriefSection("constraints", "Constraints", "What must not happen: no text overlays, logo never distorted"),
)
SECTION_KEYS: tuple[str, ...] = tuple(s.key for s in SECTIONS)


@dataclass(frozen=True)
class BriefText:
    """The text of the six sections; an immutable value, so undo can keep old copies cheaply."""

    scene: str = ""
    subject: str = ""
    details: str = ""
    audio: str = ""
    use_case: str = ""
    constraints: str = ""

    def to_prompt(self, *, audio_on: bool = True) -> str:
        """Assemble the prompt: one labelled line per non-empty section, in the template's order."""
        lines = []
        for section in SECTIONS:
            if section.key == "audio" and not audio_on:
                continue
            text = " ".join(getattr(self, section.key).split())
            if text:
                lines.append(f"{section.label}: {text}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, str]:
        """The sections as a plain dict, for project files."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> BriefText:
        """Build from a dict, ignoring keys that are not sections."""
        return cls(**{k: str(v) for k, v in data.items() if k in SECTION_KEYS})


class Brief:
    """The project's brief as a live model: edits announce themselves through ``changed``."""

    def __init__(self, text: BriefText | None = None) -> None:
        self._text = text or BriefText()
        self.changed: Event[[str]] = Event("brief.changed")  # the section key that changed

    @property
    def text(self) -> BriefText:
        """The current section texts."""
        return self._text

    def get(self, key: str) -> str:
        """Text of one section."""
        return getattr(self._text, _checked(key))

    def set(self, key: str, value: str) -> None:
        """Change one section; does nothing (and announces nothing) when the text is the same."""
        if getattr(self._text, _checked(key)) == value:
            return
        self._text = replace(self._text, **{key: value})
        self.changed.emit(key)

    def replace_all(self, text: BriefText) -> None:
        """Replace every section at once, e.g. from a preset."""
        old, self._text = self._text, text
        for key in SECTION_KEYS:
            if getattr(old, key) != getattr(text, key):
                self.changed.emit(key)

    def to_prompt(self, *, audio_on: bool = True) -> str:
        """The assembled prompt (see :meth:`BriefText.to_prompt`)."""
        return self._text.to_prompt(audio_on=audio_on)


def _checked(key: str) -> str:
    if key not in SECTION_KEYS:
        raise KeyError(f"unknown brief section {key!r}; expected one of {', '.join(SECTION_KEYS)}")
    return key
