"""Project files: UTF-8 JSON, saved atomically, opened with every field checked.

A file looks like ``{"format": "kling-studio-project", "version": 1, "name": …, "brief": {…},
"storyboard": {"mode", "prompt", "duration", "shots": [{"id", "prompt", "duration"}]}, "settings": {…},
"prompt_follows_brief": …}``.

Opening never changes the file. A file that cannot be opened (truncated, not JSON, binary, UTF-16, a
wrong type, a newer version) raises :class:`ProjectFileError` naming the file, the field and the fix.
Values of the right type but out of range (a 16 s shot) open fine: validation reports them in the editor,
where the user can fix them. Keys this version does not know are kept in ``Project.extra`` (top-level keys,
and unknown keys inside ``brief``, ``storyboard`` and ``settings`` under the section's name) and written
back on save, so a newer app's data survives a round trip through this one.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from kling_studio.core.brief import SECTION_KEYS, Brief, BriefText
from kling_studio.core.errors import UserError
from kling_studio.core.limits import AspectRatio, Mode, ShotType, Tier
from kling_studio.core.project import Project
from kling_studio.core.project_migrations import (
    CURRENT_VERSION,
    PROJECT_FORMAT,
    MigrationProblem,
    describe,
    looks_like_fal_input,
    migrate,
)
from kling_studio.core.references import Element, ProjectReferences, Reference, ReferencesState
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.core.storyboard import Shot, Storyboard, new_shot_id

__all__ = [
    "CURRENT_VERSION",
    "MAX_PROJECT_BYTES",
    "PROJECT_FORMAT",
    "PROJECT_SUFFIX",
    "ProjectFileError",
    "load_project",
    "project_from_dict",
    "project_from_json_bytes",
    "project_to_dict",
    "project_to_json_bytes",
    "save_project",
]

MAX_PROJECT_BYTES = 10 * 1024 * 1024
PROJECT_SUFFIX = ".klingproj"
_SECTIONS = ("brief", "storyboard", "settings")
_STORYBOARD_KEYS = ("mode", "prompt", "duration", "shots")
_SETTINGS_KEYS = ("tier", "aspect_ratio", "generate_audio", "negative_prompt", "cfg_scale", "shot_type")
_REFERENCES_KEYS = ("start_frame", "end_frame", "elements")
_MAX_DIGITS = 100  # a number longer than this is no duration or setting; refuse it before Python chokes


class ProjectFileError(UserError):
    """A project file that cannot be opened or saved; the message names the file, the field and the fix."""

    def __init__(self, message: str, *, field_path: str | None = None) -> None:
        super().__init__(message)
        self.field_path = field_path


# ---- files -------------------------------------------------------------------------------------------


def load_project(path: str | Path) -> Project:
    """Open a project file (or a fal input JSON, imported as a project); the file is only read.

    Raises:
        ProjectFileError: Naming what is wrong: missing file, too large, empty, not UTF-8, not JSON
            (with line and column), not a project, a newer version, or a field of the wrong type.
    """
    path = Path(path)
    label = path.name or str(path)
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_PROJECT_BYTES:
                raise ProjectFileError(_too_large(label, size))
            data = handle.read(MAX_PROJECT_BYTES + 1)
    except FileNotFoundError:
        raise ProjectFileError(f"There is no file {path}.") from None
    except IsADirectoryError:
        raise ProjectFileError(f"{path} is a folder, not a project file.") from None
    except OSError as exc:
        raise ProjectFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_PROJECT_BYTES:
        raise ProjectFileError(_too_large(label, len(data)))
    project = project_from_json_bytes(data, origin=label, default_name=path.stem)
    project.path = path
    return project


def save_project(project: Project, path: str | Path) -> None:
    """Write ``project`` to ``path`` atomically: the old file stays whole until the new one is on disk.

    The bytes go to a temporary file in the same folder, are flushed and fsynced, and replace ``path`` in
    one rename; the folder is fsynced too, so a crash leaves either the old file or the new one.
    ``project.path`` is not changed.

    Raises:
        ProjectFileError: When the folder cannot be written or the project holds a value JSON cannot keep.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()  # save through the link, not over it
    data = project_to_json_bytes(project)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o644
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ProjectFileError(f"Cannot save {path}: {exc.strerror or exc}.") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except OSError as exc:
        _remove_quietly(temp_name)
        raise ProjectFileError(f"Cannot save {path}: {exc.strerror or exc}.") from None
    except BaseException:
        _remove_quietly(temp_name)
        raise
    _fsync_folder(folder)


def project_to_json_bytes(project: Project) -> bytes:
    """The file's bytes: indented UTF-8 JSON ending in a newline."""
    try:
        text = json.dumps(project_to_dict(project), indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ProjectFileError(f"Cannot save the project: {exc}.") from None
    return (text + "\n").encode("utf-8")


def project_from_json_bytes(
    data: bytes, *, origin: str = "The project", default_name: str = "Untitled"
) -> Project:
    """Parse a project file's bytes; ``origin`` (usually the file name) starts every error message."""
    return project_from_dict(_parse_json(data, origin), origin=origin, default_name=default_name)


# ---- dicts ---------------------------------------------------------------------------------------------


def project_to_dict(project: Project) -> dict[str, Any]:
    """The project as a JSON-ready dict in the current format, unknown keys included."""
    board = project.storyboard.state
    data: dict[str, Any] = {
        "format": PROJECT_FORMAT,
        "version": CURRENT_VERSION,
        "name": project.name,
        "brief": project.brief.text.to_dict(),
        "storyboard": {
            "mode": Mode(board.mode).value,
            "prompt": board.prompt,
            "duration": board.duration,
            "shots": [{"id": s.id, "prompt": s.prompt, "duration": s.duration} for s in board.shots],
        },
        "settings": project.settings.values.to_dict(),
        "prompt_follows_brief": project.prompt_follows_brief,
    }
    references = project.references.state
    if not references.is_empty:
        data["references"] = _references_to_dict(references)
    for key, value in copy.deepcopy(project.extra).items():
        if key == "references" and isinstance(value, dict) and "references" in data:
            data[key].update({k: v for k, v in value.items() if k not in data[key]})
            continue
        if key in _SECTIONS and isinstance(value, dict):
            data[key].update({k: v for k, v in value.items() if k not in data[key]})
        elif key not in data:
            data[key] = value
    return data


def project_from_dict(
    data: object, *, origin: str = "The project", default_name: str = "Untitled"
) -> Project:
    """Build a project from parsed JSON of any supported version (a fal input counts as version 0).

    Raises:
        ProjectFileError: Naming the field path (``storyboard.shots[1].duration``) and what it should be.
    """
    if not isinstance(data, dict):
        raise ProjectFileError(
            f"{origin} does not hold a Kling Studio project: its top level is {describe(data)}, "
            "not an object. Open a file saved by Kling Studio."
        )
    version = _version_of(data, origin)
    if version < CURRENT_VERSION:
        try:
            data = migrate(data, version)
        except MigrationProblem as exc:
            raise ProjectFileError(f"{origin}: {exc}.", field_path=exc.field_path) from None
    return _Reader(origin, default_name).project(data)


def _references_to_dict(state: ReferencesState) -> dict[str, Any]:
    def ref(r: Reference | None) -> dict[str, Any] | None:
        return None if r is None else {"sha256": r.sha256, "name": r.name, "tags": list(r.tags)}

    return {
        "start_frame": ref(state.start_frame),
        "end_frame": ref(state.end_frame),
        "elements": [
            {"name": e.name, "frontal": ref(e.frontal), "references": [ref(r) for r in e.references]}
            for e in state.elements
        ],
    }


# ---- reading ---------------------------------------------------------------------------------------------


def _version_of(data: dict[str, Any], origin: str) -> int:
    if "format" not in data:
        if looks_like_fal_input(data):
            return 0
        raise ProjectFileError(
            f'{origin} is not a Kling Studio project: it has no "format": "{PROJECT_FORMAT}" marker. '
            "Open a file saved by Kling Studio, or a fal input with a prompt or multi_prompt.",
            field_path="format",
        )
    marker = data["format"]
    if marker != PROJECT_FORMAT:
        raise ProjectFileError(
            f"{origin} is not a Kling Studio project: its format is {describe(marker)}, "
            f'not "{PROJECT_FORMAT}".',
            field_path="format",
        )
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProjectFileError(
            f"{origin} has no valid version number ({describe(version)}); it may have been edited by hand.",
            field_path="version",
        )
    if version > CURRENT_VERSION:
        raise ProjectFileError(
            f"{origin} was made by a newer Kling Studio (version {version}); "
            f"this one reads up to version {CURRENT_VERSION}. Update the app to open it.",
            field_path="version",
        )
    return version


class _Reader:
    """Reads a current-version dict into a Project, failing on the first value of a wrong type."""

    def __init__(self, origin: str, default_name: str) -> None:
        self.origin = origin
        self.default_name = default_name

    def fail(self, path: str, expected: str, value: object) -> ProjectFileError:
        return ProjectFileError(
            f"{self.origin}: {path} must be {expected}, not {describe(value)}.", field_path=path
        )

    def section(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "an object", value)
        return value

    def text(self, data: dict[str, Any], key: str, path: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            raise self.fail(path, "text", value)
        return value

    def flag(self, data: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(path, "true or false", value)
        return value

    def seconds(self, data: dict[str, Any], key: str, path: str, default: int) -> int:
        value = data.get(key, default)
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 5.0 from another tool means 5
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, "whole seconds (a number such as 5)", value)
        return value

    def choice(self, data: dict[str, Any], key: str, path: str, enum: type, default: Any) -> Any:
        value = data.get(key, default)
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(f'"{m.value}"' for m in enum)
            raise self.fail(path, f"one of {choices}", value) from None

    def project(self, data: dict[str, Any]) -> Project:
        extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("format", "version", "name")}
        for key in (*_SECTIONS, "prompt_follows_brief"):
            extra.pop(key, None)
        references = self.references(self.section(data, "references"))
        unknown_refs = {
            k: copy.deepcopy(v) for k, v in self.section(data, "references").items() if k not in _REFERENCES_KEYS
        }
        extra.pop("references", None)
        if unknown_refs:
            extra["references"] = unknown_refs

        name = self.text(data, "name", "name", self.default_name)
        brief_data = self.section(data, "brief")
        brief = BriefText(**{k: self.text(brief_data, k, f"brief.{k}", "") for k in SECTION_KEYS})
        storyboard = self.storyboard(self.section(data, "storyboard"))
        settings = self.settings(self.section(data, "settings"))

        known_keys = {"brief": SECTION_KEYS, "storyboard": _STORYBOARD_KEYS, "settings": _SETTINGS_KEYS}
        for section, known in known_keys.items():
            unknown = {k: copy.deepcopy(v) for k, v in self.section(data, section).items() if k not in known}
            if unknown:
                extra[section] = unknown

        if "prompt_follows_brief" in data:
            follows = self.flag(data, "prompt_follows_brief", "prompt_follows_brief", True)
        else:  # an older or hand-made file: follow the brief only if that cannot overwrite a written prompt
            written = storyboard.prompt.strip()
            follows = not written or written == brief.to_prompt(audio_on=settings.generate_audio).strip()
        return Project(
            name=name,
            brief=Brief(brief),
            storyboard=storyboard,
            settings=Settings(settings),
            references=ProjectReferences(references),
            prompt_follows_brief=follows,
            extra=extra,
        )

    def references(self, data: dict[str, Any]) -> ReferencesState:
        """Start/end frames and elements; images by hash and the name they were picked under."""
        start = self.reference(data.get("start_frame"), "references.start_frame")
        end = self.reference(data.get("end_frame"), "references.end_frame")
        elements_data = data.get("elements", [])
        if not isinstance(elements_data, list):
            raise self.fail("references.elements", "a list", elements_data)
        elements = []
        for index, item in enumerate(elements_data):
            path = f"references.elements[{index}]"
            if not isinstance(item, dict):
                raise self.fail(path, "an object", item)
            refs_data = item.get("references", [])
            if not isinstance(refs_data, list):
                raise self.fail(f"{path}.references", "a list", refs_data)
            refs = tuple(
                self.reference(ref, f"{path}.references[{i}]", required=True) for i, ref in enumerate(refs_data)
            )
            frontal = self.reference(item.get("frontal"), f"{path}.frontal")
            elements.append(Element(self.text(item, "name", f"{path}.name", ""), frontal, refs))  # type: ignore[arg-type]
        return ReferencesState(start, end, tuple(elements))

    def reference(self, value: object, path: str, *, required: bool = False) -> Reference | None:
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            raise self.fail(path, "an image reference (an object with a sha256)", value)
        sha = value.get("sha256")
        tags = value.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise self.fail(f"{path}.tags", "a list of words", tags)
        try:
            return Reference(sha, self.text(value, "name", f"{path}.name", ""), tuple(tags))  # type: ignore[arg-type]
        except ValueError:
            raise self.fail(f"{path}.sha256", "a sha256 hash (64 hex digits)", sha) from None

    def storyboard(self, data: dict[str, Any]) -> Storyboard:
        mode = self.choice(data, "mode", "storyboard.mode", Mode, Mode.SINGLE.value)
        prompt = self.text(data, "prompt", "storyboard.prompt", "")
        duration = self.seconds(data, "duration", "storyboard.duration", 5)
        raw_shots = data.get("shots", [])
        if not isinstance(raw_shots, list):
            raise self.fail("storyboard.shots", "a list of shots", raw_shots)
        shots: list[Shot] = []
        seen: set[str] = set()
        for index, item in enumerate(raw_shots):
            path = f"storyboard.shots[{index}]"
            if not isinstance(item, dict):
                raise self.fail(path, "an object with a prompt and a duration", item)
            shot_id = self.text(item, "id", f"{path}.id", "") or new_shot_id()
            if shot_id in seen:
                shot_id = new_shot_id()  # a copy-pasted shot: ids must stay unique for undo and moves
            seen.add(shot_id)
            shots.append(
                Shot(
                    prompt=self.text(item, "prompt", f"{path}.prompt", ""),
                    duration=self.seconds(item, "duration", f"{path}.duration", 3),
                    id=shot_id,
                )
            )
        return Storyboard(mode=mode, prompt=prompt, duration=duration, shots=shots)

    def settings(self, data: dict[str, Any]) -> SettingsValues:
        defaults = SettingsValues()
        cfg = data.get("cfg_scale", defaults.cfg_scale)
        if isinstance(cfg, bool) or not isinstance(cfg, int | float) or not math.isfinite(cfg):
            raise self.fail("settings.cfg_scale", "a number from 0 to 1", cfg)
        return SettingsValues(
            tier=self.choice(data, "tier", "settings.tier", Tier, defaults.tier),
            aspect_ratio=self.choice(
                data, "aspect_ratio", "settings.aspect_ratio", AspectRatio, defaults.aspect_ratio
            ),
            generate_audio=self.flag(
                data, "generate_audio", "settings.generate_audio", defaults.generate_audio
            ),
            negative_prompt=self.text(
                data, "negative_prompt", "settings.negative_prompt", defaults.negative_prompt
            ),
            cfg_scale=float(cfg),
            shot_type=self.choice(data, "shot_type", "settings.shot_type", ShotType, defaults.shot_type),
        )


# ---- bytes → JSON -------------------------------------------------------------------------------------


class _NumberTooLarge(ValueError):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _parse_int(literal: str) -> int:
    if len(literal.lstrip("-")) > _MAX_DIGITS:
        raise _NumberTooLarge(literal)
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NumberTooLarge(literal)
    return value


def _parse_constant(literal: str) -> float:
    raise _NumberTooLarge(literal)


def _parse_json(data: bytes, origin: str) -> Any:
    if not data.strip():
        raise ProjectFileError(f"{origin} is empty: it holds no project. It may not have finished saving.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_like_utf16(data):
        raise ProjectFileError(
            f"{origin} is saved as UTF-16 text; Kling Studio project files are UTF-8. "
            "Save it again as UTF-8 in your editor."
        )
    if b"\x00" in data[:4096]:
        raise ProjectFileError(f"{origin} is a binary file, not a Kling Studio project (which is JSON text).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProjectFileError(
            f"{origin} is not UTF-8 text (byte {exc.start + 1}, line {line}); it may be binary or saved in "
            "another encoding. Kling Studio project files are UTF-8 JSON."
        ) from None
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
    except _NumberTooLarge as exc:
        line, column = _position(text, text.find(exc.literal))
        raise ProjectFileError(
            f"{origin} has a number no project uses at line {line}, column {column} "
            f"({_shorten(exc.literal)}); durations are whole seconds from 1 to 15 and the cfg scale is 0–1."
        ) from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise ProjectFileError(
                f"{origin} ends too early (line {exc.lineno}, column {exc.colno}): it looks truncated, "
                "perhaps by an interrupted save or copy. Use a backup or an earlier copy."
            ) from None
        raise ProjectFileError(
            f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except RecursionError:
        raise ProjectFileError(f"{origin} is nested too deeply to be a Kling Studio project.") from None


def _looks_like_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: JSON's first character with a zero byte beside it."""
    if len(data) < 2:
        return False
    json_start = b"{[ \t\r\n"
    return (data[1] == 0 and data[0] in json_start) or (data[0] == 0 and data[1] in json_start)


def _position(text: str, index: int) -> tuple[int, int]:
    index = max(index, 0)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _shorten(literal: str) -> str:
    return literal if len(literal) <= 20 else f"{literal[:12]}… {len(literal)} characters"


def _too_large(label: str, size: int) -> str:
    return (
        f"{label} is {size / 1024 / 1024:.1f} MB; a Kling Studio project is far smaller (the limit is "
        f"{MAX_PROJECT_BYTES // 1024 // 1024} MB). It is probably not a project file."
    )


def _remove_quietly(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles to fsync)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
