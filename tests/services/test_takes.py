"""Takes and their review: what a reviewer decides survives a restart, and cost per accepted second is exact."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import NewJob
from kling_studio.services.ledger import BudgetPolicy
from kling_studio.services.provenance import sidecar_for, sidecar_path, write_sidecar
from kling_studio.services.takes import (
    CheckItem,
    Review,
    TakeError,
    Verdict,
    cost_per_accepted_second,
    list_takes,
    load_take,
    save_review,
    shot_seconds,
    shot_starts,
)

MODEL = "fal-ai/kling-video/v3/4k/text-to-video"


def new_job(project: str, cost: str, shots: tuple[int, ...], *, simulated: bool = True) -> NewJob:
    fal_input = {
        "multi_prompt": [
            {"prompt": f"shot {i + 1} of the {project}", "duration": str(s)} for i, s in enumerate(shots)
        ],
        "duration": str(sum(shots)),
    }
    return NewJob(project, MODEL, "4k", fal_input, Decimal(cost), simulated=simulated)


def downloaded_take(store: JobStore, outputs: Path, spec: NewJob) -> Path:
    """A job taken to downloaded, its video and sidecar written as the runner does."""
    job = store.create_submitting(spec, budget=BudgetPolicy())
    job = store.mark_submitted(job.id, {"request_id": f"req-{job.id}"})
    job = store.mark_completed(job.id, video_url="http://127.0.0.1/v.mp4", file_size=4)
    video = outputs / job.project_slug / f"{job.id}.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(b"mp4!")
    job = store.mark_downloaded(job.id, video, file_size=4)
    write_sidecar(video, sidecar_for(job, video, file_size=4))
    return video


@pytest.fixture
def store(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        yield store


def test_a_review_is_saved_in_the_sidecar_and_read_back_after_a_restart(store, tmp_path):
    video = downloaded_take(store, tmp_path / "outputs", new_job("Espresso spot", "2.10", (2, 3)))
    before = json.loads(sidecar_path(video).read_text())
    review = Review(
        Verdict.ACCEPTED,
        frozenset({CheckItem.DELIVERY_FORMAT, CheckItem.RIGHTS_CLEAR, CheckItem.AI_DISCLOSURE}),
        "Logo sharp in shot 2; use for the 16:9 cut.",
    )
    saved = save_review(video, review, now=datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    assert saved.accepted

    reread = load_take(video)  # a fresh read from disk, as after a restart
    assert reread.review.verdict is Verdict.ACCEPTED
    assert reread.review.checks == review.checks
    assert reread.review.note == review.note
    assert reread.review.reviewed_at == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    after = json.loads(sidecar_path(video).read_text())
    assert after["review"]["checks"]["rights_clear"] is True and after["review"]["checks"]["consistency"] is False
    del after["review"], before["review"]
    assert after == before
    left = sorted(p.name for p in video.parent.iterdir())
    assert left == sorted([video.name, sidecar_path(video).name])  # no temporary files left behind


def test_changing_a_verdict_replaces_the_old_one(store, tmp_path):
    video = downloaded_take(store, tmp_path / "outputs", new_job("Espresso spot", "2.10", (5,)))
    save_review(video, Review(Verdict.ACCEPTED, frozenset({CheckItem.FOLLOWS_BRIEF})))
    save_review(video, Review(Verdict.REJECTED, frozenset(), "Steam looks like smoke."))
    take = load_take(video)
    assert take.review.verdict is Verdict.REJECTED and not take.review.checks
    assert take.review.note == "Steam looks like smoke."


def test_takes_are_listed_newest_first_and_strays_are_skipped(store, tmp_path):
    outputs = tmp_path / "outputs"
    first = downloaded_take(store, outputs, new_job("Espresso spot", "2.10", (5,)))
    second = downloaded_take(store, outputs, new_job("Night drive", "3.36", (4, 4)))
    (outputs / "night-drive" / "stray.mp4").write_bytes(b"no sidecar")
    (outputs / "night-drive" / "half.mp4.part").write_bytes(b"downloading")
    takes = list_takes(outputs)
    assert [t.video_path for t in takes] == [second, first]
    assert takes[0].shot_seconds == (4, 4) and takes[0].seconds == 8
    assert takes[0].matches("night SHOT 2") and not takes[0].matches("espresso")
    assert list_takes(tmp_path / "missing") == []


def test_a_video_without_a_sidecar_cannot_be_reviewed(tmp_path):
    video = tmp_path / "loose.mp4"
    video.write_bytes(b"x")
    with pytest.raises(TakeError, match=r"loose\.mp4 has no sidecar"):
        save_review(video, Review(Verdict.ACCEPTED))


def test_cost_per_accepted_second_is_all_project_spend_over_accepted_seconds_exactly(store, tmp_path):
    outputs = tmp_path / "outputs"
    accepted_5 = downloaded_take(store, outputs, new_job("Espresso spot", "2.10", (2, 3)))
    accepted_10 = downloaded_take(store, outputs, new_job("Espresso spot", "3.36", (5, 5)))
    rejected = downloaded_take(store, outputs, new_job("Espresso spot", "1.01", (5,)))
    store.create_submitting(new_job("Espresso spot", "0.70", (5,)), budget=BudgetPolicy())  # still running
    downloaded_take(store, outputs, new_job("Other project", "9.99", (5,)))
    save_review(accepted_5, Review(Verdict.ACCEPTED))
    save_review(accepted_10, Review(Verdict.ACCEPTED))
    save_review(rejected, Review(Verdict.REJECTED))

    cost = cost_per_accepted_second("Espresso spot", list_takes(outputs), store.ledger)
    assert cost.simulated  # every take of the project came from the simulator: its spend is the simulated one
    assert cost.spend == Decimal("7.17")  # 2.10 + 3.36 + 1.01 + 0.70: rejected and running jobs cost too
    assert cost.accepted_seconds == 15 and cost.accepted_takes == 2
    assert cost.per_second == Decimal("0.478")  # 7.17 / 15, exactly


def test_a_real_project_is_costed_with_real_spend_only(store, tmp_path):
    outputs = tmp_path / "outputs"
    real = downloaded_take(store, outputs, new_job("Launch", "4.20", (5,), simulated=False))
    downloaded_take(store, outputs, new_job("Launch", "100.00", (5,), simulated=True))  # a rehearsal
    save_review(real, Review(Verdict.ACCEPTED))
    cost = cost_per_accepted_second("Launch", list_takes(outputs), store.ledger)
    assert not cost.simulated
    assert cost.per_second == Decimal("0.84")


def test_nothing_accepted_yet_has_no_cost_per_second(store, tmp_path):
    downloaded_take(store, tmp_path / "outputs", new_job("Espresso spot", "2.10", (5,)))
    cost = cost_per_accepted_second("Espresso spot", list_takes(tmp_path / "outputs"), store.ledger)
    assert cost.per_second is None and cost.spend == Decimal("2.10")


def test_shot_timings_come_from_the_multi_prompt_durations():
    fal_input = {"multi_prompt": [{"prompt": "a", "duration": "4"}, {"prompt": "b", "duration": "3"},
                                  {"prompt": "c", "duration": "5"}], "duration": "12"}
    assert shot_seconds(fal_input) == (4, 3, 5)
    assert shot_starts(fal_input) == [4.0, 7.0]
    assert shot_seconds({"prompt": "one", "duration": "10"}) == (10,)
    assert shot_starts({"prompt": "one", "duration": "10"}) == []


def test_a_damaged_review_reads_as_unreviewed():
    assert Review.from_json({"verdict": "maybe", "checks": "all"}).verdict is Verdict.UNREVIEWED
    assert Review.from_json(None) == Review()


def test_an_accepted_take_is_delivered_with_its_sidecar_and_never_overwrites(store, tmp_path):
    from kling_studio.services.takes import export_take

    video = downloaded_take(store, tmp_path / "outputs", new_job("Espresso spot", "2.10", (2, 3)))
    with pytest.raises(TakeError, match="not accepted"):
        export_take(load_take(video), tmp_path / "delivery")
    take = save_review(video, Review(Verdict.ACCEPTED))
    first = export_take(take, tmp_path / "delivery")
    again = export_take(take, tmp_path / "delivery")
    assert [p.name for p in first] == [video.name, sidecar_path(video).name]
    assert [p.name for p in again] == [f"{video.stem}-2.mp4", f"{video.stem}-2.json"]
    assert first[0].read_bytes() == video.read_bytes()
    assert json.loads(first[1].read_text())["review"]["verdict"] == "accepted"
    assert not [p for p in (tmp_path / "delivery").iterdir() if p.name.endswith(".part")]


def test_the_brief_and_storyboard_as_markdown_come_from_what_was_sent(store, tmp_path):
    from kling_studio.services.takes import brief_markdown, export_markdown

    video = downloaded_take(store, tmp_path / "outputs", new_job("Espresso spot", "2.10", (2, 3)))
    take = save_review(video, Review(Verdict.ACCEPTED, frozenset({CheckItem.RIGHTS_CLEAR}), "Client OK."))
    text = brief_markdown(take)
    assert text.startswith("# Espresso spot\n")
    assert f"`{MODEL}` (4k)" in text and "5 s in 2 shots" in text
    assert "### Shot 1 · 0–2 s\n\nshot 1 of the Espresso spot" in text
    assert "### Shot 2 · 2–5 s\n\nshot 2 of the Espresso spot" in text
    assert "simulated, nothing charged" in text and f"`{take.request_id}`" in text
    assert "- [x] Rights clear" in text and "- [ ] Follows the brief" in text and "Client OK." in text
    target = export_markdown(take, tmp_path / "brief" / "espresso.md")
    assert target.read_text(encoding="utf-8") == text
