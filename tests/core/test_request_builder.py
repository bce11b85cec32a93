"""The request builder: exactly the input fal's Kling V3 text-to-video endpoints expect."""

from __future__ import annotations

import json

import pytest

from kling_studio.core.errors import UserError
from kling_studio.core.limits import Tier
from kling_studio.core.request import (
    FalRequest,
    InvalidProjectError,
    ModelKind,
    build_request,
    fal_field_to_path,
    model_id_for,
    parse_model_id,
)
from kling_studio.services.simulator.validation import validate_input

from .helpers import brief_project, multi_project, single_project


def test_multi_shot_request_has_multi_prompt_string_durations_their_sum_and_no_prompt():
    project = multi_project(("Wide harbour.", 4), ("Close on the bow.", 3), ("Gulls lift.", 5), tier=Tier.K4)
    request = build_request(project)
    assert request.model_id == "fal-ai/kling-video/v3/4k/text-to-video"
    assert request.arguments == {
        "multi_prompt": [
            {"prompt": "Wide harbour.", "duration": "4"},
            {"prompt": "Close on the bow.", "duration": "3"},
            {"prompt": "Gulls lift.", "duration": "5"},
        ],
        "duration": "12",
        "shot_type": "customize",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "negative_prompt": "blur, distort, and low quality",
        "cfg_scale": 0.5,
    }
    assert "prompt" not in request.arguments
    assert request.seconds == 12


def test_single_prompt_request_has_prompt_and_no_multi_prompt():
    project = single_project(
        "A fox in the snow.", 10, aspect_ratio="9:16", generate_audio=False, cfg_scale=0.3
    )
    request = build_request(project)
    assert request.model_id == "fal-ai/kling-video/v3/pro/text-to-video"
    assert request.arguments == {
        "prompt": "A fox in the snow.",
        "duration": "10",
        "shot_type": "customize",
        "aspect_ratio": "9:16",
        "generate_audio": False,
        "negative_prompt": "blur, distort, and low quality",
        "cfg_scale": 0.3,
    }
    assert "multi_prompt" not in request.arguments


def test_intelligent_shot_type_sends_a_prompt_with_shot_type_intelligent():
    request = build_request(single_project("A chase through a market.", 8, shot_type="intelligent"))
    assert request.arguments["prompt"] == "A chase through a market."
    assert request.arguments["duration"] == "8"
    assert request.arguments["shot_type"] == "intelligent"
    assert "multi_prompt" not in request.arguments


def test_field_order_reads_like_fals_docs_and_json_is_plain():
    request = build_request(multi_project(("A.", 4), ("B.", 4)))
    assert list(request.arguments) == [
        "multi_prompt",
        "duration",
        "shot_type",
        "aspect_ratio",
        "generate_audio",
        "negative_prompt",
        "cfg_scale",
    ]
    assert json.loads(json.dumps(request.arguments)) == request.arguments


def test_the_tier_argument_overrides_the_projects_tier():
    project = single_project(tier=Tier.PRO)
    assert build_request(project, Tier.STANDARD).model_id.endswith("/standard/text-to-video")
    assert build_request(project, "4k").model_id.endswith("/4k/text-to-video")
    with pytest.raises(UserError, match="8k"):
        build_request(project, "8k")


def test_a_brief_driven_prompt_is_sent_as_assembled():
    project = brief_project(scene="A snowy pass at dawn.", subject="A lone rider.", audio="Wind.")
    assert build_request(project).arguments["prompt"] == (
        "Scene: A snowy pass at dawn.\nSubject: A lone rider.\nAudio: Wind."
    )


def test_a_project_with_errors_is_refused_with_every_problem_listed():
    project = multi_project(("", 8), ("B.", 9))
    with pytest.raises(InvalidProjectError) as caught:
        build_request(project)
    error = caught.value
    assert isinstance(error, UserError)
    assert [p.field_path for p in error.problems] == ["shots[0].prompt", "shots"]
    assert "shots[0].prompt: Shot 1 has no prompt." in str(error)


def test_warnings_do_not_stop_a_request():
    request = build_request(single_project('He says: "WELCOME HOME FRIEND"'))
    assert request.arguments["prompt"] == 'He says: "WELCOME HOME FRIEND"'


@pytest.mark.parametrize(
    "project",
    [
        multi_project(("A.", 1), ("B.", 1), ("C.", 1)),
        multi_project(*[("Shot.", 2)] * 6, shot_type="customize"),
        multi_project(("Fifteen.", 15)),
        single_project(duration=3),
        single_project(duration=15, shot_type="intelligent", generate_audio=False),
    ],
)
def test_every_built_request_passes_the_simulators_copy_of_fals_schema(project):
    request = build_request(project)
    accepted = validate_input(request.model_id, request.arguments)
    assert accepted.seconds == request.seconds


def test_model_ids():
    assert model_id_for("standard") == "fal-ai/kling-video/v3/standard/text-to-video"
    assert model_id_for(Tier.K4, ModelKind.IMAGE_TO_VIDEO) == "fal-ai/kling-video/v3/4k/image-to-video"
    assert parse_model_id("fal-ai/kling-video/v3/pro/image-to-video") == (Tier.PRO, ModelKind.IMAGE_TO_VIDEO)
    assert parse_model_id("fal-ai/kling-video/v2/pro/text-to-video") is None
    assert parse_model_id("fal-ai/kling-video/v3/pro") is None


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (["body", "multi_prompt", 1, "prompt"], "shots[1].prompt"),
        (["body", "multi_prompt", 0, "duration"], "shots[0].duration"),
        (["body", "multi_prompt", 2], "shots[2]"),
        (["body", "multi_prompt"], "shots"),
        (["body", "prompt"], "prompt"),
        (["body", "duration"], "duration"),
        (["body", "cfg_scale"], "cfg_scale"),
        (["body", "aspect_ratio"], "aspect_ratio"),
        (["body"], ""),
        ([], ""),
        (["body", "elements", 0, "reference_image_urls", 2], "elements[0].reference_image_urls[2]"),
        (["multi_prompt", "1", "prompt"], "shots[1].prompt"),
    ],
)
def test_fal_422_locations_map_to_editor_fields(loc, path):
    assert fal_field_to_path(loc) == path


def test_fal_request_is_an_immutable_value():
    request = FalRequest("m", {"duration": "5"})
    with pytest.raises(AttributeError):
        request.model_id = "other"  # type: ignore[misc]
