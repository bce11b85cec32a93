"""``kling-studio simulate``: run the built-in fal simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from kling_studio.core.errors import UserError

_FAULT_HELP = """\
fault spec (--faults), comma-separated:
  latency=200ms          every response waits this long first
  seed=N                 seed the random draws so a run repeats exactly
  lock                   every key is locked (403 "Exhausted balance")
  FAULT@SITE[:P][*N]     FAULT at SITE with probability P (default 1), at most N times
    sites:  submit status stream result cancel download upload run
    faults: 429 (with Retry-After: 1), 500 502 503 504 (fal's error bodies),
            drop@stream, drop@download, truncate@download, slow@download, expire@result,
            fail@run (the generation fails)
  e.g.  --faults "latency=150ms,429@status:0.3,drop@download,seed=7"

keys: any "Key id:secret" works; id "locked" gets 403, id "unknown" gets 401.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="run a local fal simulator (nothing is charged)",
        description="Run a local stand-in for fal's queue API and the Kling V3 endpoints. "
        "It renders real MP4 title-card videos and can inject faults. Nothing is charged.",
        epilog=_FAULT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free port)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="time compression: 10 makes the queue 10x faster (default 1)"
    )
    parser.add_argument(
        "--resolution",
        choices=("full", "preview"),
        default="preview",
        help="full = native 4K frames; preview = 640 px long side, fast (default)",
    )
    parser.add_argument("--faults", default="", metavar="SPEC", help="faults to inject (see below)")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep renders here (default: a temp dir)")
    parser.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Start the simulator, print how to use it, and serve until Ctrl-C (or until ``stop`` is set)."""
    from kling_studio.services.simulator import FaultPlan, SimulatorConfig, SimulatorServer

    if args.speed <= 0:
        raise UserError(f"--speed must be more than 0 (got {args.speed}); 1 is real time, 10 is 10x faster.")
    config = SimulatorConfig(
        speed=args.speed,
        resolution=args.resolution,
        faults=FaultPlan.parse(args.faults),
        work_dir=args.work_dir,
    )
    try:
        server = SimulatorServer(config, host=args.host, port=args.port).start()
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        raise UserError(f"Could not listen on {where} ({exc.strerror}); try another --port.") from exc
    stop = stop or threading.Event()
    try:
        print(f"Kling Studio fal simulator on {server.url} — nothing is charged.")
        faults = config.faults.describe() or "none"
        print(f"  speed {args.speed:g}x, {args.resolution} renders, faults: {faults}")
        print("Point Kling Studio at it:")
        print(f"  export KLING_STUDIO_QUEUE_URL={server.url}")
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("\nSimulator stopped.", file=sys.stderr)
    finally:
        server.stop()
    return 0
