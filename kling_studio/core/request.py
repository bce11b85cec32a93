"""The request fal receives: a model id and the input exactly as fal's Kling V3 schema expects it.

Durations are strings (``"5"``), a storyboard becomes ``multi_prompt`` with ``duration`` the sum of its
shots and no ``prompt`` key, a single prompt becomes ``prompt`` with no ``multi_prompt``. The input is built
as a dict (never by string concatenation) in fal's own field order, so it reads like fal's docs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kling_studio.core.errors import UserError
from kling_studio.core.limits import Mode, ShotType, Tier
from kling_studio.core.references import (
    ReferencesState,
    fill_reference_urls,
    placeholder_hashes,
    placeholder_url,
)
from kling_studio.core.validation import Problem, errors, validate

if TYPE_CHECKING:
    from kling_studio.core.project import Project

OWNER_APP = "fal-ai/kling-video"
MODEL_FAMILY = f"{OWNER_APP}/v3"


class ModelKind(StrEnum):
    """What the model starts from: text alone, or a start frame."""

    TEXT_TO_VIDEO = "text-to-video"
    IMAGE_TO_VIDEO = "image-to-video"


@dataclass(frozen=True)
class FalRequest:
    """One fal queue submission: the model endpoint and its input.

    Attributes:
        model_id: e.g. ``fal-ai/kling-video/v3/4k/text-to-video``.
        arguments: The JSON input, in fal's field order. Treat it as read-only.
    """

    model_id: str
    arguments: dict[str, Any]

    @property
    def seconds(self) -> int:
        """Length of the clip this request asks for (the ``duration`` field)."""
        return int(self.arguments["duration"])

    @property
    def reference_hashes(self) -> list[str]:
        """Images (sha256) still named by placeholder: upload them, then call :meth:`with_image_urls`."""
        return placeholder_hashes(self.arguments)

    def with_image_urls(self, urls: dict[str, str]) -> FalRequest:
        """The request with every image placeholder replaced by its uploaded URL (sha256 → URL).

        Raises:
            MissingUploadError: An image has no URL in ``urls``.
        """
        return FalRequest(self.model_id, fill_reference_urls(self.arguments, urls))


class InvalidProjectError(UserError):
    """The project breaks a rule fal enforces; ``problems`` holds every error found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"fal would refuse this project; fix {count} {noun} first:\n{lines}")


class UnknownTierError(UserError):
    """A tier name that is not standard, pro or 4k."""


def parse_tier(value: str | Tier) -> Tier:
    """The tier named ``value`` (``standard``, ``pro`` or ``4k``; case-insensitive).

    Raises:
        UnknownTierError: Naming the tiers that exist.
    """
    try:
        return Tier(str(value).strip().lower())
    except ValueError:
        names = ", ".join(t.value for t in Tier)
        raise UnknownTierError(f"There is no tier {value!r}; choose one of {names}.") from None


def model_id_for(tier: Tier | str, kind: ModelKind | str = ModelKind.TEXT_TO_VIDEO) -> str:
    """The fal model id of a Kling V3 endpoint, e.g. ``fal-ai/kling-video/v3/pro/text-to-video``."""
    return f"{MODEL_FAMILY}/{parse_tier(tier).value}/{ModelKind(kind).value}"


def parse_model_id(model_id: str) -> tuple[Tier, ModelKind] | None:
    """``(tier, kind)`` of a Kling V3 model id, or None for any other model."""
    prefix = MODEL_FAMILY + "/"
    if not model_id.startswith(prefix):
        return None
    parts = model_id[len(prefix) :].split("/")
    if len(parts) != 2:
        return None
    try:
        return Tier(parts[0]), ModelKind(parts[1])
    except ValueError:
        return None


def model_kind_of(project: Project) -> ModelKind:
    """Image-to-video when the project has a start frame, else text-to-video."""
    references: ReferencesState | None = getattr(getattr(project, "references", None), "state", None)
    if references is not None and references.uses_image_to_video:
        return ModelKind.IMAGE_TO_VIDEO
    return ModelKind.TEXT_TO_VIDEO


def build_request(project: Project, tier: Tier | str | None = None) -> FalRequest:
    """The request for ``project``: text-to-video, or image-to-video when it has a start frame.

    Image-to-video leaves out ``aspect_ratio`` (fal takes it from the start image) and names its images
    (``start_image_url``, ``end_image_url``, ``elements``) by placeholder URLs carrying their sha256; upload
    them and fill the real URLs in with :meth:`FalRequest.with_image_urls` before sending.

    Args:
        project: The project to send; it is not changed.
        tier: The tier to render at; None uses the project's own setting.

    Raises:
        InvalidProjectError: When validation finds errors (warnings do not stop a request).
    """
    found = errors(validate(project))
    if found:
        raise InvalidProjectError(found)
    settings = project.settings.values
    chosen = parse_tier(settings.tier if tier is None else tier)
    board = project.storyboard.state
    arguments: dict[str, Any] = {}
    if board.mode == Mode.MULTI:
        arguments["multi_prompt"] = [
            {"prompt": shot.prompt.strip(), "duration": str(shot.duration)} for shot in board.shots
        ]
        arguments["duration"] = str(sum(shot.duration for shot in board.shots))
    else:
        arguments["prompt"] = board.prompt.strip()
        arguments["duration"] = str(board.duration)
    arguments["shot_type"] = ShotType(settings.shot_type).value
    kind = model_kind_of(project)
    if kind is ModelKind.IMAGE_TO_VIDEO:
        arguments.update(_image_arguments(project.references.state))
    else:
        arguments["aspect_ratio"] = str(getattr(settings.aspect_ratio, "value", settings.aspect_ratio))
    arguments["generate_audio"] = settings.generate_audio
    arguments["negative_prompt"] = settings.negative_prompt
    arguments["cfg_scale"] = float(settings.cfg_scale)
    return FalRequest(model_id_for(chosen, kind), arguments)


def _image_arguments(state: ReferencesState) -> dict[str, Any]:
    """``start_image_url``, ``end_image_url`` and ``elements``, in fal's order, as placeholders."""
    assert state.start_frame is not None
    images: dict[str, Any] = {"start_image_url": placeholder_url(state.start_frame.sha256)}
    if state.end_frame is not None:
        images["end_image_url"] = placeholder_url(state.end_frame.sha256)
    if state.elements:
        images["elements"] = [
            {
                "frontal_image_url": placeholder_url(element.frontal.sha256),
                "reference_image_urls": [placeholder_url(ref.sha256) for ref in element.references],
            }
            for element in state.elements
            if element.frontal is not None
        ]
    return images


def fal_field_to_path(loc: Sequence[str | int]) -> str:
    """Map the ``loc`` of a fal 422 ``detail`` entry to the editor's field path.

    ``["body", "multi_prompt", 1, "prompt"]`` → ``shots[1].prompt``; ``["body", "cfg_scale"]`` →
    ``cfg_scale``; ``["body"]`` → ``""`` (the input as a whole). Unknown fields keep fal's name, with list
    indexes in brackets (``elements[0].frontal_image_url``).
    """
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    if parts and parts[0] == "multi_prompt":
        parts[0] = "shots"
    path = ""
    for part in parts:
        is_index = isinstance(part, int) and not isinstance(part, bool)
        if is_index or (str(part).isdigit() and path):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path
