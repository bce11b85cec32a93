"""Screenshots of the reference library and of a shot using elements, for docs/screenshots.

Run under Xvfb (the completer popup is its own window, so the screen is grabbed, not the widget)::

    xvfb-run -a -s "-screen 0 1920x1080x24" python tests/ui/references_screenshots.py [--out docs/screenshots]

Writes ``references-library-dark.png`` and ``references-elements-dark.png`` (and ``-light`` with --light).
Everything happens in a temporary data folder; nothing is uploaded or charged.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> int:
    """Build the widgets with sample images, take both screenshots, print where they went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--light", action="store_true")
    args = parser.parse_args()
    sandbox = Path(tempfile.mkdtemp(prefix="kling-ref-shots-"))
    os.environ["KLING_STUDIO_DATA_DIR"] = str(sandbox / "data")
    sys.path.insert(0, str(HERE))

    import numpy as np
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication, QUndoStack
    from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget
    from references_helpers import bad_images_module

    from kling_studio.core.references import ProjectReferences
    from kling_studio.services.reference_library import ReferenceLibrary
    from kling_studio.ui.references import (
        BackgroundWork,
        ReferenceLibraryPanel,
        ReferencesEditor,
        ShotReferencesEditor,
        ThumbnailCache,
        attach_element_completer,
    )
    from kling_studio.ui.theme import Scheme, Theme

    app = QApplication(sys.argv)
    scheme = Scheme.LIGHT if args.light else Scheme.DARK
    Theme(app, scheme)
    make = bad_images_module()

    def sample(width: int, height: int, hue: tuple[int, int, int], seed: int) -> np.ndarray:
        y, x = np.mgrid[0:height, 0:width]
        base = np.array(hue, dtype=np.float32)
        shade = (0.45 + 0.55 * (1 - y / height))[..., None]
        img = (base * shade).astype(np.float32)
        rng = np.random.default_rng(seed)
        for _ in range(3):
            cx, cy, r = rng.uniform(0.2, 0.8) * width, rng.uniform(0.3, 0.8) * height, rng.uniform(0.1, 0.25)
            mask = (x - cx) ** 2 + (y - cy) ** 2 < (r * min(width, height)) ** 2
            img[mask] = np.clip(base[::-1] * 1.1 + 40, 0, 255)
        return img.clip(0, 255).astype(np.uint8)

    library = ReferenceLibrary(sandbox / "data" / "references")
    specs = [
        ("Hero bottle — front", (1024, 1365), (40, 90, 160), ["product", "bottle"]),
        ("Hero bottle — side", (1024, 1365), (40, 110, 170), ["product", "bottle"]),
        ("Hero bottle — top", (1200, 1200), (30, 80, 140), ["product", "bottle"]),
        ("Model — portrait", (960, 1280), (170, 110, 80), ["character"]),
        ("Model — profile", (960, 1280), (160, 100, 70), ["character"]),
        ("Kitchen counter, dawn", (1920, 1080), (200, 140, 60), ["set", "location"]),
        ("Sunrise window", (1920, 1080), (220, 120, 50), ["location"]),
        ("Marble texture", (1500, 1000), (150, 150, 160), ["texture"]),
        ("Logo lockup", (1600, 900), (90, 60, 170), ["brand"]),
        ("Street at night", (1920, 1080), (40, 40, 90), ["location"]),
        ("Citrus slices", (1200, 900), (230, 170, 40), ["props"]),
        ("Studio backdrop", (1920, 1080), (70, 75, 85), ["set"]),
    ]
    items = {}
    for seed, (name, (w, h), hue, tags) in enumerate(specs):
        items[name] = library.import_bytes(make.encode(sample(w, h, hue, seed), "mjpeg"), name=name, tags=tags).item

    work = BackgroundWork()
    thumbnails = ThumbnailCache(library, work)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = scheme.value

    # 1. the library, with a refused import on the banner
    window = QWidget()
    window.setWindowTitle("Kling Studio — Reference library")
    panel = ReferenceLibraryPanel(library, thumbnails, work, window)
    QVBoxLayout(window).addWidget(panel)
    window.resize(900, 760)
    window.move(0, 0)
    window.show()
    wide = sandbox / "panorama-banner.jpg"
    wide.write_bytes(make.encode(make.picture(2400, 600), "mjpeg"))
    panel.import_paths([wide])
    _settle(app, lambda: len(panel.refusals) == 1 and panel.model.rowCount() == len(specs) and work.pending == 0)
    panel.view.setCurrentIndex(panel.model.index(0))
    _settle(app, lambda: work.pending == 0, extra=0.5)
    path = args.out / f"references-library-{suffix}.png"
    _grab(window).save(str(path))
    print(path)
    window.hide()

    # 2. a shot using elements: the prompt with completion open, frames and two elements
    references = ProjectReferences()
    stack = QUndoStack()
    editor = ReferencesEditor(references, stack)
    editor.set_start_frame(items["Kitchen counter, dawn"].reference)
    editor.set_end_frame(items["Sunrise window"].reference)
    editor.add_element("Hero bottle", items["Hero bottle — front"].reference)
    editor.add_element_reference(0, items["Hero bottle — side"].reference)
    editor.add_element_reference(0, items["Hero bottle — top"].reference)
    editor.add_element("Model", items["Model — portrait"].reference)
    editor.add_element_reference(1, items["Model — profile"].reference)

    shot = QWidget()
    shot.setWindowTitle("Kling Studio — Shot 1 with elements")
    layout = QHBoxLayout(shot)
    library_panel = ReferenceLibraryPanel(library, thumbnails, work, shot)
    library_panel.setFixedWidth(560)
    library_panel.search_edit.setText("#product")
    right = QVBoxLayout()
    title = QLabel("Shot 1 prompt", shot)
    title.setObjectName("sectionTitle")
    prompt = QPlainTextEdit(shot)
    prompt.setFixedHeight(110)
    prompt.setPlainText(
        "Golden morning light on the kitchen counter. @Element2 reaches in and lifts @Element1 towards the "
        "window; slow push-in, shallow depth of field. A close-up of "
    )
    attach_element_completer(prompt, references)
    refs_editor = ShotReferencesEditor(references, editor, library, thumbnails, shot)
    right.addWidget(title)
    right.addWidget(prompt)
    right.addWidget(refs_editor, 1)
    layout.addWidget(library_panel)
    layout.addLayout(right, 1)
    shot.resize(1500, 900)
    shot.move(0, 0)
    shot.show()
    _settle(app, lambda: work.pending == 0, extra=0.3)
    prompt.setFocus()
    cursor = prompt.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    prompt.setTextCursor(cursor)
    prompt.insertPlainText("@")
    _settle(app, lambda: work.pending == 0, extra=0.5)
    path = args.out / f"references-elements-{suffix}.png"
    _grab(shot).save(str(path))
    print(path)
    QTimer.singleShot(0, app.quit)
    work.close()
    library.close()
    del QGuiApplication
    return 0


def _settle(app, done, timeout: float = 20.0, extra: float = 0.2) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not done():
        app.processEvents()
        time.sleep(0.01)
    end = time.monotonic() + extra
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _grab(window):
    screen = window.screen()
    frame = window.frameGeometry()
    return screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())


if __name__ == "__main__":
    raise SystemExit(main())
