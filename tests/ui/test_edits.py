"""Every edit is one undoable command; typing merges; refused edits change nothing and push nothing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QUndoStack

from kling_studio.core.limits import Mode, ShotType, Tier
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Shot, Storyboard, StoryboardError
from kling_studio.ui.edits import ProjectEditor, ProjectSnapshot
from kling_studio.ui.selection import ShotSelection


def durations(project: Project) -> list[int]:
    return [s.duration for s in project.storyboard.shots]


def ids(project: Project) -> list[str]:
    return [s.id for s in project.storyboard.shots]


def test_resize_is_one_command_and_undo_redo_are_exact(project, editor, undo_stack):
    editor.resize_shot("shot-b", 5)
    assert durations(project) == [4, 5, 3]
    assert undo_stack.count() == 1
    assert undo_stack.undoText() == "Resize shot 2 to 5 s"
    undo_stack.undo()
    assert durations(project) == [4, 3, 3]
    undo_stack.redo()
    assert durations(project) == [4, 5, 3]


def test_resize_past_fifteen_seconds_is_refused_and_pushes_nothing(project, editor, undo_stack):
    before = ProjectSnapshot.of(project)
    with pytest.raises(StoryboardError, match="15 s"):
        editor.resize_shot("shot-b", 9)  # 4 + 9 + 3 = 16 s
    assert ProjectSnapshot.of(project) == before
    assert undo_stack.count() == 0
    editor.resize_shot("shot-b", 8)  # exactly 15 s is allowed
    assert sum(durations(project)) == 15


def test_typing_in_one_shot_merges_into_one_command(project, editor, undo_stack):
    original = project.storyboard.shots[1].prompt
    for end in range(1, len("Keeper smiles") + 1):
        editor.set_shot_prompt("shot-b", "Keeper smiles"[:end])
    assert undo_stack.count() == 1
    editor.set_shot_prompt("shot-c", "Gulls")
    assert undo_stack.count() == 2, "another shot's prompt is a separate edit"
    undo_stack.undo()
    undo_stack.undo()
    assert project.storyboard.shots[1].prompt == original
    assert project.storyboard.shots[2].prompt == "Wide aerial pull-back over the sea"


def test_typing_back_to_the_start_leaves_no_command(project, editor, undo_stack):
    original = project.storyboard.shots[0].prompt
    editor.set_shot_prompt("shot-a", original + "!")
    editor.set_shot_prompt("shot-a", original)
    assert undo_stack.count() == 0
    assert not undo_stack.canUndo()


def test_typing_does_not_merge_across_a_save(project, editor, undo_stack):
    editor.set_shot_prompt("shot-a", "one")
    undo_stack.setClean()
    editor.set_shot_prompt("shot-a", "one two")
    assert undo_stack.count() == 2
    undo_stack.undo()
    assert project.storyboard.shots[0].prompt == "one"
    assert undo_stack.isClean()


def test_brief_typing_merges_per_field_and_the_prompt_follows(undo_stack):
    project = Project()
    editor = ProjectEditor(project, undo_stack)
    for text in ("A", "A c", "A cafe"):
        editor.set_brief_field("scene", text)
    editor.set_brief_field("subject", "a cat")
    assert undo_stack.count() == 2
    assert project.storyboard.prompt == "Scene: A cafe\nSubject: a cat"
    undo_stack.undo()
    assert project.storyboard.prompt == "Scene: A cafe"
    undo_stack.undo()
    assert project.brief.get("scene") == ""
    assert project.storyboard.prompt == ""


def test_typing_the_prompt_stops_it_following_the_brief_and_undo_restores_that(undo_stack):
    project = Project()
    editor = ProjectEditor(project, undo_stack)
    editor.set_brief_field("scene", "A harbour")
    editor.set_prompt("My own words")
    editor.set_prompt("My own words, at night")
    assert undo_stack.count() == 2
    assert project.prompt_follows_brief is False
    editor.set_brief_field("subject", "a boat")
    assert project.storyboard.prompt == "My own words, at night", "a hand-tuned prompt is never overwritten"
    undo_stack.undo()
    undo_stack.undo()
    assert project.prompt_follows_brief is True
    assert project.storyboard.prompt == "Scene: A harbour"
    undo_stack.redo()
    editor.rebuild_prompt_from_brief()
    assert project.prompt_follows_brief is True
    assert project.storyboard.prompt == "Scene: A harbour"
    undo_stack.undo()
    assert project.storyboard.prompt == "My own words, at night"


def test_slider_settings_merge_and_choices_do_not(project, editor, undo_stack):
    for value in (0.55, 0.6, 0.7):
        editor.set_setting("cfg_scale", value)
    editor.set_setting("tier", Tier.K4)
    editor.set_setting("tier", Tier.STANDARD)
    assert undo_stack.count() == 3
    undo_stack.undo()
    assert project.settings.tier is Tier.K4
    undo_stack.undo()
    undo_stack.undo()
    assert project.settings.cfg_scale == 0.5
    assert project.settings.tier is Tier.PRO
    with pytest.raises(AttributeError):
        editor.set_setting("no_such_setting", 1)


def test_moves_address_shots_by_id(project, editor, undo_stack):
    editor.move_shot("shot-c", 0)
    assert ids(project) == ["shot-c", "shot-a", "shot-b"]
    editor.resize_shot("shot-a", 2)  # now at position 2
    assert durations(project) == [3, 2, 3]
    undo_stack.undo()
    undo_stack.undo()
    assert ids(project) == ["shot-a", "shot-b", "shot-c"]
    assert durations(project) == [4, 3, 3]


def test_split_merge_duplicate_insert_remove_each_undo_in_one_step(project, editor, undo_stack):
    original = ProjectSnapshot.of(project)
    second = editor.split_shot("shot-a")
    assert ids(project)[:2] == ["shot-a", second] and durations(project)[:2] == [2, 2]
    copy = editor.duplicate_shot("shot-c")
    assert ids(project)[-1] == copy
    editor.merge_shots("shot-a")
    assert durations(project)[0] == 4
    editor.remove_shot("shot-b")
    new = editor.insert_shot(0)
    assert ids(project)[0] == new and project.storyboard.shots[0].prompt == ""
    assert undo_stack.count() == 5
    while undo_stack.canUndo():
        undo_stack.undo()
    assert ProjectSnapshot.of(project) == original


def test_merging_the_last_shot_is_refused_with_a_reason(editor, undo_stack):
    assert editor.refusal("merge_shots", "shot-c") is not None
    with pytest.raises(StoryboardError, match="last shot"):
        editor.merge_shots("shot-c")
    assert undo_stack.count() == 0


def test_intelligent_shot_type_switches_to_a_single_prompt_in_one_command(project, editor, undo_stack):
    editor.set_shot_type(ShotType.INTELLIGENT, keep="shots")
    assert project.settings.shot_type is ShotType.INTELLIGENT
    assert project.storyboard.mode is Mode.SINGLE
    assert project.storyboard.duration == 10
    assert undo_stack.count() == 1
    undo_stack.undo()
    assert project.settings.shot_type is ShotType.CUSTOMIZE
    assert project.storyboard.mode is Mode.MULTI


def test_adding_a_shot_to_a_single_prompt_switches_to_shots(undo_stack):
    project = Project()
    editor = ProjectEditor(project, undo_stack)
    editor.set_prompt("A fox in the snow")
    new = editor.insert_shot(1)
    assert project.storyboard.mode is Mode.MULTI
    assert [s.prompt for s in project.storyboard.shots] == ["A fox in the snow", ""]
    assert ids(project)[1] == new
    undo_stack.undo()
    assert project.storyboard.mode is Mode.SINGLE


def test_a_prompt_made_from_the_shots_survives_brief_edits(project, editor, undo_stack):
    editor.set_mode(Mode.SINGLE, keep="shots")
    joined = project.storyboard.prompt
    assert project.prompt_follows_brief is False
    editor.set_brief_field("scene", "A harbour")
    assert project.storyboard.prompt == joined
    undo_stack.undo()
    undo_stack.undo()
    assert project.prompt_follows_brief is True and project.storyboard.mode is Mode.MULTI


def test_mode_switch_keeps_text_and_undoes(project, editor, undo_stack):
    editor.set_mode(Mode.SINGLE, keep="shots")
    assert project.storyboard.prompt.splitlines()[0] == "A lighthouse at dawn, waves below"
    editor.set_mode(Mode.MULTI)
    assert ids(project) == ["shot-a", "shot-b", "shot-c"]
    undo_stack.undo()
    undo_stack.undo()
    assert project.storyboard.mode is Mode.MULTI and project.storyboard.prompt == ""


def test_selection_follows_deleted_shots(project, editor, undo_stack, qtbot):
    selection = ShotSelection(project)
    selection.select("shot-b")
    with qtbot.waitSignal(selection.current_changed) as blocker:
        editor.remove_shot("shot-b")
    assert blocker.args == ["shot-c"]
    editor.remove_shot("shot-c")
    assert selection.current_id == "shot-a"
    undo_stack.undo()
    assert selection.current_id == "shot-a", "undo does not steal the selection"
    selection.select_next()
    assert selection.current_id == "shot-c"
    with pytest.raises(KeyError):
        selection.select("nope")


# ---- any sequence of edits undoes exactly --------------------------------------------------------------

_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "resize_shot",
                "move_shot",
                "split_shot",
                "merge_shots",
                "duplicate_shot",
                "remove_shot",
                "insert_shot",
                "set_shot_prompt",
                "set_mode",
                "set_brief_field",
                "set_prompt",
                "set_setting",
                "set_shot_type",
            ]
        ),
        st.integers(0, 20),
        st.integers(0, 16),
    ),
    max_size=25,
)


def _run(editor: ProjectEditor, name: str, pick: int, number: int) -> None:
    shots = editor.project.storyboard.shots
    shot_id = shots[pick % len(shots)].id if shots else "missing"
    match name:
        case "resize_shot":
            editor.resize_shot(shot_id, number)
        case "move_shot":
            editor.move_shot(shot_id, number % max(1, len(shots)))
        case "split_shot" | "merge_shots" | "duplicate_shot" | "remove_shot":
            getattr(editor, name)(shot_id)
        case "insert_shot":
            editor.insert_shot(number % (len(shots) + 1))
        case "set_shot_prompt":
            editor.set_shot_prompt(shot_id, f"prompt {number}")
        case "set_mode":
            editor.set_mode(
                Mode.SINGLE if number % 2 else Mode.MULTI, keep="shots" if number % 3 else "existing"
            )
        case "set_brief_field":
            editor.set_brief_field(("scene", "subject", "audio")[number % 3], f"text {pick}")
        case "set_prompt":
            editor.set_prompt(f"my prompt {number}")
        case "set_setting":
            editor.set_setting("cfg_scale", number / 16)
        case "set_shot_type":
            editor.set_shot_type(ShotType.INTELLIGENT if number % 2 else ShotType.CUSTOMIZE)


@settings(max_examples=80, deadline=None)
@given(_OPERATIONS)
def test_any_sequence_of_edits_undoes_and_redoes_exactly(operations):
    shots = (Shot("Dawn", 4, id="a"), Shot("Keeper", 3, id="b"), Shot("Sea", 3, id="c"))
    project = Project(storyboard=Storyboard(mode=Mode.MULTI, shots=shots))
    stack = QUndoStack()
    editor = ProjectEditor(project, stack)
    history = [ProjectSnapshot.of(project)]
    for name, pick, number in operations:
        before = ProjectSnapshot.of(project)
        try:
            _run(editor, name, pick, number)
        except (StoryboardError, KeyError):
            assert ProjectSnapshot.of(project) == before, f"a refused {name} changed the project"
            continue
        # history[i] is the project after i commands: a new command appends, a merge replaces the last,
        # an edit typed back to its start removes it.
        history = [*history[: stack.index()], ProjectSnapshot.of(project)]
    final = ProjectSnapshot.of(project)
    assert stack.count() == len(history) - 1
    for expected in reversed(history[:-1]):
        stack.undo()
        assert ProjectSnapshot.of(project) == expected
    while stack.canRedo():
        stack.redo()
    assert ProjectSnapshot.of(project) == final


def test_a_preset_is_one_command_and_undo_brings_the_old_project_back(project, editor, undo_stack):
    original = ProjectSnapshot.of(project)
    editor.apply_preset("product-spot")
    assert undo_stack.count() == 1
    assert [s.duration for s in project.storyboard.shots] == [4, 3, 5]
    assert project.brief.get("subject")
    assert project.name == "Lighthouse", "a preset fills the project; it does not rename it"
    undo_stack.undo()
    assert ProjectSnapshot.of(project) == original
    undo_stack.redo()
    assert [s.duration for s in project.storyboard.shots] == [4, 3, 5]
