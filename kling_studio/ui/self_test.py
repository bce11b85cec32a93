"""`kling-studio --self-test`: prove that this installation can show the studio and play a video.

Every installer runs it on the freshly built bundle, and a user who sees a blank player can run it too. It
starts Qt offscreen (no window appears), then checks, one line each::

    ok   qt: Qt 6.11.3, platform offscreen, frozen bundle
    ok   main window: built (1280×800)
    ok   multimedia: FFmpeg backend, decodes MP4 / H.264
    WARN keyring: no usable keyring backend (only keyring.backends.fail) — …
    ok   render: 2.0 s 640×360 clip in 0.6 s
    ok   playback: 48/48 frames, reached the end in 2.1 s

and exits 0 when nothing failed, 1 otherwise. A WARN is not a failure: a machine without a keyring (a
server, a bare window manager) still runs the studio; the key is then kept for the session only. Set
``KLING_STUDIO_SELF_TEST_STRICT=1`` to make a missing or broken keyring fail and to round-trip a throw-away
secret through it (the packaging checks do, inside a D-Bus session with an unlocked gnome-keyring).

Set ``KLING_STUDIO_SELF_TEST_REPORT=PATH`` to also write the lines to a file: a windowed Windows build has no
console to print to, so CI reads that file (and the exit code).

The self-test never touches the user's projects, jobs, settings or key: it points the data and config
directories at a temporary directory and forgets ``FAL_KEY`` for its own process. Each check has a time
limit; a check that hangs is reported as FAIL and the process exits 1.
"""

from __future__ import annotations

import enum
import importlib
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STRICT_ENV = "KLING_STUDIO_SELF_TEST_STRICT"
REPORT_ENV = "KLING_STUDIO_SELF_TEST_REPORT"

CLIP_SECONDS = 2
MIN_FRAME_SHARE = 0.9
KEYRING_SERVICE = "kling-studio-self-test"

# Seconds each check may take before it counts as hung (cold starts of a bundle on a slow disk included).
CHECK_TIMEOUTS = {
    "qt": 60.0,
    "main window": 60.0,
    "multimedia": 30.0,
    "keyring": 30.0,
    "render": 120.0,
    "playback": 60.0,
}


class Status(enum.Enum):
    """Outcome of one check, spelled as it is printed."""

    OK = "ok"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class CheckResult:
    """One printed line of the self-test."""

    name: str
    status: Status
    detail: str

    def line(self) -> str:
        """The line as printed: status padded to 4 characters, the check's name, what was found."""
        return f"{self.status.value:<4} {self.name}: {self.detail}"


@dataclass(frozen=True)
class PlaybackResult:
    """What a player reported while playing one clip to its end (or until it gave up)."""

    frames: int
    reached_end: bool
    error: str
    seconds: float


class Reporter:
    """Prints each result as it comes and keeps a copy for the report file and the exit code."""

    def __init__(self, report_path: Path | None) -> None:
        self._report_path = report_path
        self._lock = threading.Lock()
        self.results: list[CheckResult] = []
        if report_path is not None:
            report_path.parent.mkdir(parents=True, exist_ok=True)
            report_path.write_text("", encoding="utf-8")

    def emit(self, result: CheckResult) -> None:
        with self._lock:
            self.results.append(result)
            self.write_line(result.line())

    def write_line(self, text: str) -> None:
        # A windowed Windows executable has sys.stdout None: print() then quietly does nothing.
        print(text, flush=True)
        if self._report_path is not None:
            with self._report_path.open("a", encoding="utf-8") as report:
                report.write(text + "\n")


@contextmanager
def time_limit(reporter: Reporter, name: str, seconds: float) -> Iterator[None]:
    """Report ``name`` as FAIL and end the process if the block runs longer than ``seconds``.

    A hung Qt call cannot be interrupted from Python, so the only honest way out is to say which check
    hung and exit.
    """

    def expire() -> None:
        reporter.emit(CheckResult(name, Status.FAIL, f"no answer after {seconds:g} s; the check hung"))
        reporter.write_line("self-test FAILED (a check hung)")
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def run_self_test() -> int:
    """Run every check, print one line each, and return the exit code (0 all passed, 1 any failed)."""
    strict = os.environ.get(STRICT_ENV, "") not in ("", "0")
    report = os.environ.get(REPORT_ENV)
    reporter = Reporter(Path(report) if report else None)
    with tempfile.TemporaryDirectory(prefix="kling-studio-self-test-") as sandbox:
        _isolate_from_user_data(Path(sandbox))
        checks: list[tuple[str, Callable[[], CheckResult]]] = [
            ("qt", check_qt),
            ("main window", check_main_window),
            ("multimedia", check_multimedia),
            ("keyring", lambda: check_keyring(strict=strict)),
        ]
        clip: list[Path] = []
        checks.append(("render", lambda: _render_into(Path(sandbox), clip)))
        checks.append(("playback", lambda: check_playback(clip[0]) if clip else _skipped_playback()))
        for name, check in checks:
            with time_limit(reporter, name, CHECK_TIMEOUTS[name]):
                reporter.emit(_guarded(name, check))
    failed = [r for r in reporter.results if r.status is Status.FAIL]
    warned = [r for r in reporter.results if r.status is Status.WARN]
    if failed:
        reporter.write_line(f"self-test FAILED: {', '.join(r.name for r in failed)}")
        return 1
    suffix = f", {len(warned)} warning{'s' if len(warned) != 1 else ''}" if warned else ""
    reporter.write_line(f"self-test passed ({len(reporter.results)} checks{suffix})")
    return 0


def _guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run a check; an exception inside it is that check's failure, not the end of the self-test."""
    try:
        return check()
    except Exception as exc:
        return CheckResult(name, Status.FAIL, f"{type(exc).__name__}: {one_line(str(exc))}")


def one_line(message: str) -> str:
    """A multi-line error message as one report line: its first and last (usually the cause) lines."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) <= 2:
        return " ".join(lines)
    return f"{lines[0]} … {lines[-1]}"


def _isolate_from_user_data(sandbox: Path) -> None:
    """Point data and settings at ``sandbox`` and drop the fal key: nothing real is read, resumed or paid."""
    os.environ["KLING_STUDIO_DATA_DIR"] = str(sandbox / "data")
    os.environ["KLING_STUDIO_CONFIG_DIR"] = str(sandbox / "config")
    os.environ.pop("FAL_KEY", None)
    os.environ.pop("KLING_STUDIO_QUEUE_URL", None)
    # Always offscreen: the self-test is also run from installers and CI, where no window may appear.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # Qt Multimedia's notes about optional extras (PipeWire, VA-API) would bury the report's lines.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")


def _application():
    """The running QApplication, created offscreen when there is none yet."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "kling-studio"])
    return app


def check_qt() -> CheckResult:
    """Start Qt and say which version and platform plugin run, and whether this is a frozen bundle."""
    from PySide6 import QtCore

    app = _application()
    where = "frozen bundle" if getattr(sys, "frozen", False) else f"Python {sys.version.split()[0]}"
    return CheckResult("qt", Status.OK, f"Qt {QtCore.qVersion()}, platform {app.platformName()}, {where}")


def check_main_window() -> CheckResult:
    """Build the studio's main window the way the app does, then close it."""
    _application()
    try:
        main_window = importlib.import_module("kling_studio.ui.main_window")
    except ModuleNotFoundError as exc:
        if exc.name != "kling_studio.ui.main_window":
            raise
        return CheckResult("main window", Status.FAIL, "the studio window is missing from this installation")
    window = main_window.build_self_test_window()
    try:
        window.show()
        _application().processEvents()
        size = window.size()
        return CheckResult("main window", Status.OK, f"built ({size.width()}×{size.height()})")
    finally:
        window.close()
        window.deleteLater()


def multimedia_plugin_files() -> list[str]:
    """File names of the Qt Multimedia backend plugins this Qt would load."""
    from PySide6.QtCore import QLibraryInfo

    plugin_dir = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "multimedia"
    if not plugin_dir.is_dir():
        return []
    return sorted(p.name for p in plugin_dir.iterdir() if p.is_file())


def check_multimedia() -> CheckResult:
    """The FFmpeg backend is present and loads: Qt can decode MP4 files with H.264 video."""
    _application()
    from PySide6.QtMultimedia import QMediaFormat

    plugins = multimedia_plugin_files()
    ffmpeg = [name for name in plugins if "ffmpeg" in name.lower()]
    if not ffmpeg:
        found = ", ".join(plugins) or "none"
        return CheckResult(
            "multimedia",
            Status.FAIL,
            f"Qt Multimedia's FFmpeg backend is missing (plugins found: {found}); reinstall Kling Studio",
        )
    # With no backend loaded Qt knows no formats at all. (Qt's FFmpeg build does not list H.264 among its
    # decoders here although it plays it: the playback check proves H.264 itself.)
    formats = QMediaFormat().supportedFileFormats(QMediaFormat.ConversionMode.Decode)
    if QMediaFormat.FileFormat.MPEG4 not in formats:
        return CheckResult(
            "multimedia",
            Status.FAIL,
            f"{ffmpeg[0]} is there but did not load (Qt can decode {len(formats)} file formats, not MP4); "
            "its libraries may be damaged (a stripped build?) — reinstall Kling Studio",
        )
    detail = f"FFmpeg backend ({ffmpeg[0]}), decodes MP4 and {len(formats) - 1} more file formats"
    return CheckResult("multimedia", Status.OK, detail)


def check_keyring(*, strict: bool) -> CheckResult:
    """Name the keyring backend that would keep the fal key; strict: round-trip a throw-away secret."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    usable = _usable_backends(backend)
    if not usable or isinstance(backend, fail.Keyring):
        detail = f"no usable keyring backend (only {name}); {_missing_keyring_hint()}"
        return CheckResult("keyring", Status.FAIL if strict else Status.WARN, detail)
    described = ", ".join(usable)
    if not strict:
        return CheckResult("keyring", Status.OK, described)
    probe = f"probe-{os.getpid()}-{time.monotonic_ns()}"
    keyring.set_password(KEYRING_SERVICE, probe, "self-test")
    try:
        read_back = keyring.get_password(KEYRING_SERVICE, probe)
    finally:
        keyring.delete_password(KEYRING_SERVICE, probe)
    if read_back != "self-test":
        return CheckResult("keyring", Status.FAIL, f"{described} stored a secret but returned {read_back!r}")
    return CheckResult("keyring", Status.OK, f"{described}; stored, read and deleted a test secret")


def _usable_backends(backend: object) -> list[str]:
    """Names of the real backends behind ``backend`` (a chainer holds several), without the fail backend."""
    members = getattr(backend, "backends", None) or [backend]
    names = []
    for member in members:
        module = type(member).__module__
        if module.endswith(".fail") or module.endswith(".null"):
            continue
        names.append(f"{module.removeprefix('keyring.backends.')}.{type(member).__name__}")
    return names


def _missing_keyring_hint() -> str:
    """What a person can do about a missing keyring on this OS."""
    if sys.platform.startswith("linux"):
        return (
            "no Secret Service answered on D-Bus: install and unlock GNOME Keyring or KWallet "
            "(the key is kept for this session only until then)"
        )
    if sys.platform == "darwin":
        return "the macOS Keychain backend did not load; reinstall Kling Studio"
    return "the Windows Credential Manager backend did not load; reinstall Kling Studio"


def _render_into(folder: Path, clip: list[Path]) -> CheckResult:
    """Render the test clip with the simulator's renderer and remember where it is for the playback check."""
    started = time.monotonic()
    path, width, height = render_test_clip(folder)
    clip.append(path)
    took = time.monotonic() - started
    return CheckResult("render", Status.OK, f"{CLIP_SECONDS} s {width}×{height} clip in {took:.1f} s")


def render_test_clip(folder: Path) -> tuple[Path, int, int]:
    """Render a short preview-resolution clip with the simulator's renderer; return its path and size."""
    from kling_studio.services.simulator.render import RenderSpec, render_video
    from kling_studio.services.simulator.validation import Shot

    spec = RenderSpec(
        shots=(Shot(prompt="Kling Studio self-test: if this plays, video works.", seconds=CLIP_SECONDS),),
        aspect_ratio="16:9",
        resolution="preview",
        generate_audio=True,
        label="KLING STUDIO SELF-TEST",
    )
    path = render_video(spec, folder / "self-test.mp4")
    width, height = spec.size
    return path, width, height


def _skipped_playback() -> CheckResult:
    return CheckResult("playback", Status.FAIL, "nothing to play: the render check failed")


def expected_frames(path: Path) -> int:
    """Frames in the video stream of ``path``, from its container (PyAV)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        duration = float(container.duration or 0) / 1_000_000
        return round(duration * float(stream.average_rate or 0))


def check_playback(path: Path, *, timeout_s: float = 30.0) -> CheckResult:
    """Play ``path`` to its end through QMediaPlayer into a QVideoSink and count the frames that arrive.

    Passes when the player reaches EndOfMedia and at least 90 % of the clip's frames were delivered.
    """
    try:
        wanted = expected_frames(path)
    except Exception as exc:
        return CheckResult("playback", Status.FAIL, f"cannot read {path.name}: {type(exc).__name__}: {exc}")
    played = play_to_end(path, timeout_s=timeout_s)
    needed = math.ceil(wanted * MIN_FRAME_SHARE)
    detail = f"{played.frames}/{wanted} frames"
    if played.error:
        return CheckResult("playback", Status.FAIL, f"{detail}; the player said: {played.error}")
    if not played.reached_end:
        return CheckResult("playback", Status.FAIL, f"{detail}; did not reach the end in {timeout_s:.0f} s")
    if wanted == 0 or played.frames < needed:
        return CheckResult("playback", Status.FAIL, f"{detail}; at least {needed} were expected")
    return CheckResult("playback", Status.OK, f"{detail}, reached the end in {played.seconds:.1f} s")


def play_to_end(path: Path, *, timeout_s: float) -> PlaybackResult:
    """Play ``path`` once and report what the player delivered.

    One slot stays connected for the player's whole life and nothing is disconnected during playback:
    disconnecting from ``videoFrameChanged`` while the video thread emits can deadlock ``stop()``.
    """
    from PySide6.QtCore import QEventLoop, QObject, QTimer, QUrl, Slot
    from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink

    _application()

    class Watcher(QObject):
        """Counts frames and ends the local event loop at the end of the clip or on an error."""

        def __init__(self, loop: QEventLoop) -> None:
            super().__init__()
            self.loop = loop
            self.frames = 0
            self.reached_end = False
            self.error = ""

        @Slot(QVideoFrame)
        def on_frame(self, frame: QVideoFrame) -> None:
            if frame.isValid():
                self.frames += 1

        @Slot(QMediaPlayer.MediaStatus)
        def on_status(self, status: QMediaPlayer.MediaStatus) -> None:
            if status == QMediaPlayer.MediaStatus.EndOfMedia:
                self.reached_end = True
                self.loop.quit()
            elif status == QMediaPlayer.MediaStatus.InvalidMedia:
                self.error = self.error or "invalid media"
                self.loop.quit()

        @Slot(QMediaPlayer.Error, str)
        def on_error(self, error: QMediaPlayer.Error, message: str) -> None:
            self.error = message or error.name
            self.loop.quit()

    loop = QEventLoop()
    watcher = Watcher(loop)
    player = QMediaPlayer()
    sink = QVideoSink()
    sink.videoFrameChanged.connect(watcher.on_frame)
    player.mediaStatusChanged.connect(watcher.on_status)
    player.errorOccurred.connect(watcher.on_error)
    player.setVideoSink(sink)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    started = time.monotonic()
    player.setSource(QUrl.fromLocalFile(str(path)))
    player.play()
    if not (watcher.reached_end or watcher.error):
        loop.exec()
    took = time.monotonic() - started
    player.stop()
    result = PlaybackResult(watcher.frames, watcher.reached_end, watcher.error, took)
    player.setVideoSink(None)
    player.deleteLater()
    sink.deleteLater()
    return result
