"""Takes: the downloaded videos under ``<data>/outputs/<project>/`` with their provenance sidecars, and the
review a person gives each one (accept or reject, the production checklist, a note).

The review is written into the take's sidecar (``review`` key) atomically, so it travels with the file and
survives restarts. Pure services: no Qt.

Cost per accepted second — the number that decides budgets in commercial AI video — is all spend on the
project divided by the seconds of accepted takes, exact in :class:`~decimal.Decimal`.

Decision (simulated projects): simulated jobs never count as real spend (see :mod:`ledger`), so a project
whose takes are all simulated is costed with its *simulated* spend and says so (``CostPerSecond.simulated``);
a project with any real take is costed with real spend only. Mixing the two would show a price nobody pays.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from kling_studio.core.errors import UserError
from kling_studio.services.provenance import SIDECAR_FORMAT, sidecar_path

REVIEW_VERSION = 1


class TakeError(UserError):
    """A take or its sidecar cannot be read or written; the message names the file and the fix."""


class Verdict(StrEnum):
    """What the reviewer decided."""

    UNREVIEWED = "unreviewed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CheckItem(StrEnum):
    """The production checklist, from the brief's use case."""

    DELIVERY_FORMAT = "delivery_format"
    CONSISTENCY = "consistency"
    FOLLOWS_BRIEF = "follows_brief"
    NO_MISLEADING_CLAIMS = "no_misleading_claims"
    RIGHTS_CLEAR = "rights_clear"
    AI_DISCLOSURE = "ai_disclosure"

    @property
    def label(self) -> str:
        """The item as the reviewer reads it."""
        return CHECK_LABELS[self]


CHECK_LABELS: dict[CheckItem, str] = {
    CheckItem.DELIVERY_FORMAT: "Delivery format (resolution, aspect, duration, audio)",
    CheckItem.CONSISTENCY: "Subject, product and identity stay consistent",
    CheckItem.FOLLOWS_BRIEF: "Follows the brief",
    CheckItem.NO_MISLEADING_CLAIMS: "No misleading claims",
    CheckItem.RIGHTS_CLEAR: "Rights clear (likeness, logos, music, references)",
    CheckItem.AI_DISCLOSURE: "AI disclosure planned where needed",
}


@dataclass(frozen=True)
class Review:
    """A person's judgement of one take.

    Attributes:
        verdict: accepted, rejected or not reviewed yet.
        checks: which checklist items were ticked.
        note: free text.
        reviewed_at: when it was last saved (UTC), None if never.
    """

    verdict: Verdict = Verdict.UNREVIEWED
    checks: frozenset[CheckItem] = frozenset()
    note: str = ""
    reviewed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``review`` object stored in the sidecar."""
        return {
            "version": REVIEW_VERSION,
            "verdict": self.verdict.value,
            "checks": {item.value: item in self.checks for item in CheckItem},
            "note": self.note,
            "reviewed_at": _iso(self.reviewed_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Review:
        """Read a sidecar's ``review`` (None or unknown values give an unreviewed take)."""
        if not isinstance(data, Mapping):
            return cls()
        try:
            verdict = Verdict(data.get("verdict", "unreviewed"))
        except ValueError:
            verdict = Verdict.UNREVIEWED
        raw = data.get("checks")
        checks = frozenset(item for item in CheckItem if isinstance(raw, Mapping) and raw.get(item.value))
        stamp = data.get("reviewed_at")
        try:
            reviewed_at = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
        except ValueError:
            reviewed_at = None
        note = data.get("note")
        return cls(verdict, checks, note if isinstance(note, str) else "", reviewed_at)


@dataclass(frozen=True)
class Take:
    """One downloaded video and what its sidecar says about it.

    Attributes:
        video_path: the MP4.
        job_id: the job that made it.
        project_name: the project's name; ``project_slug`` its outputs folder.
        model_id, tier: what made it.
        prompt: the prompt, or the shots' prompts joined (for search and display).
        shot_seconds: each shot's length (one entry for a single prompt).
        input: the exact fal input.
        estimated_cost: the price shown at submit.
        simulated: made by the simulator (nothing was charged).
        request_id: fal's request id.
        created_at: when the job was made.
        review: the person's verdict, checklist and note.
    """

    video_path: Path
    job_id: str
    project_name: str
    project_slug: str
    model_id: str
    tier: str
    prompt: str
    shot_seconds: tuple[int, ...]
    input: Mapping[str, Any] = field(repr=False)
    estimated_cost: Decimal
    currency: str
    simulated: bool
    request_id: str | None
    created_at: datetime | None
    review: Review = Review()

    @property
    def sidecar_path(self) -> Path:
        """The JSON next to the video."""
        return sidecar_path(self.video_path)

    @property
    def seconds(self) -> int:
        """The take's length as asked for (the sum of its shots)."""
        return sum(self.shot_seconds)

    @property
    def accepted(self) -> bool:
        """True when a reviewer accepted it."""
        return self.review.verdict is Verdict.ACCEPTED

    def matches(self, text: str) -> bool:
        """True when every word of ``text`` appears in the prompt, project or request id (any case)."""
        haystack = " ".join((self.prompt, self.project_name, self.request_id or "", self.job_id)).casefold()
        return all(word in haystack for word in text.casefold().split())


def shot_seconds(fal_input: Mapping[str, Any]) -> tuple[int, ...]:
    """Each shot's length in seconds from a fal input (``multi_prompt`` durations, else ``duration``)."""
    shots = fal_input.get("multi_prompt")
    if isinstance(shots, list) and shots:
        return tuple(_seconds(shot.get("duration"), 5) for shot in shots if isinstance(shot, Mapping))
    return (_seconds(fal_input.get("duration"), 5),)


def shot_starts(fal_input: Mapping[str, Any]) -> list[float]:
    """Where each shot after the first begins, in seconds: the cut points to mark on a timeline."""
    starts, at = [], 0
    for seconds in shot_seconds(fal_input)[:-1]:
        at += seconds
        starts.append(float(at))
    return starts


def prompt_text(fal_input: Mapping[str, Any]) -> str:
    """The prompt, or the shots' prompts joined with `` / ``."""
    shots = fal_input.get("multi_prompt")
    if isinstance(shots, list) and shots:
        return " / ".join(str(s.get("prompt", "")) for s in shots if isinstance(s, Mapping))
    return str(fal_input.get("prompt", ""))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def _seconds(value: object, default: int) -> int:
    try:
        return int(str(value).rstrip("s"))
    except (TypeError, ValueError):
        return default


# ---- reading and writing sidecars ----------------------------------------------------------------------


def read_sidecar(video_path: Path) -> dict[str, Any]:
    """The sidecar of ``video_path`` as a dict.

    Raises:
        TakeError: it is missing or not a Kling Studio sidecar.
    """
    path = sidecar_path(video_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TakeError(
            f"{video_path.name} has no sidecar ({path.name}); it was not made by Kling Studio."
        ) from exc
    except (OSError, ValueError) as exc:
        raise TakeError(f"The sidecar {path} cannot be read ({exc}). Restore it from a backup.") from exc
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        raise TakeError(f"{path} is not a Kling Studio take sidecar.")
    return data


def take_from_sidecar(video_path: Path, data: Mapping[str, Any]) -> Take:
    """Build a :class:`Take` from sidecar content (tolerant of missing optional keys)."""
    fal_input = data.get("input") if isinstance(data.get("input"), Mapping) else {}
    project = data.get("project") if isinstance(data.get("project"), Mapping) else {}
    stamps = data.get("timestamps") if isinstance(data.get("timestamps"), Mapping) else {}
    created = stamps.get("created")
    try:
        created_at = datetime.fromisoformat(created) if isinstance(created, str) else None
    except ValueError:
        created_at = None
    try:
        cost = Decimal(str(data.get("estimated_cost", "0")))
    except ArithmeticError:
        cost = Decimal(0)
    return Take(
        video_path=video_path,
        job_id=str(data.get("job_id", "")),
        project_name=str(project.get("name") or video_path.parent.name),
        project_slug=str(project.get("slug") or video_path.parent.name),
        model_id=str(data.get("model_id", "")),
        tier=str(data.get("tier", "")),
        prompt=prompt_text(fal_input),
        shot_seconds=shot_seconds(fal_input),
        input=fal_input,
        estimated_cost=cost,
        currency=str(data.get("currency", "USD")),
        simulated=bool(data.get("simulated", False)),
        request_id=data.get("request_id"),
        created_at=created_at,
        review=Review.from_json(data.get("review")),
    )


def load_take(video_path: Path) -> Take:
    """The take at ``video_path`` with its sidecar.

    Raises:
        TakeError: the sidecar is missing or unreadable.
    """
    return take_from_sidecar(Path(video_path), read_sidecar(Path(video_path)))


def list_takes(outputs_root: Path) -> list[Take]:
    """Every take under ``outputs_root`` (``<data>/outputs``): videos with a readable sidecar, newest first.

    Videos without a sidecar, and half-downloaded files, are skipped.
    """
    found: list[tuple[datetime, int, Take]] = []
    if not outputs_root.is_dir():
        return []
    epoch = datetime.min.replace(tzinfo=UTC)
    for video in outputs_root.glob("*/*.mp4"):
        try:
            take = load_take(video)
            written = video.stat().st_mtime_ns  # sidecar times are to the second: ties go to the newer file
        except (TakeError, OSError):
            continue
        found.append((take.created_at or epoch, written, take))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [take for _, _, take in found]


def save_review(video_path: Path, review: Review, *, now: datetime | None = None) -> Take:
    """Write ``review`` into the take's sidecar atomically (temp file, fsync, rename); returns the take.

    Everything else in the sidecar is kept as it was.

    Raises:
        TakeError: the sidecar is missing, unreadable or cannot be written.
    """
    video_path = Path(video_path)
    data = read_sidecar(video_path)
    stamped = replace(review, reviewed_at=now or datetime.now(UTC))
    data["review"] = stamped.to_json()
    _write_json_atomically(sidecar_path(video_path), data)
    return take_from_sidecar(video_path, data)


def _write_json_atomically(path: Path, content: Mapping[str, Any]) -> None:
    payload = json.dumps(content, ensure_ascii=False, indent=2).encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise TakeError(
            f"Cannot write next to {path} ({exc.strerror or exc}); check the folder's permissions."
        ) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise TakeError(f"Cannot save the review into {path} ({exc.strerror or exc}).") from exc


# ---- cost per accepted second --------------------------------------------------------------------------


class ProjectSpend(Protocol):
    """What cost per second needs from the ledger."""

    def spend_for_project(self, project_name: str, *, simulated: bool = False) -> Decimal:
        """All spend counted on the project (real, or simulated)."""
        ...


@dataclass(frozen=True)
class CostPerSecond:
    """A project's spend against what it has to show for it.

    Attributes:
        project_name: the project.
        spend: all spend on the project (real, or simulated when ``simulated``).
        accepted_seconds: seconds of accepted takes.
        accepted_takes: how many takes are accepted.
        simulated: the figures are the simulator's (nothing was charged).
    """

    project_name: str
    spend: Decimal
    accepted_seconds: int
    accepted_takes: int
    simulated: bool

    @property
    def per_second(self) -> Decimal | None:
        """Spend ÷ accepted seconds, exact; None while nothing is accepted."""
        if not self.accepted_seconds:
            return None
        return self.spend / Decimal(self.accepted_seconds)


def cost_per_accepted_second(project_name: str, takes: Iterable[Take], ledger: ProjectSpend) -> CostPerSecond:
    """Cost per accepted second of ``project_name`` (see the module's note on simulated projects)."""
    mine = [t for t in takes if t.project_name == project_name]
    simulated = bool(mine) and all(t.simulated for t in mine)
    accepted = [t for t in mine if t.accepted]
    return CostPerSecond(
        project_name=project_name,
        spend=ledger.spend_for_project(project_name, simulated=simulated),
        accepted_seconds=sum(t.seconds for t in accepted),
        accepted_takes=len(accepted),
        simulated=simulated,
    )


# ---- delivery ------------------------------------------------------------------------------------------------


def export_take(take: Take, folder: Path) -> list[Path]:
    """Copy an accepted take and its sidecar into ``folder`` (created); returns the files written.

    Files are copied under a temporary name and renamed, so the folder never holds half a video; a name
    already taken gets a ``-2``, ``-3``… suffix rather than being overwritten.

    Raises:
        TakeError: the take is not accepted, or the copy failed (the message says why).
    """
    if not take.accepted:
        raise TakeError(f"Take {take.job_id} is not accepted; accept it in the review before delivering it.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stem = _free_stem(folder, take.video_path.stem, (".mp4", ".json"))
        written = []
        for source, suffix in ((take.video_path, ".mp4"), (take.sidecar_path, ".json")):
            target = folder / f"{stem}{suffix}"
            tmp = folder / f".{target.name}.part"
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
            written.append(target)
        return written
    except OSError as exc:
        raise TakeError(f"Cannot copy the take to {folder} ({exc.strerror or exc}).") from exc


def _free_stem(folder: Path, stem: str, suffixes: tuple[str, ...]) -> str:
    candidate, n = stem, 1
    while any((folder / f"{candidate}{suffix}").exists() for suffix in suffixes):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def brief_markdown(take: Take) -> str:
    """The take's brief and storyboard as Markdown, from what was actually sent (the sidecar's input)."""
    fal_input = take.input
    lines = [f"# {take.project_name}", ""]
    lines += [
        f"- **Model:** `{take.model_id}` ({take.tier})",
        f"- **Length:** {take.seconds} s"
        + (f" in {len(take.shot_seconds)} shots" if len(take.shot_seconds) > 1 else ""),
    ]
    for key, label in (("aspect_ratio", "Aspect ratio"), ("generate_audio", "Audio"), ("cfg_scale", "CFG scale")):
        if key in fal_input:
            value = fal_input[key]
            lines.append(f"- **{label}:** {'on' if value is True else 'off' if value is False else value}")
    cost = f"${take.estimated_cost}" if take.currency == "USD" else f"{take.estimated_cost} {take.currency}"
    lines.append(f"- **Cost:** {cost}" + (" (simulated, nothing charged)" if take.simulated else ""))
    if take.request_id:
        lines.append(f"- **fal request:** `{take.request_id}`")
    lines.append(f"- **Review:** {take.review.verdict.value}")
    lines += ["", "## Storyboard", ""]
    shots = fal_input.get("multi_prompt")
    if isinstance(shots, list) and shots:
        start = 0
        for number, (shot, seconds) in enumerate(zip(shots, take.shot_seconds, strict=False), start=1):
            prompt = str(shot.get("prompt", "")) if isinstance(shot, Mapping) else ""
            lines += [f"### Shot {number} · {start}–{start + seconds} s", "", prompt, ""]
            start += seconds
    else:
        lines += [f"### One shot · 0–{take.seconds} s", "", str(fal_input.get("prompt", "")), ""]
    negative = fal_input.get("negative_prompt")
    if negative:
        lines += ["## Avoid", "", str(negative), ""]
    if take.review.note or take.review.checks:
        lines += ["## Review", ""]
        lines += [f"- [{'x' if item in take.review.checks else ' '}] {item.label}" for item in CheckItem]
        if take.review.note:
            lines += ["", take.review.note]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def export_markdown(take: Take, target: Path) -> Path:
    """Write :func:`brief_markdown` to ``target`` atomically.

    Raises:
        TakeError: it cannot be written.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_text(brief_markdown(take), encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        raise TakeError(f"Cannot write {target} ({exc.strerror or exc}).") from exc
    return target
