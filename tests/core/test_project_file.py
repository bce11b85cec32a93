"""Project files: round trips, unknown keys, migrations, atomic saves and clear refusals."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kling_studio.core.brief import SECTION_KEYS, Brief, BriefText
from kling_studio.core.errors import UserError
from kling_studio.core.limits import AspectRatio, Mode, ShotType, Tier
from kling_studio.core.project import Project
from kling_studio.core.project_file import (
    MAX_PROJECT_BYTES,
    ProjectFileError,
    load_project,
    project_from_dict,
    project_from_json_bytes,
    project_to_dict,
    project_to_json_bytes,
    save_project,
)
from kling_studio.core.request import build_request
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.core.validation import validate

DATA = Path(__file__).parent.parent / "data"


def snapshot(project: Project) -> tuple:
    """Everything a project file keeps, as comparable values."""
    return (
        project.name,
        project.brief.text,
        project.storyboard.state,
        project.settings.values,
        project.prompt_follows_brief,
        project.extra,
    )


# ---- round trips ---------------------------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
shots = st.lists(
    st.builds(
        Shot,
        prompt=text,
        duration=st.integers(-3, 40),
        id=st.text("abcdef0123456789", min_size=4, max_size=10),
    ),
    max_size=8,
    unique_by=lambda s: s.id,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
extras = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(
        lambda k: (
            k not in {"format", "version", "name", "brief", "storyboard", "settings", "prompt_follows_brief"}
        )
    ),
    json_values,
    max_size=4,
)


@st.composite
def projects(draw) -> Project:
    return Project(
        name=draw(text),
        brief=Brief(BriefText(**{key: draw(text) for key in SECTION_KEYS})),
        storyboard=Storyboard(
            mode=draw(st.sampled_from(Mode)),
            prompt=draw(text),
            duration=draw(st.integers(-5, 60)),
            shots=draw(shots),
        ),
        settings=Settings(
            SettingsValues(
                tier=draw(st.sampled_from(Tier)),
                aspect_ratio=draw(st.sampled_from(AspectRatio)),
                generate_audio=draw(st.booleans()),
                negative_prompt=draw(text),
                cfg_scale=draw(st.floats(-2, 2, allow_nan=False)),
                shot_type=draw(st.sampled_from(ShotType)),
            )
        ),
        prompt_follows_brief=draw(st.booleans()),
        extra=draw(extras),
    )


@settings(max_examples=150, deadline=None)
@given(projects())
def test_any_project_survives_a_round_trip_through_bytes(project):
    again = project_from_json_bytes(project_to_json_bytes(project))
    assert snapshot(again) == snapshot(project)
    assert project_to_dict(again) == project_to_dict(project)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(projects())
def test_any_project_survives_save_and_load(tmp_path, project):
    path = tmp_path / "round.klingproj"
    save_project(project, path)
    loaded = load_project(path)
    assert snapshot(loaded) == snapshot(project)
    assert loaded.path == path


def test_the_file_is_readable_utf8_json_with_the_format_marker(tmp_path):
    project = Project(name="Café ☕", brief=Brief(BriefText(scene="Tokyo 東京 at night")))
    path = tmp_path / "p.klingproj"
    save_project(project, path)
    raw = path.read_bytes()
    assert "東京".encode() in raw  # not \u escapes: people diff and read these files
    data = json.loads(raw.decode("utf-8"))
    assert list(data)[:2] == ["format", "version"]
    assert data["format"] == "kling-studio-project" and data["version"] == 1
    assert raw.endswith(b"\n")


def test_unknown_keys_survive_a_round_trip_at_the_top_and_inside_sections(tmp_path):
    source = DATA / "projects" / "with-unknown-keys.klingproj"
    project = load_project(source)
    out = tmp_path / "out.klingproj"
    save_project(project, out)
    original, written = json.loads(source.read_text("utf-8")), json.loads(out.read_text("utf-8"))
    assert written == original


def test_sample_projects_open_and_validate():
    for path in sorted((DATA / "projects").iterdir()):
        project = load_project(path)
        assert [str(p) for p in validate(project) if p.is_error] == [], path.name


# ---- migrations: fal inputs as version 0 ----------------------------------------------------------------


def test_a_pasted_fal_multi_prompt_input_becomes_a_storyboard():
    project = load_project(DATA / "projects" / "fal-input-multi.json")
    assert project.storyboard.mode is Mode.MULTI
    assert [(s.prompt, s.duration) for s in project.storyboard.shots] == [
        ("A chef plates a dessert under a warm spotlight.", 5),
        ("Close on the caramel being poured.", 4),
    ]
    assert project.settings.aspect_ratio is AspectRatio.SQUARE
    assert project.prompt_follows_brief is False
    assert build_request(project).arguments["multi_prompt"][1] == {
        "prompt": "Close on the caramel being poured.",
        "duration": "4",
    }


def test_a_wrapped_fal_input_takes_its_tier_from_the_model_id():
    project = load_project(DATA / "projects" / "fal-input-wrapped.json")
    assert project.settings.tier is Tier.K4
    assert project.settings.generate_audio is False
    assert project.storyboard.duration == 5
    assert project.storyboard.prompt.startswith("A lighthouse")


def test_a_fal_input_round_trips_to_the_same_request():
    arguments = {
        "prompt": "A glass of water on a table, the surface trembling.",
        "duration": "7",
        "shot_type": "customize",
        "aspect_ratio": "9:16",
        "generate_audio": False,
        "negative_prompt": "blur",
        "cfg_scale": 0.7,
    }
    project = project_from_dict(dict(arguments))
    assert build_request(project, "pro").arguments == arguments


def test_fal_input_fields_kling_studio_does_not_edit_are_kept_not_dropped():
    project = project_from_dict({"prompt": "x", "start_image_url": "https://example.com/a.png"})
    assert project.extra["fal_input_unused"] == {"start_image_url": "https://example.com/a.png"}


def test_a_file_without_prompt_follows_brief_never_overwrites_a_written_prompt():
    data = project_to_dict(Project())
    del data["prompt_follows_brief"]
    data["storyboard"]["prompt"] = "My own words."
    assert project_from_dict(data).prompt_follows_brief is False
    data["storyboard"]["prompt"] = ""
    assert project_from_dict(data).prompt_follows_brief is True


def test_values_out_of_range_load_and_validation_reports_them():
    data = project_to_dict(Project())
    data["storyboard"].update(mode="multi", shots=[{"id": "a", "prompt": "A.", "duration": 40}])
    data["settings"]["cfg_scale"] = 3
    project = project_from_dict(data)
    assert project.storyboard.shots[0].duration == 40
    assert {p.field_path for p in validate(project)} == {"shots[0].duration", "cfg_scale"}


def test_integral_floats_are_whole_seconds_but_fractions_are_refused():
    data = project_to_dict(Project())
    data["storyboard"]["duration"] = 6.0
    assert project_from_dict(data).storyboard.duration == 6
    data["storyboard"]["duration"] = 6.5
    with pytest.raises(ProjectFileError, match=r"storyboard\.duration must be whole seconds"):
        project_from_dict(data)


def test_duplicate_shot_ids_are_made_unique():
    data = project_to_dict(Project())
    data["storyboard"]["shots"] = [{"id": "same", "prompt": "A", "duration": 3}] * 2
    ids = [s.id for s in project_from_dict(data).storyboard.shots]
    assert len(set(ids)) == 2


# ---- refusals ---------------------------------------------------------------------------------------------


def _readme_rows() -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / "broken" / "README.md").read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[2].strip("`")))
    return rows


BROKEN = _readme_rows()
UNOPENABLE = [
    (name, fragment) for name, fragment in BROKEN if not name.endswith(".klingproj") or "binary" in name
]


@pytest.mark.parametrize(("name", "fragment"), UNOPENABLE)
def test_unopenable_files_raise_a_user_error_naming_the_problem(name, fragment):
    path = DATA / "broken" / name
    with pytest.raises(ProjectFileError) as caught:
        load_project(path)
    assert isinstance(caught.value, UserError)
    assert fragment in str(caught.value)


def test_the_broken_folder_and_its_readme_agree():
    on_disk = {p.name for p in (DATA / "broken").iterdir() if p.name != "README.md"}
    assert on_disk == {name for name, _ in BROKEN}
    required = {
        "truncated.json",
        "malformed.json",
        "not-an-object.json",
        "wrong-types.json",
        "binary.klingproj",
        "empty.json",
        "wrong-format.json",
        "future-version.json",
        "utf16.json",
        "shots-not-a-list.json",
        "huge-number.json",
    }
    assert required <= on_disk


def test_a_file_over_10_mb_is_refused_without_parsing(tmp_path):
    path = tmp_path / "huge.klingproj"
    with path.open("wb") as handle:
        handle.write(b'{"format": "kling-studio-project", "version": 1, "name": "')
        handle.write(b"x" * MAX_PROJECT_BYTES)
        handle.write(b'"}')
    with pytest.raises(ProjectFileError, match=r"10\.0 MB; a Kling Studio project is far smaller"):
        load_project(path)


def test_missing_file_and_folder_are_user_errors(tmp_path):
    with pytest.raises(ProjectFileError, match="There is no file"):
        load_project(tmp_path / "nope.klingproj")
    with pytest.raises(ProjectFileError, match="is a folder"):
        load_project(tmp_path)


def test_a_utf8_byte_order_mark_is_accepted():
    raw = b"\xef\xbb\xbf" + project_to_json_bytes(Project(name="BOM"))
    assert project_from_json_bytes(raw).name == "BOM"


# ---- atomic save -----------------------------------------------------------------------------------------


def test_save_replaces_the_file_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "p.klingproj"
    save_project(Project(name="one"), path)
    save_project(Project(name="two"), path)
    assert load_project(path).name == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.klingproj"]


def test_a_failed_save_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "p.klingproj"
    save_project(Project(name="good"), path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    bad = Project(name="bad", extra={"unsaveable": object()})
    with pytest.raises(ProjectFileError, match="Cannot save"):
        save_project(bad, path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.klingproj"]


def test_save_into_a_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(ProjectFileError, match="Cannot save"):
        save_project(Project(), tmp_path / "missing" / "p.klingproj")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_save_into_a_read_only_folder_is_a_user_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ProjectFileError, match="Cannot save"):
            save_project(Project(), folder / "p.klingproj")
    finally:
        folder.chmod(0o700)


def test_save_keeps_the_files_permissions(tmp_path):
    path = tmp_path / "p.klingproj"
    save_project(Project(), path)
    path.chmod(0o640)
    save_project(Project(name="again"), path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_save_through_a_symlink_keeps_the_link(tmp_path):
    target = tmp_path / "real.klingproj"
    save_project(Project(name="one"), target)
    link = tmp_path / "link.klingproj"
    link.symlink_to(target)
    save_project(Project(name="two"), link)
    assert link.is_symlink()
    assert load_project(target).name == "two"


CRASH_BEFORE_RENAME = """
import os, sys
from kling_studio.core.project import Project
from kling_studio.core.project_file import save_project

def crash(*args, **kwargs):
    os._exit(9)  # the process dies after writing the temporary file, before the rename

os.replace = crash
save_project(Project(name="new"), sys.argv[1])
"""


def test_a_crash_before_the_rename_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "p.klingproj"
    save_project(Project(name="old"), path)
    before = path.read_bytes()
    result = subprocess.run([sys.executable, "-c", CRASH_BEFORE_RENAME, str(path)], check=False, timeout=60)
    assert result.returncode == 9
    assert path.read_bytes() == before
    assert load_project(path).name == "old"
    [leftover] = [p for p in tmp_path.iterdir() if p.name != "p.klingproj"]
    assert leftover.name.startswith(".p.klingproj.") and leftover.name.endswith(".tmp")
    assert json.loads(leftover.read_bytes())["name"] == "new"  # fully written and synced before the rename


# ---- nothing but ProjectFileError, whatever the bytes ---------------------------------------------------

VALID_BYTES = (DATA / "projects" / "harbour-3-shots-4k.klingproj").read_bytes()


def _opens_or_says_why(raw: bytes) -> None:
    try:
        project_from_json_bytes(raw, origin="fuzz.klingproj")
    except ProjectFileError as exc:
        assert str(exc).startswith("fuzz.klingproj")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_open_or_raise_project_file_error(raw):
    _opens_or_says_why(raw)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID_BYTES)), st.integers(0, len(VALID_BYTES) - 1), st.integers(0, 255))
def test_truncated_or_corrupted_project_files_open_or_raise_project_file_error(cut, position, value):
    _opens_or_says_why(VALID_BYTES[:cut])
    corrupted = bytearray(VALID_BYTES)
    corrupted[position] = value
    _opens_or_says_why(bytes(corrupted))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["name", "brief", "storyboard", "settings", "prompt_follows_brief"]),
    st.sampled_from([None, "", "five", 5, 5.5, -1, True, [], {}, [1], {"a": 1}, 10**30]),
    st.sampled_from([None, "mode", "prompt", "duration", "shots", "tier", "cfg_scale", "scene"]),
)
def test_any_value_in_any_field_opens_or_names_the_field(section, value, key):
    data = json.loads(VALID_BYTES)
    if key is None or not isinstance(data[section], dict):
        data[section] = value
    else:
        data[section][key] = value
    try:
        project_from_dict(data, origin="fuzz.klingproj")
    except ProjectFileError as exc:
        assert exc.field_path and exc.field_path.split(".")[0] == section
        assert exc.field_path in str(exc)


# ---- fal inputs come back out unchanged ------------------------------------------------------------------

fal_prompt = st.text(min_size=1, max_size=40).filter(str.strip).map(str.strip)


@st.composite
def fal_inputs(draw) -> dict:
    data: dict = {}
    if draw(st.booleans()):
        shots = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3).filter(lambda s: sum(s) >= 3))
        data["multi_prompt"] = [{"prompt": draw(fal_prompt), "duration": str(d)} for d in shots]
        data["duration"] = str(sum(shots))
        data["shot_type"] = "customize"
    else:
        data["prompt"] = draw(fal_prompt)
        data["duration"] = str(draw(st.integers(3, 15)))
        data["shot_type"] = draw(st.sampled_from(["customize", "intelligent"]))
    data["aspect_ratio"] = draw(st.sampled_from(["16:9", "9:16", "1:1"]))
    data["generate_audio"] = draw(st.booleans())
    data["negative_prompt"] = draw(st.text(max_size=20))
    data["cfg_scale"] = draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]))
    return data


@settings(max_examples=200, deadline=None)
@given(fal_inputs(), st.sampled_from(["standard", "pro", "4k"]))
def test_an_imported_fal_input_builds_back_into_the_same_input(arguments, tier):
    wrapped = {"model_id": f"fal-ai/kling-video/v3/{tier}/text-to-video", "input": dict(arguments)}
    request = build_request(project_from_dict(wrapped))
    assert request.model_id == wrapped["model_id"]
    assert request.arguments == arguments
