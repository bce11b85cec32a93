"""The timeline's view: zoom with Ctrl+wheel, the keyboard, the context menu and an inline prompt editor."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QEvent, QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsView, QLineEdit, QMenu, QWidget

from kling_studio.core.limits import MAX_TOTAL_SECONDS, Mode
from kling_studio.ui.timeline.geometry import MARGIN_X, ZOOM_STEP
from kling_studio.ui.timeline.scene import SINGLE_BLOCK, TimelineScene
from kling_studio.ui.timeline.shot_item import ShotItem

#: Keys the timeline handles itself, even when the window has shortcuts on them.
_OWN_KEYS = frozenset(
    {
        Qt.Key.Key_Left,
        Qt.Key.Key_Right,
        Qt.Key.Key_Home,
        Qt.Key.Key_End,
        Qt.Key.Key_Plus,
        Qt.Key.Key_Equal,
        Qt.Key.Key_Minus,
        Qt.Key.Key_Underscore,
        Qt.Key.Key_Delete,
        Qt.Key.Key_Backspace,
        Qt.Key.Key_Return,
        Qt.Key.Key_Enter,
        Qt.Key.Key_Insert,
        Qt.Key.Key_F2,
        Qt.Key.Key_Escape,
    }
)


class InlinePromptEditor(QLineEdit):
    """A line edit laid over a block: every keystroke goes through the editor (merging into one command).

    Enter or focus loss keeps the text; Escape puts the prompt back as it was (the merged command vanishes).

    Signals:
        finished(): the editor closed.
    """

    finished = Signal()

    def __init__(self, scene: TimelineScene, shot_id: str, parent: QWidget) -> None:
        super().__init__(parent)
        self._scene = scene
        self._shot_id = shot_id
        board = scene.project.storyboard
        self._original = board.shots[board.index_of(shot_id)].prompt if shot_id else board.prompt
        self.setText(self._original)
        self.setPlaceholderText("Describe this shot…" if shot_id else "Describe the clip…")
        self.setAccessibleName("Shot prompt" if shot_id else "Prompt")
        self.textEdited.connect(self._on_self_text_edited)
        self._closing = False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter keeps the text, Escape restores the prompt; both close."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.close_editor()
            return
        if event.key() == Qt.Key.Key_Escape:
            if self.text() != self._original:
                self._apply(self._original)
            self.close_editor()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QEvent) -> None:  # type: ignore[override]
        """Leaving the field keeps what was typed."""
        super().focusOutEvent(event)  # type: ignore[arg-type]
        self.close_editor()

    def close_editor(self) -> None:
        """Close (once) and hand focus back to the timeline."""
        if self._closing:
            return
        self._closing = True
        self.finished.emit()
        self.hide()
        self.deleteLater()

    def _apply(self, text: str) -> None:
        editor = self._scene.editor
        if self._shot_id:
            self._scene.attempt(editor.set_shot_prompt, self._shot_id, text)
        else:
            self._scene.attempt(editor.set_prompt, text)

    def _on_self_text_edited(self, text: str) -> None:
        self._apply(text)


class TimelineView(QGraphicsView):
    """Shows a :class:`TimelineScene`; handles keys, Ctrl+wheel zoom and the shot context menu.

    Keys: Left/Right select, Home/End first/last, Ctrl+Left/Right move the shot, +/− resize by 1 s, Delete
    removes, Ctrl+D duplicates, Enter asks to edit (``edit_requested``), F2 edits the prompt inline,
    Insert or Ctrl+Shift+N adds a shot after the current one.

    Args:
        scene: The scene to show.
        parent: Qt parent.

    Signals:
        zoom_changed(float): pixels per second after a zoom.
    """

    zoom_changed = Signal(float)

    def __init__(self, scene: TimelineScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self._scene = scene
        self._fit = True
        self._inline: InlinePromptEditor | None = None
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        # At least the track's height plus a scroll bar for when it is zoomed in; extra height is canvas.
        scroll_bar = self.horizontalScrollBar().sizeHint().height()
        self.setMinimumHeight(int(scene.sceneRect().height()) + scroll_bar + 2)
        self.setAccessibleName("Shot timeline")
        scene.selection.current_changed.connect(self._on_selection_current_changed)
        scene.layout_changed.connect(self._on_scene_layout_changed)
        self._on_scene_layout_changed()

    # ---- zoom -----------------------------------------------------------------------------------------
    @property
    def fits_width(self) -> bool:
        """True while the zoom follows the view's width (until the user zooms by hand)."""
        return self._fit

    @property
    def inline_editor(self) -> InlinePromptEditor | None:
        """The open inline prompt editor, if any."""
        return self._inline

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Zoom in (factor > 1) or out, keeping the moment under ``anchor`` (viewport x) in place.

        The zoom then stops following the view's width.
        """
        self._fit = False
        anchor_x = anchor.x() if anchor is not None else self.viewport().width() // 2
        seconds = self._scene.scale.seconds_at(self.mapToScene(QPoint(anchor_x, 0)).x())
        self._scene.set_pixels_per_second(self._scene.scale.pixels_per_second * factor)
        bar = self.horizontalScrollBar()
        bar.setValue(
            bar.value() + round(self._scene.scale.x_for(seconds) - self.mapToScene(QPoint(anchor_x, 0)).x())
        )
        self.zoom_changed.emit(self._scene.scale.pixels_per_second)

    def zoom_to_fit(self) -> None:
        """Fit 15 s (or the whole clip when longer) into the view's width, and keep fitting on resize."""
        self._fit = True
        self._fit_now()

    def _fit_now(self) -> None:
        seconds = max(MAX_TOTAL_SECONDS, self._scene.project.storyboard.total_seconds) + 1.5
        width = self.viewport().width() - 2 * MARGIN_X
        if width > 0:
            self._scene.set_pixels_per_second(width / seconds)
            self.zoom_changed.emit(self._scene.scale.pixels_per_second)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Ctrl+wheel zooms; the plain wheel scrolls sideways."""
        delta = event.angleDelta().y()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if delta:
                self.zoom_by(ZOOM_STEP if delta > 0 else 1 / ZOOM_STEP, event.position().toPoint())
            event.accept()
            return
        if delta and not event.angleDelta().x():
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - delta)
            event.accept()
            return
        super().wheelEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep fitting the width until the user zooms by hand."""
        super().resizeEvent(event)
        if self._fit:
            self._fit_now()

    # ---- geometry helpers (also what tests aim at) ----------------------------------------------------
    def block_rect(self, shot_id: str) -> QRect:
        """Where a block is, in viewport coordinates."""
        item = self._scene.block(shot_id)
        return self.mapFromScene(item.mapRectToScene(item.shape().boundingRect())).boundingRect()

    # ---- keyboard -------------------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        """Claim our keys before window shortcuts (e.g. a window-wide Delete) can take them."""
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            key = event.key()
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
            if (
                (key in _OWN_KEYS and not mods & ~(ctrl | shift))
                or (key == Qt.Key.Key_D and mods == ctrl)
                or (key == Qt.Key.Key_N and mods == ctrl | shift)
            ):
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Select, move, resize, delete, duplicate, add and edit shots from the keyboard."""
        if self._handle_key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        scene, editor, selection = self._scene, self._scene.editor, self._scene.selection
        board = scene.project.storyboard
        multi = board.mode is Mode.MULTI
        current = selection.current_id if multi else SINGLE_BLOCK

        if key == Qt.Key.Key_Escape:
            for item in scene.blocks():
                item.cancel_drag()
            return True
        if key == Qt.Key.Key_Insert or (key == Qt.Key.Key_N and ctrl and shift):
            self.add_shot_after_current()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if multi and not current:
                return False
            scene.edit_requested.emit(current)
            return True
        if key == Qt.Key.Key_F2:
            if not multi or current:
                self.edit_inline(current)
            return True
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal, Qt.Key.Key_Minus, Qt.Key.Key_Underscore) and not ctrl:
            step = 1 if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal) else -1
            if multi and current:
                scene.attempt(
                    editor.resize_shot, current, board.shots[board.index_of(current)].duration + step
                )
            elif not multi:
                scene.attempt(editor.set_single_duration, board.duration + step)
            return True
        if not multi or not current:
            return key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End)
        index = board.index_of(current)
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = -1 if key == Qt.Key.Key_Left else 1
            if ctrl:
                destination = index + step
                if 0 <= destination < len(board.shots):
                    scene.attempt(editor.move_shot, current, destination)
            else:
                selection.select_next(step)
            return True
        if key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            selection.select_index(0 if key == Qt.Key.Key_Home else len(board.shots) - 1)
            return True
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not ctrl:
            scene.attempt(editor.remove_shot, current)
            return True
        if key == Qt.Key.Key_D and ctrl:
            self.duplicate(current)
            return True
        return False

    # ---- actions (keyboard, menu and toolbar share them) ----------------------------------------------
    def add_shot_after_current(self) -> None:
        """Add an empty shot after the current one (at the end when none is current) and select it."""
        scene = self._scene
        board = scene.project.storyboard
        if board.mode is Mode.MULTI:
            index = scene.selection.current_index
            position = index + 1 if index >= 0 else len(board.shots)
        else:
            position = 1  # the single prompt becomes shot 1
        new_id = scene.attempt(scene.editor.insert_shot, position)
        if new_id:
            scene.selection.select(new_id)

    def duplicate(self, shot_id: str) -> None:
        """Duplicate a shot and select the copy."""
        new_id = self._scene.attempt(self._scene.editor.duplicate_shot, shot_id)
        if new_id:
            self._scene.selection.select(new_id)

    def split(self, shot_id: str) -> None:
        """Split a shot in the middle."""
        self._scene.attempt(self._scene.editor.split_shot, shot_id)

    def merge_with_next(self, shot_id: str) -> None:
        """Merge a shot with the one after it."""
        self._scene.attempt(self._scene.editor.merge_shots, shot_id)

    def delete(self, shot_id: str) -> None:
        """Delete a shot."""
        self._scene.attempt(self._scene.editor.remove_shot, shot_id)

    def edit_inline(self, shot_id: str) -> InlinePromptEditor:
        """Open a line edit over the block to type its prompt; returns it (focused)."""
        if self._inline is not None:
            self._inline.close_editor()
        editor = InlinePromptEditor(self._scene, shot_id, self.viewport())
        rect = self.block_rect(shot_id)
        height = editor.sizeHint().height()
        editor.setGeometry(
            rect.left() + 6, rect.center().y() - height // 2, max(rect.width() - 12, 220), height
        )
        editor.finished.connect(self._on_inline_finished)
        self._inline = editor
        editor.show()
        editor.setFocus(Qt.FocusReason.OtherFocusReason)
        editor.selectAll()
        return editor

    def context_menu_for(self, shot_id: str) -> QMenu:
        """A block's menu: edit, duplicate, split, merge with next, delete (refused ones greyed with why)."""
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        scene = self._scene
        editor = scene.editor

        def add(text: str, slot: object, refusal: str | None, shortcut: str = "") -> QAction:
            action = menu.addAction(text)
            action.setObjectName(text)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
                action.setShortcutVisibleInContextMenu(True)
            action.setEnabled(refusal is None)
            if refusal:
                action.setToolTip(refusal)
            action.triggered.connect(slot)
            return action

        add("Edit prompt", lambda: scene.edit_requested.emit(shot_id), None, "Return")
        if shot_id:
            menu.addSeparator()
            add(
                "Duplicate",
                lambda: self.duplicate(shot_id),
                editor.refusal("duplicate_shot", shot_id),
                "Ctrl+D",
            )
            add("Split in the middle", lambda: self.split(shot_id), editor.refusal("split_shot", shot_id))
            add(
                "Merge with next",
                lambda: self.merge_with_next(shot_id),
                editor.refusal("merge_shots", shot_id),
            )
            menu.addSeparator()
            add("Delete", lambda: self.delete(shot_id), editor.refusal("remove_shot", shot_id), "Delete")
        menu.addSeparator()
        add("Add shot after", self.add_shot_after_current, None, "Insert")
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Open the block's menu without a nested event loop (``popup``, not ``exec``)."""
        block = self._block_at(event.pos())
        if block is None:
            menu = QMenu(self)
            menu.addAction("Add shot", self.add_shot_after_current)
        else:
            self._scene.select_block(block.shot_id)
            menu = self.context_menu_for(block.shot_id)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())
        event.accept()

    def _block_at(self, pos: QPoint) -> ShotItem | None:
        item = self.itemAt(pos)
        while item is not None and not isinstance(item, ShotItem):
            item = item.parentItem()
        return item

    # ---- events ---------------------------------------------------------------------------------------
    def _on_selection_current_changed(self, shot_id: str) -> None:
        if shot_id:
            with contextlib.suppress(KeyError):  # a new block appears with the next refresh
                self.ensureVisible(self._scene.block(shot_id), 24, 0)
        self._on_scene_layout_changed()

    def _on_scene_layout_changed(self) -> None:
        board = self._scene.project.storyboard
        count = len(board.shots) if board.mode is Mode.MULTI else 1
        shots = f"{count} {'shot' if count == 1 else 'shots'}"
        description = f"{shots}, {board.total_seconds} of {MAX_TOTAL_SECONDS} s used"
        current = self._scene.selection.current_id if board.mode is Mode.MULTI else SINGLE_BLOCK
        with contextlib.suppress(KeyError):
            description += f". Current: {self._scene.block(current).accessible_text()}"
        self.setAccessibleDescription(description)

    def _on_inline_finished(self) -> None:
        self._inline = None
        self.setFocus(Qt.FocusReason.OtherFocusReason)
