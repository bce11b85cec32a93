"""The provenance sidecar written next to every downloaded take: what was asked, of which model, at what
price, under which fal request — everything needed to reproduce, audit or bill it. Never the key."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kling_studio import __version__
from kling_studio.services.jobs import Job

SIDECAR_FORMAT = "kling-studio-take"
SIDECAR_VERSION = 1


def sidecar_path(video_path: Path) -> Path:
    """``take.mp4`` → ``take.json``."""
    return video_path.with_suffix(".json")


def sidecar_for(job: Job, video_path: Path, *, file_size: int) -> dict[str, Any]:
    """The sidecar's content for a finished job."""
    return {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "job_id": job.id,
        "project": {"name": job.project_name, "slug": job.project_slug,
                    "path": None if job.project_path is None else str(job.project_path)},
        "model_id": job.model_id,
        "tier": job.tier,
        "input": job.input,
        "references": list(job.references),
        "estimated_cost": str(job.estimated_cost),
        "currency": job.currency,
        "simulated": job.simulated,
        "request_id": job.request_id,
        "video": {"file_name": video_path.name, "file_size": file_size, "source_url": job.video_url},
        "timestamps": {
            "created": _iso(job.created_at),
            "submitted": _iso(job.submitted_at),
            "completed": _iso(job.completed_at),
            "downloaded": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "app_version": __version__,
        "review": None,
    }


def write_sidecar(video_path: Path, content: dict[str, Any]) -> Path:
    """Write the sidecar atomically (temp file, fsync, rename) and return its path."""
    path = sidecar_path(video_path)
    data = json.dumps(content, ensure_ascii=False, indent=2).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
