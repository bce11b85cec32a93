"""Screenshots of the studio window for docs/screenshots: a 4-shot storyboard, two sizes, light and dark.

Run under Xvfb so real fonts and a real screen are used:

    xvfb-run -a -s "-screen 0 1920x1080x24" python tools/screenshots.py [--out docs/screenshots]

Writes ``main-{1280x800,1920x1080}-{light,dark}.png`` with the Queue tab showing a finished take, and
``main-player-{light,dark}.png`` (1920×1080) with that take open in the Player dock and its review. The window
is built as the app builds it, with services opened on a throw-away data folder whose runner is not started
(nothing is sent or charged); the project is the "Cinematic trailer" preset's four shots.
"""

# ruff: noqa: B023 - each wait's lambda runs at once, inside the loop turn that made it

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

SIZES = ((1280, 800), (1920, 1080))
SCHEMES = ("light", "dark")
PRESET = "cinematic-trailer"


def main() -> int:
    """Take every screenshot and print where each went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    )
    args = parser.parse_args()
    sandbox = tempfile.mkdtemp(prefix="kling-screenshots-")
    os.environ["KLING_STUDIO_DATA_DIR"] = str(Path(sandbox) / "data")
    os.environ["KLING_STUDIO_CONFIG_DIR"] = str(Path(sandbox) / "config")

    from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, Qt
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from kling_studio.core.presets import new_project_from_preset
    from kling_studio.core.pricing import PriceCatalog
    from kling_studio.services.secrets import KeyStore, MemoryKeyring
    from kling_studio.services.studio_services import StudioServices
    from kling_studio.ui.app import app_icon_path
    from kling_studio.ui.cost_meter import Spend
    from kling_studio.ui.document import ProjectDocument, RecentFiles
    from kling_studio.ui.main_window import MainWindow
    from kling_studio.ui.theme import Scheme, Theme

    app = QApplication(sys.argv)
    app.setApplicationName("Kling Studio")
    app.setWindowIcon(QIcon(app_icon_path() or ""))
    theme = Theme(app, Scheme.DARK)
    args.out.mkdir(parents=True, exist_ok=True)

    def spin(seconds: float, until=lambda: False) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not until():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)

    # A finished take in the queue: the preset's request, downloaded (a simulator render stands in for fal's).
    os.environ["KLING_STUDIO_QUEUE_URL"] = "http://127.0.0.1:9"  # no simulator needed: the runner never starts
    services = asyncio.run(StudioServices.open(keys=KeyStore(MemoryKeyring(), environ={}), start_runner=False))
    take = _finished_take(services.store, new_project_from_preset(PRESET), PriceCatalog.bundled())
    for scheme in SCHEMES:
        theme.set_scheme(Scheme(scheme))
        for width, height in SIZES:
            document = ProjectDocument(Path(sandbox) / "recovery", RecentFiles(Path(sandbox) / "recent.json"))
            settings = QSettings(str(Path(sandbox) / "window.ini"), QSettings.Format.IniFormat)
            # As run_app does: the frame is shown first and the docks are built into it.
            window = MainWindow(document, theme, PriceCatalog.bundled(), settings, build=False)
            window.resize(width, height)
            window.show()
            window.build_content()
            project = new_project_from_preset(PRESET)
            document.new_project(project)
            window.set_spend(
                Spend(today=Decimal("2.52"), month=Decimal("18.90"), budget_left=Decimal("31.10"))
            )
            window.set_services(services)
            window.selection.select_index(1)
            outputs = window.outputs
            outputs.queue_dock.raise_()
            outputs.queue_panel.select_job(take.id)
            model = outputs.queue_model
            spin(5, lambda: model.index(0, 0).data(Qt.ItemDataRole.DecorationRole) is not None)
            spin(0.3)
            outputs.queue_dock.raise_()  # again, once the docks are sized: the finished take shows in the queue
            spin(0.2)
            image = window.grab()
            path = args.out / f"main-{width}x{height}-{scheme}.png"
            image.save(str(path))
            print(f"{path} ({image.width()}×{image.height()})")
            if (width, height) == SIZES[-1]:
                outputs.open_job(model.job_at(0))  # the player is made once the sidecar is read
                spin(15, lambda: outputs.player is not None and outputs.player.playback.take is not None)
                player = outputs.player
                player.playback.seek_frame(60)
                spin(5, lambda: player.playback.still_index() == 60)
                spin(0.3)
                image = window.grab()
                path = args.out / f"main-player-{scheme}.png"
                image.save(str(path))
                print(f"{path} ({image.width()}×{image.height()})")
            window.detach_services()
            window.close_without_asking()
            window.deleteLater()
            app.processEvents()
    asyncio.run(services.close())
    shutil.rmtree(sandbox, ignore_errors=True)
    return 0


def _finished_take(store, project, catalog):
    """A job for ``project``'s request, downloaded the way the runner records it (video and sidecar)."""
    from kling_studio.core.pricing import estimate
    from kling_studio.core.request import build_request
    from kling_studio.services.jobs import JobState, NewJob
    from kling_studio.services.provenance import sidecar_for, write_sidecar
    from kling_studio.services.simulator.render import RenderSpec, render_video
    from kling_studio.services.simulator.validation import Shot

    request = build_request(project, project.settings.tier)
    spec = NewJob(project.name, request.model_id, project.settings.tier.value, dict(request.arguments),
                  estimate(project, catalog=catalog).total, simulated=True)
    job = store.create_submitting(spec)
    job = store.mark_submitted(job.id, {"request_id": f"0193a4c2-{job.id}-7e1f"})
    job = store.update_progress(job.id, state=JobState.RUNNING)
    job = store.mark_completed(job.id, video_url="https://v3.fal.media/files/take.mp4", file_size=1)
    shots = tuple(Shot(s.prompt, s.duration) for s in project.storyboard.shots) or (Shot(project.name, 5),)
    target = Path(os.environ["KLING_STUDIO_DATA_DIR"]) / "outputs" / job.project_slug / f"{job.id}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    render_video(RenderSpec(shots, resolution="preview"), target)
    job = store.mark_downloaded(job.id, target, file_size=target.stat().st_size)
    write_sidecar(target, sidecar_for(job, target, file_size=target.stat().st_size))
    return job


if __name__ == "__main__":
    sys.exit(main())
