"""Screenshots of the queue, library, player and compare views for docs/screenshots, light and dark.

Run under Xvfb so real fonts and a real screen are used:

    xvfb-run -a -s "-screen 0 1920x1080x24" python tools/screenshots_media.py [--out docs/screenshots]

Writes ``queue-*.png``, ``library-*.png``, ``player-*.png`` (a 4K take paused on a stepped frame, with its
shot mark) and ``compare-*.png`` (side by side and wipe). Everything runs in a throw-away data folder: jobs
are made through the job store's own API and takes are simulator renders (the 4K one is cached in the temp
folder, so it is rendered once).
"""

# ruff: noqa: B023 - each wait's lambda runs at once, inside the loop turn that made it

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

SCHEMES = ("dark", "light")


def take_screenshots(out: Path, schemes: tuple[str, ...] = SCHEMES) -> list[Path]:
    """Make the data, open each view, save one PNG per view and scheme; returns the files written."""
    sandbox = Path(tempfile.mkdtemp(prefix="kling-media-shots-"))
    os.environ["KLING_STUDIO_DATA_DIR"] = str(sandbox / "data")
    os.environ["KLING_STUDIO_CONFIG_DIR"] = str(sandbox / "config")

    from PySide6.QtCore import QCoreApplication, QEventLoop
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from kling_studio.services.job_store import JobStore
    from kling_studio.services.jobs import JobState, NewJob
    from kling_studio.services.ledger import BudgetPolicy
    from kling_studio.services.provenance import sidecar_for, write_sidecar
    from kling_studio.services.simulator.render import RenderSpec, render_video
    from kling_studio.services.simulator.validation import Shot
    from kling_studio.services.takes import CheckItem, Review, Verdict, save_review
    from kling_studio.ui.library.library_model import LibraryModel
    from kling_studio.ui.library.library_panel import LibraryPanel
    from kling_studio.ui.player.compare import CompareMode, CompareView
    from kling_studio.ui.player.player_widget import PlayerWidget
    from kling_studio.ui.queue_model import QueueModel
    from kling_studio.ui.queue_panel import QueuePanel
    from kling_studio.ui.theme import Scheme, Theme

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Kling Studio")
    app.setWindowIcon(QIcon())
    theme = Theme(app, Scheme.DARK)

    def spin(seconds: float, until=lambda: False) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not until():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)

    media = Path(tempfile.gettempdir()) / "kling-studio-shot-media"
    media.mkdir(exist_ok=True)

    def render(name: str, shots: tuple[tuple[str, int], ...], resolution: str = "preview") -> Path:
        path = media / f"{name}-{resolution}.mp4"
        if not path.exists():
            spec = RenderSpec(tuple(Shot(p, s) for p, s in shots), resolution=resolution)  # type: ignore[arg-type]
            render_video(spec, path)
        return path

    espresso = (("A matte black espresso machine on marble, golden hour, steam rising", 2),
                ("Macro of crema swirling in a white cup, slow push-in", 3))
    espresso_b = (("Espresso machine, low angle, warm rim light, steam", 2),
                  ("Crema pours into a glass cup, shallow depth of field", 3))
    night = (("Neon city at night, rain on the windshield, tracking shot", 5),)
    master_4k = render("espresso", espresso, "full")
    take_b = render("espresso-b", espresso_b, "full")
    night_clip = render("night", night)

    store = JobStore(sandbox / "data" / "jobs.sqlite3")
    outputs = sandbox / "data" / "outputs"

    def job(project: str, shots, cost: str, simulated: bool = True) -> NewJob:
        fal_input = {"multi_prompt": [{"prompt": p, "duration": str(s)} for p, s in shots],
                     "duration": str(sum(s for _, s in shots)), "aspect_ratio": "16:9", "generate_audio": True}
        return NewJob(project, "fal-ai/kling-video/v3/4k/text-to-video", "4k", fal_input, Decimal(cost),
                      simulated=simulated)

    def downloaded(spec: NewJob, clip: Path) -> Path:
        made = store.create_submitting(spec, budget=BudgetPolicy())
        made = store.mark_submitted(made.id, {"request_id": f"0193a4c2-{made.id}-7e1f"})
        made = store.update_progress(made.id, state=JobState.RUNNING)
        made = store.mark_completed(made.id, video_url="https://v3.fal.media/files/x.mp4", file_size=1)
        target = outputs / made.project_slug / f"{made.id}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip, target)
        made = store.mark_downloaded(made.id, target, file_size=target.stat().st_size)
        write_sidecar(target, sidecar_for(made, target, file_size=target.stat().st_size))
        return target

    first = downloaded(job("Espresso spot", espresso, "3.36"), master_4k)
    second = downloaded(job("Espresso spot", espresso_b, "3.36"), take_b)
    downloaded(job("Night drive", night, "1.68"), night_clip)
    save_review(first, Review(Verdict.ACCEPTED, frozenset({CheckItem.DELIVERY_FORMAT, CheckItem.CONSISTENCY,
                                                            CheckItem.FOLLOWS_BRIEF, CheckItem.RIGHTS_CLEAR}),
                              "Client approved the pour; use as the 16:9 master."))
    save_review(second, Review(Verdict.REJECTED, frozenset({CheckItem.DELIVERY_FORMAT}),
                               "Crema looks grey in shot 2."))
    # The queue: one job in every state worth seeing.
    queued = store.mark_submitted(store.create_submitting(job("Product launch", night, "1.68"),
                                                         budget=BudgetPolicy()).id,
                                  {"request_id": "q1", "queue_position": 2})
    running = store.mark_submitted(store.create_submitting(job("Product launch", espresso, "3.36"),
                                                          budget=BudgetPolicy()).id, {"request_id": "r1"})
    store.update_progress(running.id, state=JobState.RUNNING,
                          logs=[{"message": "Generating shot 1 of 2", "timestamp": "08:00:01"}])
    dl = store.mark_submitted(store.create_submitting(job("Music video", espresso, "3.36"),
                                                     budget=BudgetPolicy()).id, {"request_id": "d1"})
    store.mark_completed(dl.id, file_size=48_000_000)
    store.update_progress(dl.id, state=JobState.DOWNLOADING, bytes_downloaded=31_000_000)
    failed = store.mark_submitted(store.create_submitting(job("Music video", night, "1.68"),
                                                         budget=BudgetPolicy()).id, {"request_id": "f1"})
    store.mark_failed(failed.id, "validation", "fal refused the prompt: it names a real person.", charged=None)
    maybe = store.create_submitting(job("Editorial clip", night, "1.68"), budget=BudgetPolicy())
    store.update_progress(maybe.id, state=JobState.MAYBE_SUBMITTED)
    del queued

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(widget, name: str) -> None:
        spin(0.3)
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        written.append(path)

    for scheme in schemes:
        theme.set_scheme(Scheme(scheme))

        model = QueueModel(store)
        queue = QueuePanel(model, url_opener=lambda _url: True)
        queue.resize(1100, 560)
        queue.show()
        spin(5, lambda: bool(model._posters) and all(v is not None for v in model._posters.values()))
        queue.select_job(failed.id)
        queue.logs_button.click()
        save(queue, f"queue-{scheme}")
        queue.select_job(maybe.id)
        save(queue, f"queue-maybe-submitted-{scheme}")
        queue.close()
        model.close()

        library_model = LibraryModel(outputs, store.ledger)
        library = LibraryPanel(library_model)
        library.resize(1400, 760)
        library.show()
        library_model.reload()
        spin(10, lambda: library_model.rowCount() > 0)
        for _ in range(3):
            spin(3, lambda: len(library_model._posters) >= 3
                 and all(v is not None for v in library_model._posters.values()))
        library.select_take(first)
        save(library, f"library-{scheme}")
        library.close()
        library_model.close()

        player = PlayerWidget()
        player.resize(1280, 800)
        player.show()
        player.load(first, shot_starts=[2.0])
        spin(15, lambda: player.playback.take is not None)
        player.playback.seek_frame(53)
        spin(10, lambda: player.playback.still_index() == 53)
        save(player, f"player-{scheme}")
        player.view.show_crop_frame("9:16")
        player.view.crop_item.set_center(0.35)
        save(player, f"player-crop-{scheme}")
        player.close_media()
        player.close()

        compare = CompareView()
        compare.resize(1400, 560)
        compare.show()
        compare.load(first, second, title_a="Take 1 · accepted", title_b="Take 2 · rejected")
        spin(15, lambda: compare.playback_a.take is not None and compare.playback_b.take is not None)
        compare.seek_frame(60)
        spin(10, lambda: compare.playback_a.still_index() == 60 and compare.playback_b.still_index() == 60)
        save(compare, f"compare-{scheme}")
        compare.set_mode(CompareMode.WIPE)
        compare.stage.set_wipe(0.45)
        save(compare, f"compare-wipe-{scheme}")
        compare.close_media()
        compare.close()
    store.close()
    return written


def main() -> int:
    """Take the screenshots and print where each went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    )
    args = parser.parse_args()
    for path in take_screenshots(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
