"""Startup time: process start to the first painted studio window, against a bare PySide6 window.

Both are measured the same way in the same run: the parent notes the time, starts a child Python process,
and the child prints the wall-clock time once its window has been shown and a paint has gone through
(``QTimer.singleShot(0)`` after ``show()``, then ``processEvents()``). Runs alternate between the two so
machine noise hits both alike. Prints the medians, the spread (min–max) and the ratio; the target is ≤ 1.5.

    python benchmarks/startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.resize(1280, 800)
window.show()
def painted():
    app.processEvents()
    print("PAINTED", time.time(), flush=True)
    app.quit()
QTimer.singleShot(0, painted)
app.exec()
"""

STUDIO = """
import sys, time
from kling_studio.ui.app import run_app
def painted(window):
    from PySide6.QtWidgets import QApplication
    QApplication.processEvents()
    print("PAINTED", time.time(), flush=True)
    window.close_without_asking()
sys.exit(run_app(on_shown=painted, show_welcome=False))
"""


def measure(code: str, env: dict[str, str]) -> float:
    """Seconds from starting the child process to its first painted window."""
    started = time.time()
    child = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in child.stdout:
            if line.startswith("PAINTED"):
                return float(line.split()[1]) - started
        raise RuntimeError(f"the child never painted: {child.stderr.read()[-2000:]}")
    finally:
        child.kill()
        child.wait()


def main() -> int:
    """Run the comparison and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kling-startup-") as sandbox:
        env = dict(os.environ)
        if "QT_QPA_PLATFORM" not in env and not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        env["KLING_STUDIO_DATA_DIR"] = os.path.join(sandbox, "data")
        env["KLING_STUDIO_CONFIG_DIR"] = os.path.join(sandbox, "config")
        env.pop("FAL_KEY", None)
        measure(BARE, env)  # warm the disk cache for both
        measure(STUDIO, env)
        bare, studio = [], []
        for _ in range(args.repeats):
            bare.append(measure(BARE, env))
            studio.append(measure(STUDIO, env))
    for name, times in (("bare PySide6 window", bare), ("Kling Studio window", studio)):
        print(
            f"{name:22s} median {statistics.median(times) * 1000:6.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, n={len(times)})"
        )
    ratio = statistics.median(studio) / statistics.median(bare)
    print(f"ratio studio/bare: {ratio:.2f} (target ≤ 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
