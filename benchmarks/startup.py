"""Startup time: process start to the first painted studio window, against a bare PySide6 window.

Every variant is measured the same way in the same run: the parent notes the time, starts a child Python
process, and the child prints the wall-clock time of the first Paint event of its main window (an
application-wide event filter, installed before the window exists) and exits. Runs alternate between the
variants so machine noise hits them alike. Prints the medians, the spread (min–max) and the ratios; the
target for the first paint is ≤ 1.5.

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

# The child creates the QApplication and watches for the first Paint event of a QMainWindow (or a widget
# inside one), prints the time and exits at once: the same probe for both windows.
PROBE = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        painted = event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
        if painted and isinstance(obj.window(), QMainWindow):
            print("PAINTED", time.time(), flush=True)
            os._exit(0)
        return False

app = QApplication(sys.argv)
probe = FirstPaint()
app.installEventFilter(probe)
"""

BARE = PROBE + """
window = QMainWindow()
window.resize(1280, 800)
window.show()
app.exec()
"""

STUDIO = PROBE + """
from kling_studio.ui.app import run_app
run_app(show_welcome=False)
"""

# The real command: `kling-studio` with no arguments goes through the CLI's argument parser first.
STUDIO_CLI = PROBE + """
from kling_studio.cli import main
main([])
"""

# Not a first paint: when the editors are built and the event loop runs (the window is fully usable).
STUDIO_READY = """
import sys, time
from kling_studio.ui.app import run_app
def ready(window):
    print("PAINTED", time.time(), flush=True)
    import os
    os._exit(0)
run_app(on_shown=ready, show_welcome=False)
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
        # An installed app runs from compiled bytecode (pip writes the .pyc files); so do both children here,
        # with the cache kept in the sandbox instead of the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = os.path.join(sandbox, "pycache")
        variants = {
            "bare PySide6 window": BARE,
            "studio, first paint": STUDIO,
            "kling-studio command": STUDIO_CLI,
            "studio, fully built": STUDIO_READY,
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for code in variants.values():
            measure(code, env)  # warm the disk and bytecode caches
        for _ in range(args.repeats):
            for name, code in variants.items():
                times[name].append(measure(code, env))
    for name, values in times.items():
        print(
            f"{name:22s} median {statistics.median(values) * 1000:6.0f} ms "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})"
        )
    bare = statistics.median(times["bare PySide6 window"])
    for name in list(variants)[1:]:
        print(f"ratio {name} / bare: {statistics.median(times[name]) / bare:.2f}")
    print("target: first paint ≤ 1.5 × bare")
    return 0


if __name__ == "__main__":
    sys.exit(main())
