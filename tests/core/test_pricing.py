"""Prices: exact Decimal costs from a replaceable price file."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from kling_studio.core.errors import UserError
from kling_studio.core.limits import Tier
from kling_studio.core.money import format_usd, to_cents
from kling_studio.core.pricing import (
    EstimateLine,
    PriceCatalog,
    PriceFileError,
    UnknownModelError,
    estimate,
    estimate_request,
    estimate_tiers,
)
from kling_studio.core.request import FalRequest, build_request, model_id_for

from .helpers import multi_project, single_project

CATALOG = PriceCatalog.bundled()


@pytest.mark.parametrize(
    ("model_id", "off", "on"),
    [
        ("fal-ai/kling-video/v3/4k/text-to-video", "0.42", "0.42"),
        ("fal-ai/kling-video/v3/4k/image-to-video", "0.42", "0.42"),
        ("fal-ai/kling-video/v3/pro/text-to-video", "0.112", "0.168"),
        ("fal-ai/kling-video/v3/pro/image-to-video", "0.112", "0.168"),
        ("fal-ai/kling-video/v3/standard/text-to-video", "0.084", "0.126"),
        ("fal-ai/kling-video/v3/standard/image-to-video", "0.084", "0.126"),
    ],
)
def test_the_bundled_price_table_exactly(model_id, off, on):
    assert CATALOG.price_per_second(model_id, audio=False) == Decimal(off)
    assert CATALOG.price_per_second(model_id, audio=True) == Decimal(on)


def test_the_bundled_catalog_has_exactly_the_six_endpoints_and_a_date():
    assert len(CATALOG.models) == 6
    assert CATALOG.checked == "2026-11-01"
    assert CATALOG.currency == "USD"


@pytest.mark.parametrize(
    ("tier", "seconds", "audio", "total"),
    [
        (Tier.K4, 15, True, "6.30"),
        (Tier.K4, 5, False, "2.10"),
        (Tier.PRO, 10, True, "1.68"),
        (Tier.PRO, 10, False, "1.12"),
        (Tier.STANDARD, 5, False, "0.42"),
        (Tier.STANDARD, 15, True, "1.89"),
        (Tier.PRO, 3, True, "0.504"),
    ],
)
def test_single_prompt_estimates_are_exact(tier, seconds, audio, total):
    result = estimate(single_project(duration=seconds, generate_audio=audio), tier, catalog=CATALOG)
    assert result.total == Decimal(total)
    assert result.lines == (EstimateLine("Clip", seconds, Decimal(total)),)
    assert result.seconds == seconds and result.audio_on is audio and result.tier is tier


def test_multi_shot_estimate_has_a_line_per_shot_and_the_exact_total():
    result = estimate(multi_project(("A.", 4), ("B.", 3), ("C.", 5)), Tier.K4, catalog=CATALOG)
    assert result.model_id == "fal-ai/kling-video/v3/4k/text-to-video"
    assert [(ln.label, ln.seconds, ln.cost) for ln in result.lines] == [
        ("Shot 1", 4, Decimal("1.68")),
        ("Shot 2", 3, Decimal("1.26")),
        ("Shot 3", 5, Decimal("2.10")),
    ]
    assert result.total == Decimal("5.04") and result.total_text == "$5.04"
    assert result.to_dict()["total"] == "5.04"


def test_totals_stay_exact_where_floats_drift():
    # 0.1 + 0.2 style drift: 0.168 * 3 is 0.504 exactly, and no float is ever involved.
    result = estimate(multi_project(("A.", 1), ("B.", 1), ("C.", 1)), Tier.PRO, catalog=CATALOG)
    assert result.total == Decimal("0.504")
    assert all(isinstance(ln.cost, Decimal) for ln in result.lines)
    assert format_usd(result.total) == "$0.50"


def test_the_estimate_uses_the_projects_tier_by_default():
    assert estimate(single_project(tier=Tier.STANDARD), catalog=CATALOG).tier is Tier.STANDARD


def test_estimates_work_on_unfinished_projects():
    result = estimate(multi_project(("A.", 10), ("", 9)), Tier.K4, catalog=CATALOG)
    assert result.seconds == 19 and result.total == Decimal("7.98")


def test_every_tier_at_once_cheapest_first():
    tiers = estimate_tiers(multi_project(("A.", 4), ("B.", 3), ("C.", 5)), catalog=CATALOG)
    assert {t: e.total for t, e in tiers.items()} == {
        Tier.STANDARD: Decimal("1.512"),
        Tier.PRO: Decimal("2.016"),
        Tier.K4: Decimal("5.04"),
    }
    assert list(tiers) == [Tier.STANDARD, Tier.PRO, Tier.K4]


def test_a_built_request_costs_the_same_as_its_project():
    project = multi_project(("A.", 4), ("B.", 3), ("C.", 5), tier=Tier.K4)
    assert estimate_request(build_request(project), CATALOG) == estimate(project, catalog=CATALOG)


def test_raw_requests_use_fals_defaults():
    request = FalRequest(model_id_for("standard"), {"prompt": "A cat."})  # duration "5", audio on
    result = estimate_request(request, CATALOG)
    assert (result.seconds, result.audio_on, result.total) == (5, True, Decimal("0.630"))


def test_raw_request_with_a_bad_duration_is_a_user_error():
    with pytest.raises(UserError, match="duration"):
        estimate_request(FalRequest(model_id_for("pro"), {"prompt": "x", "duration": "five"}), CATALOG)


def test_unknown_model_names_the_model_and_the_price_file():
    with pytest.raises(UnknownModelError) as caught:
        CATALOG.price_per_second("fal-ai/kling-video/v4/pro/text-to-video", audio=True)
    message = str(caught.value)
    assert "fal-ai/kling-video/v4/pro/text-to-video" in message
    assert "price list built into Kling Studio" in message
    assert isinstance(caught.value, UserError)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("5.04", "$5.04"),
        ("0.504", "$0.50"),
        ("0.505", "$0.51"),  # half up, not banker's rounding
        ("2.016", "$2.02"),
        ("1.512", "$1.51"),
        ("0", "$0.00"),
        ("1234.5", "$1,234.50"),
        ("-1.005", "-$1.01"),
    ],
)
def test_format_usd_rounds_half_up_for_display(amount, text):
    assert format_usd(Decimal(amount)) == text


def test_to_cents_keeps_decimal():
    assert to_cents(Decimal("0.125")) == Decimal("0.13")


# ---- a replacement price file --------------------------------------------------------------------------


def _price_file(tmp_path, **changes):
    data = json.loads(json.dumps(_bundled_dict()))
    data.update(changes)
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _bundled_dict():
    from importlib import resources

    return json.loads(
        resources.files("kling_studio").joinpath("resources", "pricing.json").read_text("utf-8")
    )


def test_a_newer_price_file_replaces_the_bundled_prices(tmp_path):
    data = _bundled_dict()
    data["checked"] = "2027-01-15"
    data["models"][0]["per_second_audio_on"] = "0.50"
    path = tmp_path / "pricing.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    catalog = PriceCatalog.from_file(path)
    assert catalog.checked == "2027-01-15" and catalog.origin == str(path)
    result = estimate(single_project(duration=15), Tier.K4, catalog=catalog)
    assert result.total == Decimal("7.50")


def test_prices_written_as_json_numbers_are_read_exactly(tmp_path):
    text = json.dumps(_bundled_dict()).replace('"0.168"', "0.168")
    path = tmp_path / "numbers.json"
    path.write_text(text, encoding="utf-8")
    assert PriceCatalog.from_file(path).price_per_second(model_id_for("pro"), True) == Decimal("0.168")


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.update(format="something-else"), "not a Kling Studio price list"),
        (lambda d: d.update(version=9), "newer Kling Studio"),
        (lambda d: d.update(currency="EUR"), "USD"),
        (lambda d: d.update(models=[]), '"models"'),
        (lambda d: d["models"][2].update(per_second_audio_on="cheap"), "models[2]"),
        (lambda d: d["models"][1].update(per_second_audio_off="-0.1"), "negative"),
        (lambda d: d["models"][0].pop("model_id"), 'models[0] has no "model_id"'),
        (lambda d: d["models"][3].update(tier="8k"), "models[3]"),
        (lambda d: d["models"].append(dict(d["models"][0])), "twice"),
        (lambda d: d["models"][0].update(per_second_audio_on=True), "true/false"),
    ],
)
def test_a_malformed_price_file_names_what_is_wrong(tmp_path, mutate, fragment):
    data = _bundled_dict()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PriceFileError) as caught:
        PriceCatalog.from_file(path)
    assert fragment in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_price_file_that_is_not_json_says_where(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "kling-studio-prices",\n "version": }', encoding="utf-8")
    with pytest.raises(PriceFileError, match="line 2, column 13"):
        PriceCatalog.from_file(path)


def test_a_missing_price_file_is_a_user_error(tmp_path):
    with pytest.raises(PriceFileError, match="Cannot read the price file"):
        PriceCatalog.from_file(tmp_path / "nope.json")
