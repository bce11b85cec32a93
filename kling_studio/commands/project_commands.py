"""Project sub-commands: ``new``, ``validate``, ``estimate`` and ``request``.

None of them needs a key or the network; ``request`` prints exactly what ``submit`` would send.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kling_studio.core.errors import UserError
from kling_studio.core.limits import Mode, Tier
from kling_studio.core.presets import get_preset, list_presets
from kling_studio.core.pricing import Estimate, PriceCatalog, estimate, estimate_tiers, format_usd
from kling_studio.core.project import Project
from kling_studio.core.project_file import load_project, save_project
from kling_studio.core.request import build_request, parse_tier
from kling_studio.core.validation import errors, validate, warnings

_TIERS = ", ".join(t.value for t in Tier)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the project sub-commands."""
    new = subparsers.add_parser(
        "new",
        help="create a project file, empty or from a preset",
        description="Create a project file. It is never overwritten unless you add --force.",
    )
    new.add_argument("file", type=Path, nargs="?", metavar="FILE", help="the project file to create (.klingproj)")
    new.add_argument("--preset", metavar="NAME", help="start from a preset (see --list-presets)")
    new.add_argument("--name", help="the project's name (default: the file name)")
    new.add_argument("--force", action="store_true", help="replace FILE if it exists")
    new.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    new.set_defaults(func=run_new)

    check = subparsers.add_parser(
        "validate",
        help="check a project against fal's rules and Kling's prompt guide",
        description="List every problem: errors fal would refuse (exit 2) and guidance warnings (exit 0).",
    )
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(func=run_validate)

    cost = subparsers.add_parser(
        "estimate",
        help="show what a project would cost, per shot and in total",
        description="Price a project; nothing is sent. Prices come from --prices FILE, else the app's own "
        "price file (pricing.json in the config folder) if you put a newer one there, else the bundled list.",
    )
    cost.add_argument("file", type=Path, metavar="FILE")
    cost.add_argument("--tier", metavar="TIER", help=f"price at this tier ({_TIERS}); default: the project's")
    cost.add_argument("--json", action="store_true", help="print exact decimal amounts as JSON")
    cost.add_argument("--prices", type=Path, metavar="PRICES", help="a newer price file to use instead")
    cost.set_defaults(func=run_estimate)

    request = subparsers.add_parser(
        "request",
        help="print the model id and the exact JSON input that would be sent to fal",
        description="Print the fal model id on the first line, then the input JSON. Nothing is sent.",
    )
    request.add_argument("file", type=Path, metavar="FILE")
    request.add_argument(
        "--tier", metavar="TIER", help=f"build for this tier ({_TIERS}); default: the project's"
    )
    request.set_defaults(func=run_request)


def run_new(args: argparse.Namespace) -> int:
    """``kling-studio new``."""
    if args.list_presets:
        for preset in list_presets():
            print(f"{preset.slug:<20} {preset.name}: {preset.description}")
        return 0
    if args.file is None:
        raise UserError("Name the file to create, e.g. kling-studio new spot.klingproj --preset product-spot")
    path: Path = args.file
    if path.exists() and not args.force:
        raise UserError(f"{path} already exists; choose another name, or add --force to replace it.")
    if not path.parent.is_dir():
        raise UserError(f"The folder {path.parent} does not exist; create it first or choose another place.")
    if args.preset:
        preset = get_preset(args.preset)
        project = preset.new_project()
        source = f" from the preset {preset.name}"
    else:
        project = Project()
        source = ""
    project.name = args.name or (path.stem if not args.preset else project.name)
    save_project(project, path)
    print(f"Created {path}{source}: {_summary(project)}.")
    print(f"Check it with: kling-studio validate {path}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """``kling-studio validate``: errors on stderr (exit 2), warnings on stdout."""
    project = load_project(args.file)
    problems = validate(project)
    found, advice = errors(problems), warnings(problems)
    for problem in found:
        print(f"{problem}", file=sys.stderr)
    for problem in advice:
        print(f"warning: {problem}")
    if found:
        noun = "error" if len(found) == 1 else "errors"
        message = f"kling-studio: {args.file}: {len(found)} {noun}; fal would refuse this project."
        print(message, file=sys.stderr)
        return 2
    note = f" ({len(advice)} warning{'s' if len(advice) != 1 else ''})" if advice else ""
    print(f"{args.file}: ready to send{note}: {_summary(project)}.")
    return 0


def run_estimate(args: argparse.Namespace) -> int:
    """``kling-studio estimate``."""
    project = load_project(args.file)
    tier = parse_tier(args.tier) if args.tier else None
    catalog = PriceCatalog.from_file(args.prices) if args.prices else _app_price_catalog()
    main = estimate(project, tier, catalog=catalog)
    others = {t: e for t, e in estimate_tiers(project, catalog=catalog).items() if t is not main.tier}
    refused = bool(errors(validate(project)))
    if args.json:
        data = main.to_dict()
        data["other_tiers"] = {t.value: str(e.total) for t, e in others.items()}
        data["valid"] = not refused
        print(json.dumps(data, indent=2))
        return 0
    _print_estimate(project, main, others, catalog)
    if refused:
        print(f"note: fal would refuse this project as it is; see: kling-studio validate {args.file}")
    return 0


def run_request(args: argparse.Namespace) -> int:
    """``kling-studio request``: the model id, then the input exactly as it would be sent."""
    project = load_project(args.file)
    request = build_request(project, parse_tier(args.tier) if args.tier else None)
    print(request.model_id)
    print(json.dumps(request.arguments, indent=2, ensure_ascii=False))
    return 0


def _app_price_catalog() -> PriceCatalog:
    """The prices the app uses: the user's ``<config>/pricing.json`` if present, else the bundled list."""
    from kling_studio.services.studio_services import load_price_catalog

    return load_price_catalog()


def _print_estimate(
    project: Project, main: Estimate, others: dict[Tier, Estimate], catalog: PriceCatalog
) -> None:
    sound = "audio on" if main.audio_on else "audio off"
    print(f"{project.name}: {_shape(project)}, {sound}")
    print(f"Tier {main.tier.value} ({main.model_id}) at ${main.price_per_second} per second")
    width = max(len(line.label) for line in main.lines) if main.lines else 5
    width = max(width, len("Total"))
    for line in main.lines:
        print(f"  {line.label:<{width}} {line.seconds:>3} s  {format_usd(line.cost):>8}")
    print(f"  {'Total':<{width}} {main.seconds:>3} s  {format_usd(main.total):>8}")
    if others:
        print("Other tiers: " + ", ".join(f"{t.value} {format_usd(e.total)}" for t, e in others.items()))
    checked = f"checked {catalog.checked}, " if catalog.checked else ""
    print(f"Prices: {checked}{catalog.origin}.")


def _shape(project: Project) -> str:
    board = project.storyboard
    if board.mode is Mode.MULTI:
        count = len(board.shots)
        return f"{count} shot{'s' if count != 1 else ''}, {board.total_seconds} s"
    return f"single prompt, {board.duration} s"


def _summary(project: Project) -> str:
    settings = project.settings
    sound = "audio on" if settings.generate_audio else "audio off"
    aspect, tier = (getattr(v, "value", v) for v in (settings.aspect_ratio, settings.tier))
    return f"{_shape(project)}, {aspect}, tier {tier}, {sound}"
