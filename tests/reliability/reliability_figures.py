"""The figures each reliability suite measured, for the end-of-run summary (and optionally a JSON file)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest


class Figures:
    """Named sections of ``figure: value`` pairs; thread-safe, in the order they were first recorded."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def record(self, section: str, **values: Any) -> None:
        """Set figures in ``section`` (a later value for the same figure replaces the earlier one)."""
        with self._lock:
            self.sections.setdefault(section, {}).update(values)

    def add(self, section: str, figure: str, amount: int | float = 1) -> None:
        """Add ``amount`` to a counting figure."""
        with self._lock:
            bucket = self.sections.setdefault(section, {})
            bucket[figure] = bucket.get(figure, 0) + amount

    def lines(self) -> list[str]:
        """One line per section: ``section: figure=value, …``."""
        with self._lock:
            return [
                f"{name}: " + ", ".join(f"{key}={_text(value)}" for key, value in values.items())
                for name, values in self.sections.items()
            ]

    def write_json(self, path: Path) -> None:
        """Write every section to ``path`` as JSON."""
        with self._lock:
            path.write_text(json.dumps(self.sections, indent=2, default=str) + "\n", encoding="utf-8")


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    return str(value)


FIGURES_KEY = pytest.StashKey[Figures]()
