"""Input validation for the six Kling V3 endpoints, answering like fal's pydantic layer does.

Each problem becomes one ``detail`` entry ``{"loc": ["body", ...], "msg": ..., "type": ..., "input": ...}``
so a client can map ``loc`` back to the field the user typed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kling_studio.core import limits

OWNER_APP = "fal-ai/kling-video"
TIERS = ("4k", "pro", "standard")
KINDS = ("text-to-video", "image-to-video")
MODEL_IDS = tuple(f"{OWNER_APP}/v3/{tier}/{kind}" for tier in TIERS for kind in KINDS)

DURATIONS = tuple(str(n) for n in range(limits.MIN_TOTAL_SECONDS, limits.MAX_TOTAL_SECONDS + 1))
SHOT_DURATIONS = tuple(str(n) for n in range(limits.MIN_SHOT_SECONDS, limits.MAX_SHOT_SECONDS + 1))
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
SHOT_TYPES = ("customize", "intelligent")
MAX_REFERENCE_IMAGES = 3

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Shot:
    """One shot of the clip to render: its prompt and length in whole seconds."""

    prompt: str
    seconds: int


@dataclass(frozen=True)
class GenerationInput:
    """A validated request, reduced to what the renderer needs."""

    model_id: str
    tier: str
    kind: str
    shots: tuple[Shot, ...]
    aspect_ratio: str
    generate_audio: bool
    start_image_url: str | None

    @property
    def seconds(self) -> int:
        """Total clip length in seconds."""
        return sum(s.seconds for s in self.shots)


class InputInvalid(Exception):
    """The body fails validation; ``detail`` is fal's 422 list."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(detail)} validation error(s)")
        self.detail = detail


def parse_model_id(model_id: str) -> tuple[str, str] | None:
    """Return ``(tier, kind)`` for a Kling V3 model id, or None for any other path."""
    if model_id not in MODEL_IDS:
        return None
    _, _, _, tier, kind = model_id.split("/")
    return tier, kind


def validate_input(model_id: str, body: object) -> GenerationInput:
    """Check ``body`` against the endpoint's rules and return what to render.

    Raises:
        InputInvalid: With every problem found, in fal's 422 ``detail`` format.
    """
    tier, kind = parse_model_id(model_id) or ("", "")
    errors = _Errors()
    if not isinstance(body, dict):
        errors.add(
            (),
            "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from",
            body,
        )
        raise InputInvalid(errors.items)

    shots = _check_prompts(body, errors)
    duration = _check_literal(body, "duration", DURATIONS, errors, default="5")
    _check_literal(body, "shot_type", SHOT_TYPES, errors, default="customize")
    audio = body.get("generate_audio", True)
    if not isinstance(audio, bool):
        errors.add(("generate_audio",), "bool_type", "Input should be a valid boolean", audio)
    if "negative_prompt" in body and not isinstance(body["negative_prompt"], str):
        errors.add(
            ("negative_prompt",), "string_type", "Input should be a valid string", body["negative_prompt"]
        )
    _check_cfg_scale(body, errors)

    start_image_url: str | None = None
    aspect = "16:9"
    if kind == "image-to-video":
        if "aspect_ratio" in body:
            errors.add(
                ("aspect_ratio",),
                "extra_forbidden",
                "Extra inputs are not permitted (image-to-video takes the aspect ratio from the start image)",
                body["aspect_ratio"],
            )
        start_image_url = _check_url(body, "start_image_url", errors, required=True)
        _check_url(body, "end_image_url", errors, required=False)
        _check_elements(body, errors)
    else:
        aspect = _check_literal(body, "aspect_ratio", ASPECT_RATIOS, errors, default="16:9")
        for name in ("start_image_url", "end_image_url", "elements"):
            if name in body:
                errors.add((name,), "extra_forbidden", "Extra inputs are not permitted", body[name])

    if errors.items:
        raise InputInvalid(errors.items)
    if len(shots) == 1 and shots[0].seconds == 0:
        shots = (Shot(shots[0].prompt, int(duration)),)
    return GenerationInput(
        model_id=model_id,
        tier=tier,
        kind=kind,
        shots=shots,
        aspect_ratio=aspect,
        generate_audio=bool(audio),
        start_image_url=start_image_url,
    )


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: Loc, type_: str, msg: str, value: object) -> None:
        self.items.append({"loc": ["body", *loc], "msg": msg, "type": type_, "input": value})


def _literal_message(options: tuple[str, ...]) -> str:
    quoted = [f"'{o}'" for o in options]
    return "Input should be " + (
        ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]
    )


def _check_literal(
    body: dict[str, Any], name: str, options: tuple[str, ...], errors: _Errors, *, default: str
) -> str:
    value = body.get(name, default)
    if value not in options or not isinstance(value, str):
        errors.add((name,), "literal_error", _literal_message(options), value)
        return default
    return value


def _check_text(value: object, loc: Loc, errors: _Errors) -> str | None:
    if not isinstance(value, str):
        errors.add(loc, "string_type", "Input should be a valid string", value)
        return None
    if not value.strip():
        errors.add(loc, "string_too_short", "String should have at least 1 character", value)
        return None
    return value


def _check_prompts(body: dict[str, Any], errors: _Errors) -> tuple[Shot, ...]:
    has_prompt = body.get("prompt") is not None
    has_multi = body.get("multi_prompt") is not None
    if has_prompt == has_multi:
        errors.add(
            (),
            "value_error",
            "Value error, Exactly one of 'prompt' or 'multi_prompt' must be provided"
            + (", not both" if has_prompt else ""),
            None,
        )
        return ()
    if has_prompt:
        text = _check_text(body["prompt"], ("prompt",), errors)
        return (Shot(text or "", 0),)

    items = body["multi_prompt"]
    if not isinstance(items, list):
        errors.add(("multi_prompt",), "list_type", "Input should be a valid list", items)
        return ()
    if len(items) < limits.MIN_SHOTS:
        errors.add(
            ("multi_prompt",),
            "too_short",
            f"List should have at least {limits.MIN_SHOTS} item after validation, not {len(items)}",
            items,
        )
        return ()
    if len(items) > limits.MAX_SHOTS:
        errors.add(
            ("multi_prompt",),
            "too_long",
            f"List should have at most {limits.MAX_SHOTS} items after validation, not {len(items)}",
            items,
        )
        return ()
    shots: list[Shot] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.add(
                ("multi_prompt", index),
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
                item,
            )
            continue
        if "prompt" not in item:
            errors.add(("multi_prompt", index, "prompt"), "missing", "Field required", item)
            text = None
        else:
            text = _check_text(item["prompt"], ("multi_prompt", index, "prompt"), errors)
        seconds = item.get("duration", "5")
        if seconds not in SHOT_DURATIONS or not isinstance(seconds, str):
            errors.add(
                ("multi_prompt", index, "duration"),
                "literal_error",
                _literal_message(SHOT_DURATIONS),
                seconds,
            )
            continue
        shots.append(Shot(text or "", int(seconds)))
    total = sum(s.seconds for s in shots)
    if total > limits.MAX_TOTAL_SECONDS:
        errors.add(
            ("multi_prompt",),
            "value_error",
            f"Value error, The shots add up to {total} seconds; the total must not exceed "
            f"{limits.MAX_TOTAL_SECONDS} seconds",
            items,
        )
    return tuple(shots)


def _check_cfg_scale(body: dict[str, Any], errors: _Errors) -> None:
    if "cfg_scale" not in body:
        return
    value = body["cfg_scale"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(("cfg_scale",), "float_type", "Input should be a valid number", value)
    elif value < 0:
        errors.add(("cfg_scale",), "greater_than_equal", "Input should be greater than or equal to 0", value)
    elif value > 1:
        errors.add(("cfg_scale",), "less_than_equal", "Input should be less than or equal to 1", value)


def _check_url(body: dict[str, Any], name: str, errors: _Errors, *, required: bool) -> str | None:
    if name not in body or body[name] is None:
        if required:
            errors.add((name,), "missing", "Field required", None)
        return None
    return _check_text(body[name], (name,), errors)


def _check_elements(body: dict[str, Any], errors: _Errors) -> None:
    elements = body.get("elements")
    if elements is None:
        return
    if not isinstance(elements, list):
        errors.add(("elements",), "list_type", "Input should be a valid list", elements)
        return
    for index, element in enumerate(elements):
        loc: Loc = ("elements", index)
        if not isinstance(element, dict):
            errors.add(
                loc,
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
                element,
            )
            continue
        if "video_url" in element:
            _check_text(element["video_url"], (*loc, "video_url"), errors)
            continue
        if "frontal_image_url" not in element:
            errors.add((*loc, "frontal_image_url"), "missing", "Field required", element)
        else:
            _check_text(element["frontal_image_url"], (*loc, "frontal_image_url"), errors)
        refs = element.get("reference_image_urls")
        if refs is None:
            errors.add((*loc, "reference_image_urls"), "missing", "Field required", element)
        elif not isinstance(refs, list):
            errors.add((*loc, "reference_image_urls"), "list_type", "Input should be a valid list", refs)
        elif not refs:
            msg = "List should have at least 1 item after validation, not 0"
            errors.add((*loc, "reference_image_urls"), "too_short", msg, refs)
        elif len(refs) > MAX_REFERENCE_IMAGES:
            msg = f"List should have at most {MAX_REFERENCE_IMAGES} items after validation, not {len(refs)}"
            errors.add((*loc, "reference_image_urls"), "too_long", msg, refs)
        else:
            for ref_index, ref in enumerate(refs):
                _check_text(ref, (*loc, "reference_image_urls", ref_index), errors)
