"""The `kling-studio` command: the studio window by default, sub-commands for power users.

Exit codes: 0 done, 2 the input was wrong (the message names what and how to fix it), 1 unexpected.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from kling_studio.core.errors import UserError

# Command groups, imported lazily so `kling-studio validate` never pays for Qt or PyAV.
_COMMAND_MODULES = (
    "kling_studio.commands.project_commands",
    "kling_studio.commands.job_commands",
    "kling_studio.commands.key_commands",
    "kling_studio.commands.simulate_command",
)

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command registered."""
    from kling_studio import __version__  # read from the package metadata: ~25 ms, so only when parsing

    parser = argparse.ArgumentParser(
        prog="kling-studio",
        description="Kling Studio: briefs, shot timelines and exact prices for Kling V3 video on fal.",
    )
    parser.add_argument("--version", action="version", version=f"kling-studio {__version__}")
    parser.add_argument("--self-test", action="store_true", help="check this installation and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command group not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    open_path = project_to_open(argv)
    # No arguments (or a project file, from a double-click) is the studio window: importing every command
    # group to build the parser first would delay its first paint by ~100 ms, for nothing to parse.
    args = build_parser().parse_args(argv) if argv and open_path is None else None
    try:
        if args is not None and args.self_test:
            from kling_studio.ui.self_test import run_self_test

            return run_self_test()
        if args is None or args.command is None:
            from kling_studio.ui.app import run_app

            return run_app(open_path=open_path)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"kling-studio: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kling-studio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        print(
            f"kling-studio: unexpected error: {type(exc).__name__}: {exc}\n"
            "This is a bug in Kling Studio. Run again with KLING_STUDIO_DEBUG=1 for details.",
            file=sys.stderr,
        )
        if _debug_enabled():
            raise
        return 1


def project_to_open(argv: Sequence[str]) -> Path | None:
    """The project file the window should open, when the whole command line is one (file managers run
    ``kling-studio PATH`` when a project is double-clicked)."""
    if len(argv) != 1 or argv[0].startswith("-"):
        return None
    from kling_studio.core.project_file import PROJECT_SUFFIX

    path = Path(argv[0])
    if path.suffix.lower() == PROJECT_SUFFIX or (path.suffix and path.is_file()):
        return path.absolute()
    return None


def _debug_enabled() -> bool:
    import os

    return os.environ.get("KLING_STUDIO_DEBUG") == "1"
