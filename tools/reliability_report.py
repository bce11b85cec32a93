"""Print the reliability suite's figures (the JSON written with KLING_STUDIO_RELIABILITY_JSON) as Markdown.

    KLING_STUDIO_RELIABILITY_JSON=figures.json python -m pytest tests/reliability
    python tools/reliability_report.py figures.json

Exits 1 when a figure that must be zero is not (lost results, duplicate POSTs, leaks...), so CI can gate on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: Figures that must be zero, per section.
MUST_BE_ZERO = {
    "crash trials": ("results_lost", "duplicate_posts", "partial_files_left"),
    "fault storm": ("untruthful", "hung"),
    "secret hygiene": ("key_found_in_files", "key_found_in_output", "video_requests_with_a_key", "key_in_logs"),
    "whole-run key scan": ("key_found",),
}


def render(sections: dict[str, dict[str, object]]) -> tuple[str, list[str]]:
    """The Markdown text and the list of zero-figures that were not zero."""
    lines: list[str] = []
    broken: list[str] = []
    for name, figures in sections.items():
        lines += [f"### {name}", "", "| figure | value |", "|---|---|"]
        for key, value in figures.items():
            shown = json.dumps(value) if isinstance(value, dict) else str(value)
            lines.append(f"| {key.replace('_', ' ')} | {shown} |")
            if key in MUST_BE_ZERO.get(name, ()) and str(value) not in ("0", "0.0"):
                broken.append(f"{name}: {key} = {value}")
        lines.append("")
    return "\n".join(lines), broken


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: reliability_report.py FIGURES.json", file=sys.stderr)
        return 2
    try:
        sections = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"reliability_report: cannot read {argv[0]}: {exc}", file=sys.stderr)
        return 2
    text, broken = render(sections)
    print(text)
    for line in broken:
        print(f"NOT ZERO: {line}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
