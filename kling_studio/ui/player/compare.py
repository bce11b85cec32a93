"""Compare two takes: side by side, or a wipe (B over A, cut at a line you drag), playing in sync.

One clock rules: take A's player. :class:`SyncClock` watches both players' positions on every frame A
presents and keeps B within a frame of A — small drift is absorbed by nudging B's playback rate by a few
percent (no visible jump), a large one (after a seek or a stall) by moving B to A's position.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPalette, QRegion
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from kling_studio.ui.icons import icon
from kling_studio.ui.player.playback import LoadedTake, Playback
from kling_studio.ui.player.player_widget import timecode
from kling_studio.ui.player.scrub_bar import ScrubBar
from kling_studio.ui.player.video_view import VideoView

#: Drift (ms) above which B jumps to A instead of catching up by rate.
JUMP_MS = 120
#: Drift (ms) below which B plays at A's rate.
DEAD_BAND_MS = 8
#: Largest rate nudge while catching up.
MAX_NUDGE = 0.08


class CompareMode(StrEnum):
    """How the two takes are laid out."""

    SIDE_BY_SIDE = "side_by_side"
    WIPE = "wipe"


class SyncClock(QObject):
    """Keeps ``follower`` within a frame of ``master`` while they play.

    Args:
        master: The clock (take A).
        follower: Follows it (take B); muted, so only A is heard.
    """

    drift_measured = Signal(int)  # follower − master, in ms, at each check

    def __init__(self, master: Playback, follower: Playback, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.master = master
        self.follower = follower
        self.worst_drift_ms = 0
        follower.set_muted(True)
        master.frame_shown.connect(self._on_master_frame_shown)
        master.playing_changed.connect(self._on_master_playing_changed)

    def drift_ms(self) -> int:
        """Follower position minus master position, in ms."""
        return self.follower.player.position() - self.master.player.position()

    def _on_master_frame_shown(self, _index: int) -> None:
        if not (self.master.is_playing and self.follower.is_playing):
            return
        drift = self.drift_ms()
        self.drift_measured.emit(drift)
        if abs(drift) > JUMP_MS:
            self.follower.player.setPosition(self.master.player.position())
            self.follower.player.setPlaybackRate(self.master.player.playbackRate())
            return
        rate = self.master.player.playbackRate()
        if abs(drift) > DEAD_BAND_MS:
            rate *= 1.0 - max(-MAX_NUDGE, min(MAX_NUDGE, drift / 500))
        if abs(self.follower.player.playbackRate() - rate) > 1e-3:
            self.follower.player.setPlaybackRate(rate)

    def _on_master_playing_changed(self, playing: bool) -> None:
        if playing:
            self.follower.seek_frame(self.master.current_index)
            self.follower.play()
        else:
            self.follower.pause()
            self.follower.player.setPlaybackRate(self.master.player.playbackRate())
            self.follower.seek_frame(self.master.current_index)


class _Stage(QWidget):
    """Holds the two pictures: side by side, or stacked with B masked to the right of the wipe line."""

    def __init__(self, view_a: VideoView, view_b: VideoView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view_a, self.view_b = view_a, view_b
        view_a.setParent(self)
        view_b.setParent(self)
        self.mode = CompareMode.SIDE_BY_SIDE
        self.wipe = 0.5  # where the wipe line sits, as a share of the width
        self._line = QWidget(self)  # the wipe line, drawn as a thin accent bar
        self._line.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._line.setAutoFillBackground(True)
        palette = self._line.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor("#7c5cff"))
        self._line.setPalette(palette)
        for view in (view_a, view_b):
            view.viewport().installEventFilter(self)

    def set_mode(self, mode: CompareMode) -> None:
        self.mode = mode
        self._arrange()

    def set_wipe(self, share: float) -> None:
        self.wipe = max(0.0, min(1.0, share))
        self._arrange()

    def resizeEvent(self, event: QEvent) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._arrange()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.mode is CompareMode.WIPE and event.type() in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
        ):
            mouse: QMouseEvent = event  # type: ignore[assignment]
            if mouse.buttons() & Qt.MouseButton.LeftButton:
                x = watched.parent().mapTo(self, mouse.position().toPoint()).x()  # type: ignore[union-attr]
                self.set_wipe(x / max(1, self.width()))
                return True
        return super().eventFilter(watched, event)

    def _arrange(self) -> None:
        width, height = self.width(), self.height()
        if self.mode is CompareMode.SIDE_BY_SIDE:
            half = width // 2
            self.view_a.setGeometry(0, 0, half - 1, height)
            self.view_b.setGeometry(half + 1, 0, width - half - 1, height)
            self.view_b.clearMask()
            self._line.hide()
            return
        self.view_a.setGeometry(0, 0, width, height)
        self.view_b.setGeometry(0, 0, width, height)
        cut = int(width * self.wipe)
        self.view_b.setMask(QRegion(QRect(cut, 0, max(1, width - cut), height)))
        self.view_b.raise_()
        self._line.setGeometry(cut - 1, 0, 2, height)
        self._line.show()
        self._line.raise_()


class CompareView(QWidget):
    """Two takes in sync, with one transport (Space, comma, period; W switches side by side / wipe).

    Attributes:
        playback_a: Take A (the clock, heard).
        playback_b: Take B (follows A, muted).
        clock: Keeps B on A.
    """

    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view_a, self.view_b = VideoView(), VideoView()
        self.playback_a = Playback(self.view_a, self)
        self.playback_b = Playback(self.view_b, self)
        self.clock = SyncClock(self.playback_a, self.playback_b, self)
        self.stage = _Stage(self.view_a, self.view_b)
        self._color = self.palette().color(QPalette.ColorRole.ButtonText).name()
        self.label_a = QLabel("A —")
        self.label_b = QLabel("B —")
        for label in (self.label_a, self.label_b):
            label.setProperty("role", "muted")
        self.label_b.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.scrub = ScrubBar()
        self.play_button = self._button("play", "Play both / pause (Space)", self.toggle_play)
        back = self._button("step-back", "One frame back, both (,)", lambda: self.step(-1))
        forward = self._button("step-forward", "One frame forward, both (.)", lambda: self.step(1))
        self.mode_button = self._button("compare", "Side by side / wipe (W)", self.toggle_mode)
        self.time_label = QLabel("00:00:00")
        self.wipe_slider = QSlider(Qt.Orientation.Horizontal)
        self.wipe_slider.setAccessibleName("Wipe position")
        self.wipe_slider.setRange(0, 100)
        self.wipe_slider.setValue(50)
        self.wipe_slider.setFixedWidth(120)
        self.wipe_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.wipe_slider.valueChanged.connect(lambda v: self.stage.set_wipe(v / 100))
        self.wipe_slider.setVisible(False)

        labels = QHBoxLayout()
        labels.setContentsMargins(10, 4, 10, 0)
        labels.addWidget(self.label_a)
        labels.addStretch(1)
        labels.addWidget(self.label_b)
        transport = QHBoxLayout()
        transport.setContentsMargins(8, 0, 8, 0)
        for widget in (back, self.play_button, forward):
            transport.addWidget(widget)
        transport.addSpacing(10)
        transport.addWidget(self.time_label)
        transport.addStretch(1)
        transport.addWidget(self.wipe_slider)
        transport.addWidget(self.mode_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.setSpacing(4)
        layout.addLayout(labels)
        layout.addWidget(self.stage, 1)
        layout.addWidget(self.scrub)
        layout.addLayout(transport)

        self.scrub.sliderMoved.connect(self.seek_frame)
        self.playback_a.loaded.connect(self._on_playback_a_loaded)
        self.playback_a.frame_shown.connect(self._on_playback_a_frame_shown)
        self.playback_a.playing_changed.connect(self._on_playback_a_playing_changed)
        for view in (self.view_a, self.view_b):
            view.installEventFilter(self)

    # ---- API ----------------------------------------------------------------------------------------------
    def load(self, path_a: Path | str, path_b: Path | str, *, title_a: str = "", title_b: str = "") -> None:
        """Open the two takes (A is the clock)."""
        self.label_a.setText(f"A  {title_a or Path(path_a).name}")
        self.label_b.setText(f"B  {title_b or Path(path_b).name}")
        self.playback_a.load(path_a)
        self.playback_b.load(path_b)

    def close_media(self) -> None:
        """Stop both and release the files."""
        self.playback_a.close()
        self.playback_b.close()

    @property
    def mode(self) -> CompareMode:
        """Side by side or wipe."""
        return self.stage.mode

    def set_mode(self, mode: CompareMode) -> None:
        """Lay the takes out side by side or as a wipe."""
        self.stage.set_mode(mode)
        self.wipe_slider.setVisible(mode is CompareMode.WIPE)
        self.mode_changed.emit(mode.value)

    def toggle_mode(self) -> None:
        """Switch between side by side and wipe."""
        wipe = self.mode is CompareMode.SIDE_BY_SIDE
        self.set_mode(CompareMode.WIPE if wipe else CompareMode.SIDE_BY_SIDE)

    def toggle_play(self) -> None:
        """Play both from A's frame, or pause both."""
        self.playback_a.toggle_play()

    def step(self, frames: int) -> None:
        """Step both takes by ``frames``."""
        self.playback_a.step(frames)
        self.playback_b.seek_frame(self.playback_a.current_index)

    def seek_frame(self, index: int) -> None:
        """Show frame ``index`` of both."""
        self.playback_a.seek_frame(index)
        self.playback_b.seek_frame(index)

    # ---- Qt overrides -------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space, comma, period and W."""
        if not self._handle_key(event):
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys on either picture drive both."""
        if event.type() == QEvent.Type.KeyPress and self._handle_key(event):  # type: ignore[arg-type]
            return True
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:
        """Two 16:9 pictures side by side plus controls."""
        return QSize(1280, 520)

    # ---- internals ----------------------------------------------------------------------------------------
    def _handle_key(self, event: QKeyEvent) -> bool:
        actions = {
            Qt.Key.Key_Space: self.toggle_play,
            Qt.Key.Key_Comma: lambda: self.step(-1),
            Qt.Key.Key_Period: lambda: self.step(1),
            Qt.Key.Key_W: self.toggle_mode,
        }
        action = actions.get(Qt.Key(event.key()))
        if action is None:
            return False
        action()
        return True

    def _button(self, name: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon(name, self._color))
        button.setIconSize(QSize(20, 20))
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        return button

    def _on_playback_a_loaded(self, take: LoadedTake) -> None:
        self.scrub.set_frame_count(take.timeline.frame_count)
        self._on_playback_a_frame_shown(0)

    def _on_playback_a_frame_shown(self, index: int) -> None:
        take = self.playback_a.take
        if take is None:
            return
        self.scrub.blockSignals(True)
        self.scrub.setValue(index)
        self.scrub.blockSignals(False)
        self.time_label.setText(f"{timecode(index, take.timeline.fps)}  ·  frame {index + 1}")

    def _on_playback_a_playing_changed(self, playing: bool) -> None:
        self.play_button.setIcon(icon("pause" if playing else "play", self._color))

