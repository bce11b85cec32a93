"""Presets: six ready starting points that validate cleanly and make fresh projects."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kling_studio.core.errors import UserError
from kling_studio.core.limits import AspectRatio, Mode, Tier
from kling_studio.core.presets import get_preset, list_presets, new_project_from_preset
from kling_studio.core.pricing import PriceCatalog, estimate
from kling_studio.core.request import build_request
from kling_studio.core.validation import validate

SLUGS = [
    "product-spot",
    "social-vertical",
    "music-video",
    "cinematic-trailer",
    "editorial-clip",
    "concept-reel",
]


def test_the_six_presets_are_listed_in_order_with_names_and_descriptions():
    presets = list_presets()
    assert [p.slug for p in presets] == SLUGS
    for preset in presets:
        assert preset.name and len(preset.description) > 40


@pytest.mark.parametrize("slug", SLUGS)
def test_every_preset_makes_a_project_with_no_problems_at_all(slug):
    project = new_project_from_preset(slug)
    assert validate(project) == []  # not even a guidance warning: presets teach good prompts
    request = build_request(project)
    assert request.model_id.endswith("/text-to-video")


@pytest.mark.parametrize("slug", SLUGS)
def test_every_preset_fills_the_brief_and_the_prompt_follows_it(slug):
    project = new_project_from_preset(slug)
    text = project.brief.text
    assert all(
        len(getattr(text, key)) > 30 for key in ("scene", "subject", "details", "use_case", "constraints")
    )
    assert project.prompt_follows_brief
    assert project.storyboard.prompt == project.brief.to_prompt(audio_on=project.settings.generate_audio)


def test_product_spot_is_a_4_3_5_storyboard_at_4k_costing_5_04():
    project = new_project_from_preset("product-spot")
    assert project.storyboard.mode is Mode.MULTI
    assert [s.duration for s in project.storyboard.shots] == [4, 3, 5]
    assert project.settings.tier is Tier.K4 and project.settings.generate_audio
    assert estimate(project, catalog=PriceCatalog.bundled()).total == Decimal("5.04")


def test_social_vertical_is_9_16():
    assert new_project_from_preset("social-vertical").settings.aspect_ratio is AspectRatio.PORTRAIT


def test_a_silent_preset_leaves_the_audio_section_out_of_the_prompt():
    project = new_project_from_preset("music-video")
    assert not project.settings.generate_audio
    assert "Audio:" not in project.storyboard.prompt


def test_each_new_project_gets_its_own_shot_ids():
    first, second = (new_project_from_preset("product-spot") for _ in range(2))
    assert not {s.id for s in first.storyboard.shots} & {s.id for s in second.storyboard.shots}


@pytest.mark.parametrize("name", ["product-spot", "Product spot", "PRODUCT SPOT", "productspot"])
def test_presets_are_found_by_slug_or_name(name):
    assert get_preset(name).slug == "product-spot"


def test_an_unknown_preset_lists_the_ones_that_exist():
    with pytest.raises(UserError) as caught:
        get_preset("wedding film")
    message = str(caught.value)
    assert "'wedding film'" in message
    assert all(slug in message for slug in SLUGS)
