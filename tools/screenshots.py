"""Screenshots of the studio window for docs/screenshots: a 4-shot storyboard, two sizes, light and dark.

Run under Xvfb so real fonts and a real screen are used:

    xvfb-run -a -s "-screen 0 1920x1080x24" python tools/screenshots.py [--out docs/screenshots]

Writes ``main-{1280x800,1920x1080}-{light,dark}.png``. The window is built as the app builds it, without the
services (nothing is started or charged); the project is the "Cinematic trailer" preset's four shots.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
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

    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from kling_studio.core.presets import new_project_from_preset
    from kling_studio.core.pricing import PriceCatalog
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
    for scheme in SCHEMES:
        theme.set_scheme(Scheme(scheme))
        for width, height in SIZES:
            document = ProjectDocument(Path(sandbox) / "recovery", RecentFiles(Path(sandbox) / "recent.json"))
            settings = QSettings(str(Path(sandbox) / "window.ini"), QSettings.Format.IniFormat)
            window = MainWindow(document, theme, PriceCatalog.bundled(), settings)
            project = new_project_from_preset(PRESET)
            document.new_project(project)
            window.set_spend(
                Spend(today=Decimal("2.52"), month=Decimal("18.90"), budget_left=Decimal("31.10"))
            )
            window.resize(width, height)
            window.show()
            window.selection.select_index(1)
            for _ in range(10):
                app.processEvents()
            image = window.grab()
            path = args.out / f"main-{width}x{height}-{scheme}.png"
            image.save(str(path))
            print(f"{path} ({image.width()}×{image.height()})")
            window.close_without_asking()
            window.deleteLater()
            app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
