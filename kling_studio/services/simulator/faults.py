"""Fault injection for the simulator: a small spec language parsed into a seeded, thread-safe plan.

Grammar (comma-separated items, whitespace ignored)::

    latency=200ms          every response waits this long before it is sent (ms or s: 200ms, 1.5s, 2)
    seed=42                seeds the random draws, so a probabilistic plan repeats exactly
    lock                   every key is treated as locked: 403 "User is locked. Reason: Exhausted balance"
    FAULT@SITE[:P][*N]     FAULT at SITE with probability P (default 1), at most N times (default: no cap)

Sites: ``submit``, ``status`` (polling), ``stream`` (the SSE status stream), ``result``, ``cancel``,
``download`` (the video file), ``upload`` (the storage endpoints), ``run`` (the generation itself).

Faults:
    ``429``                 429 with ``Retry-After: 1`` (any site)
    ``500 502 503 504``     fal's flat infrastructure error body ``{"detail", "error_type"}`` plus the
                            ``X-Fal-Error-Type`` header (any site)
    ``drop@stream``         the SSE stream closes after its first event, before COMPLETED
    ``drop@download``       the connection is reset after half of the body (once per file, unless ``*N``)
    ``truncate@download``   Content-Length announces the whole file, the body stops short (once per file)
    ``slow@download``       slow-loris: the body trickles out at about 64 KiB/s
    ``expire@result``       the result is gone: 404 ``{"detail": "Request ... not found ..."}``
    ``fail@run``            the generation fails: COMPLETED with ``error``; the result is a 500

A submit header ``X-Fal-Request-Timeout: N`` ends a job still queued after N simulated seconds: COMPLETED
with ``error_type: request_timeout``, and its result is a 504 with ``X-Fal-Request-Timeout-Type: user``.

Examples: ``latency=200ms,429@status:0.3,seed=7`` ; ``503@status*2`` (the first two polls fail) ;
``drop@download`` ; ``lock``.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

from kling_studio.core.errors import UserError

SITES = ("submit", "status", "stream", "result", "cancel", "download", "upload", "run")
HTTP_FAULTS = ("429", "500", "502", "503", "504")
# Faults that only make sense at one site.
SITE_FAULTS = {
    "drop": ("stream", "download"),
    "truncate": ("download",),
    "slow": ("download",),
    "expire": ("result",),
    "fail": ("run",),
}
# Download faults hit each file once by default, so a resuming client can still finish.
_ONCE_PER_FILE = ("drop", "truncate")

_FAULT_RE = re.compile(r"^(?P<kind>[a-z0-9]+)@(?P<site>[a-z]+)(?::(?P<p>[0-9.]+))?(?:\*(?P<n>\d+))?$")
_DURATION_RE = re.compile(r"^(?P<num>[0-9.]+)\s*(?P<unit>ms|s)?$")


class FaultSpecError(UserError):
    """The ``--faults`` spec has an item the simulator does not understand."""


@dataclass(frozen=True)
class Fault:
    """One rule: inject ``kind`` at ``site`` with ``probability``, at most ``limit`` times (None: no cap)."""

    kind: str
    site: str
    probability: float = 1.0
    limit: int | None = None

    @property
    def status_code(self) -> int | None:
        """The HTTP status this fault answers with, or None for connection-level faults."""
        return int(self.kind) if self.kind.isdigit() else None


@dataclass
class FaultPlan:
    """The faults a simulator injects; ``pick`` is thread-safe and deterministic for a given seed.

    Args:
        faults: The fault rules, checked in order; the first one that fires wins.
        latency: Seconds every response waits before it is sent.
        lock_all: Treat every key as locked (403).
        seed: Seed for the probability draws; None draws from fresh entropy.
    """

    faults: tuple[Fault, ...] = ()
    latency: float = 0.0
    lock_all: bool = False
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False, default_factory=threading.Lock)
    _fired: dict[Fault, int] = field(init=False, repr=False, compare=False, default_factory=dict)
    _fired_per_key: set[tuple[Fault, str]] = field(init=False, repr=False, compare=False, default_factory=set)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str | None, *, seed: int | None = None) -> FaultPlan:
        """Parse a spec such as ``"latency=200ms,429@status:0.3,seed=7"`` (see the module docstring).

        Raises:
            FaultSpecError: An item is not part of the grammar; the message names it and lists what is.
        """
        faults: list[Fault] = []
        latency = 0.0
        lock_all = False
        for raw in (spec or "").split(","):
            item = raw.strip().lower()
            if not item:
                continue
            if item == "lock":
                lock_all = True
            elif item.startswith("latency="):
                latency = _parse_duration(item.removeprefix("latency="), item)
            elif item.startswith("seed="):
                value = item.removeprefix("seed=")
                if not value.lstrip("-").isdigit():
                    raise FaultSpecError(f"Fault spec item {raw.strip()!r}: the seed must be a whole number.")
                seed = int(value)
            else:
                faults.append(_parse_fault(item, raw.strip()))
        return cls(faults=tuple(faults), latency=latency, lock_all=lock_all, seed=seed)

    def with_seed(self, seed: int | None) -> FaultPlan:
        """A fresh copy of this plan (nothing fired yet) drawing from ``seed``."""
        return FaultPlan(faults=self.faults, latency=self.latency, lock_all=self.lock_all, seed=seed)

    def pick(self, site: str, key: str = "") -> Fault | None:
        """Decide whether a fault fires at ``site``; ``key`` names the file for once-per-file faults.

        Each matching rule draws from the seeded generator, so the same plan and the same request order
        give the same faults.
        """
        with self._lock:
            for fault in self.faults:
                if fault.site != site:
                    continue
                if fault.limit is not None and self._fired.get(fault, 0) >= fault.limit:
                    continue
                if (
                    fault.limit is None
                    and fault.kind in _ONCE_PER_FILE
                    and (fault, key) in self._fired_per_key
                ):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                self._fired[fault] = self._fired.get(fault, 0) + 1
                self._fired_per_key.add((fault, key))
                return fault
        return None

    def fired(self) -> dict[str, int]:
        """How many times each rule has fired so far, keyed ``"kind@site"``; handy in tests."""
        with self._lock:
            return {f"{f.kind}@{f.site}": n for f, n in self._fired.items()}

    def describe(self) -> str:
        """The plan back as a spec string (empty when nothing is injected)."""
        items = [f"latency={self.latency * 1000:g}ms"] if self.latency else []
        items += ["lock"] if self.lock_all else []
        for f in self.faults:
            text = f"{f.kind}@{f.site}"
            text += f":{f.probability:g}" if f.probability < 1.0 else ""
            text += f"*{f.limit}" if f.limit is not None else ""
            items.append(text)
        items += [f"seed={self.seed}"] if self.seed is not None else []
        return ",".join(items)


def _parse_duration(text: str, item: str) -> float:
    match = _DURATION_RE.match(text.strip())
    if not match:
        raise FaultSpecError(f"Fault spec item {item!r}: write the latency as e.g. 200ms or 1.5s.")
    value = float(match["num"])
    return value / 1000.0 if match["unit"] == "ms" else value


def _parse_fault(item: str, raw: str) -> Fault:
    match = _FAULT_RE.match(item)
    if not match:
        raise FaultSpecError(
            f"Fault spec item {raw!r} is not understood. Use FAULT@SITE[:PROBABILITY][*COUNT] "
            "(e.g. 429@status:0.3), latency=200ms, seed=N or lock."
        )
    kind, site = match["kind"], match["site"]
    if site not in SITES:
        raise FaultSpecError(
            f"Fault spec item {raw!r}: unknown site {site!r}; use one of {', '.join(SITES)}."
        )
    if kind in SITE_FAULTS:
        if site not in SITE_FAULTS[kind]:
            raise FaultSpecError(
                f"Fault spec item {raw!r}: {kind} works only at {' or '.join(SITE_FAULTS[kind])}."
            )
    elif kind not in HTTP_FAULTS:
        known = ", ".join((*HTTP_FAULTS, *SITE_FAULTS))
        raise FaultSpecError(f"Fault spec item {raw!r}: unknown fault {kind!r}; use one of {known}.")
    elif site == "run":
        raise FaultSpecError(f"Fault spec item {raw!r}: the run site takes only fail (fail@run).")
    probability = 1.0
    if match["p"] is not None:
        try:
            probability = float(match["p"])
        except ValueError:
            probability = -1.0
        if not 0.0 <= probability <= 1.0:
            raise FaultSpecError(f"Fault spec item {raw!r}: the probability must be between 0 and 1.")
    limit = int(match["n"]) if match["n"] is not None else None
    return Fault(kind=kind, site=site, probability=probability, limit=limit)
