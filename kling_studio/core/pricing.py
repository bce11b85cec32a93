"""Prices per second of video, loaded from a price file, and exact cost estimates.

Prices are data, never code: the app ships ``resources/pricing.json`` and the user can point it at a newer
file without any network. Every amount is a ``Decimal`` from the file's text to the total, so
$0.42 × 15 s is exactly $6.30; only :func:`format_usd` rounds, and only for display.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kling_studio.core.errors import UserError
from kling_studio.core.limits import Mode, Tier
from kling_studio.core.money import format_usd, parse_amount
from kling_studio.core.request import FalRequest, ModelKind, model_id_for, model_kind_of, parse_tier

if TYPE_CHECKING:
    from kling_studio.core.project import Project

__all__ = [
    "PRICE_FORMAT",
    "Estimate",
    "EstimateLine",
    "ModelPrice",
    "PriceCatalog",
    "PriceFileError",
    "UnknownModelError",
    "estimate",
    "estimate_request",
    "estimate_tiers",
    "format_usd",
]

PRICE_FORMAT = "kling-studio-prices"
PRICE_FORMAT_VERSION = 1
MAX_PRICE_FILE_BYTES = 1_000_000
BUNDLED_ORIGIN = "the price list built into Kling Studio"


class PriceFileError(UserError):
    """A price file that cannot be used; the message names the file and what is wrong in it."""


class UnknownModelError(UserError):
    """The price file has no price for a model."""


@dataclass(frozen=True)
class ModelPrice:
    """What one fal endpoint costs per second of video."""

    model_id: str
    tier: Tier
    kind: ModelKind
    resolution: str
    per_second_audio_off: Decimal
    per_second_audio_on: Decimal

    def per_second(self, audio: bool) -> Decimal:
        """Price of one second, with or without generated sound."""
        return self.per_second_audio_on if audio else self.per_second_audio_off


@dataclass(frozen=True)
class PriceCatalog:
    """Every known endpoint's price, plus where the prices came from and when they were checked."""

    models: Mapping[str, ModelPrice]
    currency: str = "USD"
    checked: str = ""
    source: str = ""
    origin: str = BUNDLED_ORIGIN

    # ---- loading -------------------------------------------------------------------------------------
    @classmethod
    def bundled(cls) -> PriceCatalog:
        """The price list shipped with the app."""
        text = resources.files("kling_studio").joinpath("resources", "pricing.json").read_bytes()
        return cls.from_bytes(text, origin=BUNDLED_ORIGIN)

    @classmethod
    def from_file(cls, path: str | Path) -> PriceCatalog:
        """A price file the user chose (e.g. a newer one than the app shipped).

        Raises:
            PriceFileError: Naming the file and what is wrong with it.
        """
        path = Path(path)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_PRICE_FILE_BYTES + 1)
        except OSError as exc:
            raise PriceFileError(f"Cannot read the price file {path}: {exc.strerror or exc}.") from None
        if len(data) > MAX_PRICE_FILE_BYTES:
            raise PriceFileError(f"The price file {path} is over 1 MB; it is not a Kling Studio price list.")
        return cls.from_bytes(data, origin=str(path))

    @classmethod
    def from_bytes(cls, data: bytes, *, origin: str) -> PriceCatalog:
        """Parse a price file's bytes; ``origin`` names the file in error messages."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PriceFileError(f"The price file {origin} is not UTF-8 text.") from None
        try:
            parsed = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise PriceFileError(
                f"The price file {origin} is not valid JSON: {exc.msg} "
                f"at line {exc.lineno}, column {exc.colno}."
            ) from None
        return cls.from_dict(parsed, origin=origin)

    @classmethod
    def from_dict(cls, data: object, *, origin: str = BUNDLED_ORIGIN) -> PriceCatalog:
        """Build from parsed JSON, checking every field.

        Raises:
            PriceFileError: Naming the field that is wrong, e.g. ``models[2].per_second_audio_on``.
        """
        where = f"The price file {origin}"
        if not isinstance(data, dict):
            raise PriceFileError(f"{where} must hold a JSON object, not {_kind(data)}.")
        if data.get("format") != PRICE_FORMAT:
            raise PriceFileError(f'{where} is not a Kling Studio price list (no "format": "{PRICE_FORMAT}").')
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise PriceFileError(f"{where} has no valid version number.")
        if version > PRICE_FORMAT_VERSION:
            raise PriceFileError(
                f"{where} was made for a newer Kling Studio (price list version {version}); update the app."
            )
        currency = _text(data, "currency", where)
        if currency != "USD":
            raise PriceFileError(f"{where} is in {currency}; Kling Studio shows prices in USD only.")
        models = data.get("models")
        if not isinstance(models, list) or not models:
            raise PriceFileError(f'{where} needs a non-empty "models" list.')
        prices: dict[str, ModelPrice] = {}
        for index, item in enumerate(models):
            price = _model_price(item, f"{where}: models[{index}]")
            if price.model_id in prices:
                raise PriceFileError(f"{where} lists {price.model_id} twice (models[{index}]).")
            prices[price.model_id] = price
        return cls(
            models=prices,
            currency=currency,
            checked=_text(data, "checked", where, default=""),
            source=_text(data, "source", where, default=""),
            origin=origin,
        )

    # ---- looking up ----------------------------------------------------------------------------------
    def model(self, model_id: str) -> ModelPrice:
        """The price entry of ``model_id``.

        Raises:
            UnknownModelError: Naming the model and the price file.
        """
        try:
            return self.models[model_id]
        except KeyError:
            checked = f", checked {self.checked}" if self.checked else ""
            raise UnknownModelError(
                f"There is no price for {model_id} in {self.origin}{checked}. "
                "Use a newer price file that lists it, or choose a Kling V3 model."
            ) from None

    def price_per_second(self, model_id: str, audio: bool) -> Decimal:
        """Price of one second of ``model_id`` with or without sound."""
        return self.model(model_id).per_second(audio)


@dataclass(frozen=True)
class EstimateLine:
    """One line of an estimate: a shot (or the whole clip), its seconds and its exact cost."""

    label: str
    seconds: int
    cost: Decimal


@dataclass(frozen=True)
class Estimate:
    """What a request will cost, exactly, with a line per shot."""

    model_id: str
    tier: Tier
    seconds: int
    audio_on: bool
    price_per_second: Decimal
    lines: tuple[EstimateLine, ...]
    total: Decimal
    currency: str = "USD"
    prices_checked: str = ""
    prices_origin: str = field(default=BUNDLED_ORIGIN, compare=False)

    @property
    def total_text(self) -> str:
        """The total for people, e.g. ``$5.04``."""
        return format_usd(self.total)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with amounts as exact decimal strings."""
        return {
            "model_id": self.model_id,
            "tier": self.tier.value,
            "seconds": self.seconds,
            "audio_on": self.audio_on,
            "currency": self.currency,
            "price_per_second": str(self.price_per_second),
            "lines": [{"label": ln.label, "seconds": ln.seconds, "cost": str(ln.cost)} for ln in self.lines],
            "total": str(self.total),
            "prices_checked": self.prices_checked,
        }


def estimate(
    project: Project,
    tier: Tier | str | None = None,
    *,
    catalog: PriceCatalog,
    kind: ModelKind | str | None = None,
) -> Estimate:
    """What generating ``project`` would cost; works on unfinished projects too (nothing is validated).

    Args:
        project: The project; a multi-shot storyboard gets one line per shot.
        tier: The tier to price; None uses the project's setting.
        catalog: The prices to use.
        kind: The endpoint kind; None follows the project (image-to-video when it has a start frame).

    Raises:
        UnknownModelError: When the catalog has no price for the model.
    """
    settings = project.settings.values
    chosen = parse_tier(settings.tier if tier is None else tier)
    kind = model_kind_of(project) if kind is None else kind
    board = project.storyboard.state
    if board.mode == Mode.MULTI:
        parts = [(f"Shot {i + 1}", _seconds(shot.duration)) for i, shot in enumerate(board.shots)]
    else:
        parts = [("Clip", _seconds(board.duration))]
    return _estimate(model_id_for(chosen, kind), parts, settings.generate_audio is True, catalog)


def estimate_tiers(
    project: Project, *, catalog: PriceCatalog, kind: ModelKind | str | None = None
) -> dict[Tier, Estimate]:
    """The project's estimate at every tier the catalog prices, cheapest tier first."""
    kind = model_kind_of(project) if kind is None else kind
    result = {}
    for tier in (Tier.STANDARD, Tier.PRO, Tier.K4):
        if model_id_for(tier, kind) in catalog.models:
            result[tier] = estimate(project, tier, catalog=catalog, kind=kind)
    return result


def estimate_request(request: FalRequest, catalog: PriceCatalog) -> Estimate:
    """What a raw fal request would cost (``duration`` from its input; fal's defaults where absent).

    Raises:
        UnknownModelError: When the catalog has no price for the request's model.
        UserError: When ``duration`` is not a whole number of seconds.
    """
    args = request.arguments
    shots = args.get("multi_prompt")
    total = _input_seconds(args.get("duration", "5"), "duration")
    parts: list[tuple[str, int]] = []
    if isinstance(shots, list) and shots:
        for index, shot in enumerate(shots):
            raw = shot.get("duration", "5") if isinstance(shot, dict) else None
            parts.append((f"Shot {index + 1}", _input_seconds(raw, f"multi_prompt[{index}].duration")))
        if "duration" not in args:
            total = sum(seconds for _, seconds in parts)
        if sum(seconds for _, seconds in parts) != total:
            parts = [("Clip", total)]  # fal bills the clip's duration; the shots do not add up to it
    else:
        parts = [("Clip", total)]
    audio = args.get("generate_audio", True) is not False
    return _estimate(request.model_id, parts, audio, catalog)


# ---- internals ---------------------------------------------------------------------------------------


def _estimate(
    model_id: str, parts: Iterable[tuple[str, int]], audio: bool, catalog: PriceCatalog
) -> Estimate:
    price = catalog.model(model_id)
    per_second = price.per_second(audio)
    lines = tuple(EstimateLine(label, seconds, per_second * seconds) for label, seconds in parts)
    seconds = sum(line.seconds for line in lines)
    return Estimate(
        model_id=model_id,
        tier=price.tier,
        seconds=seconds,
        audio_on=audio,
        price_per_second=per_second,
        lines=lines,
        total=sum((line.cost for line in lines), Decimal(0)),
        currency=catalog.currency,
        prices_checked=catalog.checked,
        prices_origin=catalog.origin,
    )


def _seconds(value: object) -> int:
    """Seconds of an unfinished project: anything that is not a positive whole number costs nothing yet."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(0, value)


def _input_seconds(value: object, name: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise UserError(f'The input\'s {name} must be whole seconds such as "5", not {value!r}.')


def _model_price(item: object, where: str) -> ModelPrice:
    if not isinstance(item, dict):
        raise PriceFileError(f"{where} must be an object, not {_kind(item)}.")
    model_id = _text(item, "model_id", where)
    try:
        tier = Tier(_text(item, "tier", where))
        kind = ModelKind(_text(item, "kind", where))
    except ValueError as exc:
        raise PriceFileError(f"{where}: {exc}.") from None
    return ModelPrice(
        model_id=model_id,
        tier=tier,
        kind=kind,
        resolution=_text(item, "resolution", where, default=""),
        per_second_audio_off=_amount(item, "per_second_audio_off", where),
        per_second_audio_on=_amount(item, "per_second_audio_on", where),
    )


def _text(data: dict[str, Any], key: str, where: str, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise PriceFileError(f'{where} has no "{key}".')
    if not isinstance(value, str):
        raise PriceFileError(f'{where}: "{key}" must be text, not {_kind(value)}.')
    return value


def _amount(data: dict[str, Any], key: str, where: str) -> Decimal:
    if key not in data:
        raise PriceFileError(f'{where} has no "{key}".')
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise PriceFileError(f'{where}: "{key}" must be a price such as "0.42", not {_kind(value)}.')
    try:
        return parse_amount(str(value))
    except ValueError as exc:
        raise PriceFileError(f'{where}: "{key}" must be a price such as "0.42"; {exc}.') from None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    if isinstance(value, bool):
        return names[bool]
    if isinstance(value, int | float | Decimal):
        return f"the number {value}"
    return names.get(type(value), type(value).__name__)
