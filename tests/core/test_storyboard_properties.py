"""Storyboard operations in random sequences: bounds always hold, refusals change nothing, undo works."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from kling_studio.core.limits import (
    MAX_SHOT_SECONDS,
    MAX_SHOTS,
    MAX_TOTAL_SECONDS,
    MIN_SHOT_SECONDS,
    MIN_SHOTS,
    MIN_TOTAL_SECONDS,
    Mode,
)
from kling_studio.core.storyboard import Shot, Storyboard, StoryboardError
from kling_studio.core.validation import validate

from .helpers import multi_project

index = st.integers(-2, 8)
seconds = st.integers(-2, 20)
prompt = st.text(max_size=12)

operations = st.one_of(
    st.tuples(st.just("insert_shot"), index, st.none() | st.builds(Shot, prompt, seconds)),
    st.tuples(st.just("remove_shot"), index),
    st.tuples(st.just("move_shot"), index, index),
    st.tuples(st.just("resize_shot"), index, seconds),
    st.tuples(st.just("split_shot"), index, st.none() | seconds),
    st.tuples(st.just("merge_shots"), index),
    st.tuples(st.just("duplicate_shot"), index),
    st.tuples(st.just("set_shot_prompt"), index, prompt),
    st.tuples(st.just("set_duration"), seconds),
    st.tuples(st.just("set_mode"), st.sampled_from(Mode), st.sampled_from(["existing", "shots"])),
)


@st.composite
def valid_storyboards(draw) -> Storyboard:
    """A multi-shot storyboard inside every bound: 1–6 shots of 1–15 s, 3–15 s in total."""
    count = draw(st.integers(MIN_SHOTS, MAX_SHOTS))
    total = draw(st.integers(max(MIN_TOTAL_SECONDS, count), MAX_TOTAL_SECONDS))
    cuts = sorted(
        draw(st.lists(st.integers(1, total - 1), min_size=count - 1, max_size=count - 1, unique=True))
    )
    bounds = [0, *cuts, total]
    durations = [b - a for a, b in pairwise(bounds)]
    shots = [Shot(draw(prompt) or "A shot.", d) for d in durations]
    return Storyboard(mode=Mode.MULTI, shots=shots)


def perform(board: Storyboard, name: str, args: Sequence[object]) -> None:
    """Call the operation as the editor would (``set_mode`` takes ``keep`` by keyword)."""
    if name == "set_mode":
        board.set_mode(args[0], keep=args[1])
    else:
        getattr(board, name)(*args)


def assert_within_bounds(board: Storyboard) -> None:
    shots = board.shots
    assert MIN_SHOTS <= len(shots) <= MAX_SHOTS
    assert all(MIN_SHOT_SECONDS <= s.duration <= MAX_SHOT_SECONDS for s in shots)
    assert all(isinstance(s.duration, int) for s in shots)
    total = sum(s.duration for s in shots)
    assert MIN_TOTAL_SECONDS <= total <= MAX_TOTAL_SECONDS
    assert board.total_seconds == (total if board.mode is Mode.MULTI else board.duration)
    assert len({s.id for s in shots}) == len(shots), "shot ids must stay unique"
    assert MIN_TOTAL_SECONDS <= board.duration <= MAX_TOTAL_SECONDS, "the single prompt's length too"


@settings(max_examples=300, deadline=None)
@given(valid_storyboards(), st.lists(operations, max_size=25))
def test_bounds_hold_and_refusals_change_nothing(board, ops):
    events = []
    board.changed.connect(lambda: events.append(1))
    for name, *args in ops:
        before = board.state
        predicted = board.refusal(name, *args)
        assert board.state == before, "asking why must not change anything"
        emitted = len(events)
        try:
            perform(board, name, args)
        except StoryboardError as exc:
            assert str(exc), "a refusal says why"
            assert predicted == str(exc)
            assert board.state == before
            assert len(events) == emitted, "a refused operation announces nothing"
        else:
            assert predicted is None
        assert_within_bounds(board)


@settings(max_examples=200, deadline=None)
@given(valid_storyboards(), st.lists(operations, max_size=20))
def test_undo_by_restoring_earlier_states_walks_back_exactly(board, ops):
    history = [board.state]
    for name, *args in ops:
        try:
            perform(board, name, args)
        except StoryboardError:
            continue
        if board.state != history[-1]:
            history.append(board.state)
    for state in reversed(history):
        board.restore(state)
        assert board.state == state
        assert_within_bounds(board)


@settings(max_examples=200, deadline=None)
@given(valid_storyboards(), st.data())
def test_split_merge_and_move_keep_the_total(board, data):
    total = board.total_seconds
    i = data.draw(st.integers(0, len(board.shots) - 1))
    for name, args in (("split_shot", (i,)), ("merge_shots", (i,)), ("move_shot", (i, len(board.shots) - 1))):
        with contextlib.suppress(StoryboardError):
            perform(board, name, args)
        assert board.total_seconds == total


@settings(max_examples=200, deadline=None)
@given(valid_storyboards(), st.lists(operations, max_size=15))
def test_validation_agrees_that_edited_storyboards_keep_fals_bounds(board, ops):
    for name, *args in ops:
        with contextlib.suppress(StoryboardError):
            perform(board, name, args)
    project = multi_project(*[(s.prompt.strip() or "A shot.", s.duration) for s in board.shots])
    assert [p.field_path for p in validate(project) if p.is_error] == []
