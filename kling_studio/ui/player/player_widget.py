"""The player: the video, a scrub bar with shot marks, transport buttons and the info line.

Keys (while the player has focus): Space play/pause · comma / period one frame back / forward ·
Page Up / Page Down previous / next shot · Home / End first / last frame · F fullscreen (Escape leaves it) ·
L loop · M mute.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from kling_studio.ui.icons import icon
from kling_studio.ui.player.playback import LoadedTake, Playback
from kling_studio.ui.player.scrub_bar import ScrubBar
from kling_studio.ui.player.video_view import VideoView


def timecode(index: int, fps: float) -> str:
    """``00:02:05`` (minutes, seconds, frames) for frame ``index``."""
    rate = max(1, round(fps))
    seconds, frames = divmod(index, rate)
    return f"{seconds // 60:02d}:{seconds % 60:02d}:{frames:02d}"


class PlayerWidget(QWidget):
    """Plays one take (see the module docstring for keys).

    Args:
        parent: Owner.

    Attributes:
        view: The picture (``VideoView``).
        playback: The player and frame cache behind it.
    """

    fullscreen_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("player")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view = VideoView()
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.installEventFilter(self)
        self.playback = Playback(self.view, self)
        self.scrub = ScrubBar()
        self._color = self.palette().color(QPalette.ColorRole.ButtonText).name()
        self.play_button = self._button("play", "Play / pause (Space)", self.playback.toggle_play)
        self.back_button = self._button("step-back", "One frame back (,)", lambda: self.playback.step(-1))
        self.forward_button = self._button(
            "step-forward", "One frame forward (.)", lambda: self.playback.step(1)
        )
        self.prev_shot_button = self._button(
            "shot-prev", "Previous shot (Page Up)", self.playback.previous_shot
        )
        self.next_shot_button = self._button("shot-next", "Next shot (Page Down)", self.playback.next_shot)
        self.loop_button = self._button("loop", "Loop (L)", None)
        self.loop_button.setCheckable(True)
        self.loop_button.toggled.connect(self.playback.set_loop)
        self.mute_button = self._button("volume", "Mute (M)", None)
        self.mute_button.setCheckable(True)
        self.mute_button.toggled.connect(self._on_mute_button_toggled)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setAccessibleName("Volume")
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setFixedWidth(90)
        self.volume.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume.valueChanged.connect(lambda v: self.playback.set_volume(v / 100))
        self.playback.set_volume(0.8)
        self.fullscreen_button = self._button("fullscreen", "Fullscreen (F)", self.toggle_fullscreen)
        self.time_label = QLabel("00:00:00")
        self.time_label.setObjectName("playerTime")
        self.time_label.setAccessibleName("Time code")
        self.info_label = QLabel("No take loaded")
        self.info_label.setObjectName("playerInfo")
        self.info_label.setProperty("role", "muted")
        self.info_label.setAccessibleName("Video information")

        transport = QHBoxLayout()
        transport.setContentsMargins(8, 0, 8, 0)
        transport.setSpacing(4)
        for button in (
            self.prev_shot_button, self.back_button, self.play_button, self.forward_button,
            self.next_shot_button,
        ):
            transport.addWidget(button)
        transport.addSpacing(10)
        transport.addWidget(self.time_label)
        transport.addStretch(1)
        transport.addWidget(self.loop_button)
        transport.addWidget(self.mute_button)
        transport.addWidget(self.volume)
        transport.addWidget(self.fullscreen_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.setSpacing(4)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.scrub)
        layout.addLayout(transport)
        info_row = QHBoxLayout()
        info_row.setContentsMargins(10, 0, 10, 0)
        info_row.addWidget(self.info_label)
        layout.addLayout(info_row)
        self._layout = layout
        self._fullscreen = False

        self.scrub.sliderMoved.connect(self.playback.seek_frame)
        self.scrub.actionTriggered.connect(self._on_scrub_action_triggered)
        self.playback.loaded.connect(self._on_playback_loaded)
        self.playback.load_failed.connect(self._on_playback_load_failed)
        self.playback.frame_shown.connect(self._on_playback_frame_shown)
        self.playback.playing_changed.connect(self._on_playback_playing_changed)
        self.view.double_clicked.connect(self.toggle_fullscreen)

    # ---- API --------------------------------------------------------------------------------------------
    def load(self, path: Path | str, *, shot_starts: Sequence[float] = ()) -> None:
        """Open a take; ``shot_starts`` are the cut points in seconds (from the job's ``multi_prompt``)."""
        self.info_label.setText(f"Opening {Path(path).name}…")
        self.playback.load(path, shot_starts=shot_starts)

    def close_media(self) -> None:
        """Stop and release the file (before the widget is deleted)."""
        if self._fullscreen:
            self.toggle_fullscreen()
        self.playback.close()

    @property
    def is_fullscreen(self) -> bool:
        """True while the picture fills the screen."""
        return self._fullscreen

    def toggle_fullscreen(self) -> None:
        """Show the picture alone on the whole screen, or put it back."""
        if self._fullscreen:
            self.view.setWindowState(Qt.WindowState.WindowNoState)
            self.view.setParent(self)
            self._layout.insertWidget(0, self.view, 1)
            self.view.show()
            self._fullscreen = False
        else:
            self.view.setParent(None)
            self.view.setWindowTitle("Kling Studio — player")
            self.view.showFullScreen()
            self._fullscreen = True
        self.view.setFocus()
        self.fullscreen_changed.emit(self._fullscreen)

    def handle_key(self, event: QKeyEvent) -> bool:
        """Run the player command bound to a key; True when the key was one."""
        key = event.key()
        actions = {
            Qt.Key.Key_Space: self.playback.toggle_play,
            Qt.Key.Key_Comma: lambda: self.playback.step(-1),
            Qt.Key.Key_Period: lambda: self.playback.step(1),
            Qt.Key.Key_Left: lambda: self.playback.step(-1),
            Qt.Key.Key_Right: lambda: self.playback.step(1),
            Qt.Key.Key_PageUp: self.playback.previous_shot,
            Qt.Key.Key_PageDown: self.playback.next_shot,
            Qt.Key.Key_Home: lambda: self.playback.seek_frame(0),
            Qt.Key.Key_End: lambda: self.playback.seek_frame(self.playback.frame_count - 1),
            Qt.Key.Key_F: self.toggle_fullscreen,
            Qt.Key.Key_L: self.loop_button.toggle,
            Qt.Key.Key_M: self.mute_button.toggle,
        }
        if key == Qt.Key.Key_Escape and self._fullscreen:
            self.toggle_fullscreen()
            return True
        action = actions.get(Qt.Key(key))
        if action is None or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        action()
        return True

    # ---- Qt overrides -------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Player keys; anything else goes up to the window."""
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys pressed on the picture (also when it is fullscreen) drive the player."""
        if watched is self.view and event.type() == QEvent.Type.KeyPress:
            return self.handle_key(event)  # type: ignore[arg-type]
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:
        """A 16:9 picture plus the controls."""
        return QSize(960, 640)

    # ---- slots --------------------------------------------------------------------------------------------
    def _button(self, name: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon(name, self._color))
        button.setIconSize(QSize(20, 20))
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        if slot is not None:
            button.clicked.connect(slot)
        return button

    def _on_mute_button_toggled(self, muted: bool) -> None:
        self.playback.set_muted(muted)
        self.mute_button.setIcon(icon("mute" if muted else "volume", self._color))

    def _on_scrub_action_triggered(self, action: int) -> None:
        # Clicks on the groove and page steps: the slider's value is already the target frame.
        if action != QSlider.SliderAction.SliderMove.value:
            self.playback.seek_frame(self.scrub.sliderPosition())

    def _on_playback_loaded(self, take: LoadedTake) -> None:
        self.scrub.set_frame_count(take.timeline.frame_count)
        self.scrub.set_marks(self.playback.shot_frames())
        self.scrub.setValue(0)
        self.info_label.setText(f"{take.path.name} · {take.info_line}")
        self._on_playback_frame_shown(0)

    def _on_playback_load_failed(self, message: str) -> None:
        self.info_label.setText(message)

    def _on_playback_frame_shown(self, index: int) -> None:
        take = self.playback.take
        if take is None:
            return
        if not self.scrub.isSliderDown():
            self.scrub.blockSignals(True)
            self.scrub.setValue(index)
            self.scrub.blockSignals(False)
        self.time_label.setText(
            f"{timecode(index, take.timeline.fps)}  ·  frame {index + 1}/{take.timeline.frame_count}"
        )

    def _on_playback_playing_changed(self, playing: bool) -> None:
        self.play_button.setIcon(icon("pause" if playing else "play", self._color))
