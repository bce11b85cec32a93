"""Named boundaries in a job's life where crash tests freeze the process, to SIGKILL it exactly there.

With ``KLING_STUDIO_HOLD_AT=before-post`` (a comma list of names) in the environment, reaching that point
prints ``HOLD before-post <job id>`` on stderr and waits until the process is killed. Users never set it;
then a checkpoint costs one environment lookup.

Points: ``before-post`` (job row committed, POST not sent), ``after-post`` (fal answered, request id not
yet saved), ``queued`` (request id saved, about to follow the job).
"""

from __future__ import annotations

import asyncio
import os
import sys

HOLD_ENV = "KLING_STUDIO_HOLD_AT"


async def checkpoint(name: str, job_id: str) -> None:
    """Hold here forever when a crash test asked for ``name``; otherwise return at once."""
    wanted = os.environ.get(HOLD_ENV)
    if not wanted or name not in wanted.split(","):
        return
    print(f"HOLD {name} {job_id}", file=sys.stderr, flush=True)
    await asyncio.Event().wait()  # nothing sets it: wait for the kill
