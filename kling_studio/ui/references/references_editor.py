"""The project's references: start and end frame slots, and the elements editor.

Setting a start frame switches the project to its tier's image-to-video endpoint; the note under the frames
says so and tells where the aspect ratio now comes from. Each element row shows the mention to type in a
prompt (``@Element1``), its name, its frontal image and up to three reference views.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kling_studio.core.errors import UserError
from kling_studio.core.references import (
    MAX_ELEMENT_REFERENCES,
    Element,
    ProjectReferences,
    Reference,
    element_token,
)
from kling_studio.services.reference_library import ReferenceLibrary
from kling_studio.ui.references.edits import ReferencesEditor
from kling_studio.ui.references.image_slot import ImageSlot
from kling_studio.ui.references.style import apply_references_style
from kling_studio.ui.references.thumbnails import ThumbnailCache

_KLING_RATIOS = (("16:9", 16 / 9), ("9:16", 9 / 16), ("1:1", 1.0))


class ElementRow(QFrame):
    """One element: its ``@ElementN`` mention, name, frontal image and reference views."""

    def __init__(
        self,
        index: int,
        editor: ReferencesEditor,
        library: ReferenceLibrary,
        thumbnails: ThumbnailCache,
        on_error,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("elementRow")
        self.index = index
        self._editor = editor
        self._library = library
        self._thumbnails = thumbnails
        self._on_error = on_error
        self.token_label = QLabel(self)
        self.token_label.setObjectName("elementToken")
        self.token_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("Name, e.g. Hero bottle")
        self.name_edit.textEdited.connect(self._on_name_edit_text_edited)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("Remove")
        self.remove_button.setAutoRaise(True)
        self.remove_button.clicked.connect(lambda: self._guard(lambda: editor.remove_element(self.index)))
        self.status_label = QLabel(self)
        self.status_label.setProperty("role", "muted")
        self.frontal_slot = ImageSlot("Frontal", library, thumbnails, self)
        self.frontal_slot.dropped.connect(lambda ref: self._guard(lambda: editor.set_element_frontal(self.index, ref)))
        self.frontal_slot.cleared.connect(lambda: self._guard(lambda: editor.set_element_frontal(self.index, None)))
        self.frontal_slot.relink_requested.connect(lambda old, new: self._guard(lambda: editor.relink(old, new)))
        self.reference_slots: list[ImageSlot] = []
        for position in range(MAX_ELEMENT_REFERENCES):
            slot = ImageSlot(f"View {position + 1}", library, thumbnails, self)
            slot.dropped.connect(lambda ref: self._guard(lambda: editor.add_element_reference(self.index, ref)))
            slot.cleared.connect(
                lambda position=position: self._guard(lambda: editor.remove_element_reference(self.index, position))
            )
            slot.relink_requested.connect(lambda old, new: self._guard(lambda: editor.relink(old, new)))
            self.reference_slots.append(slot)

        top = QHBoxLayout()
        top.addWidget(self.token_label)
        top.addWidget(self.name_edit, 1)
        top.addWidget(self.remove_button)
        slots = QHBoxLayout()
        slots.setSpacing(6)
        slots.addWidget(self.frontal_slot)
        divider = QFrame(self)
        divider.setFrameShape(QFrame.Shape.VLine)
        slots.addWidget(divider)
        for slot in self.reference_slots:
            slots.addWidget(slot)
        slots.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addLayout(slots)
        layout.addWidget(self.status_label)

    def show_element(self, index: int, element: Element) -> None:
        """Render ``element`` as the element at ``index``."""
        self.index = index
        self.token_label.setText(element_token(index))
        if self.name_edit.text() != element.name and not self.name_edit.hasFocus():
            self.name_edit.setText(element.name)
        self.frontal_slot.set_reference(element.frontal)
        refs = element.references
        for position, slot in enumerate(self.reference_slots):
            slot.set_reference(refs[position] if position < len(refs) else None)
            slot.setVisible(position <= len(refs))  # the filled ones plus one empty slot to drop into
        if element.frontal is None:
            self.status_label.setText("Drop the frontal image (the subject facing the camera).")
        elif not refs:
            self.status_label.setText("Add 1–3 more views of the same subject.")
        else:
            self.status_label.setText(f"Type {element_token(index)} in a prompt to use it.")

    def _on_name_edit_text_edited(self, text: str) -> None:
        if text.strip():
            self._guard(lambda: self._editor.rename_element(self.index, text))

    def _guard(self, edit) -> None:
        try:
            edit()
        except UserError as exc:
            self._on_error(str(exc))


class ShotReferencesEditor(QWidget):
    """Start/end frames and elements of a project, edited through a :class:`ReferencesEditor`.

    ``edit_refused(message)`` reports an edit the rules refused (e.g. a fourth reference view).
    """

    edit_refused = Signal(str)

    def __init__(
        self,
        references: ProjectReferences,
        editor: ReferencesEditor,
        library: ReferenceLibrary,
        thumbnails: ThumbnailCache,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("shotReferencesEditor")
        self._references = references
        self._editor = editor
        self._library = library
        self._thumbnails = thumbnails

        frames_title = QLabel("Frames", self)
        frames_title.setObjectName("sectionTitle")
        self.start_slot = ImageSlot("Start frame", library, thumbnails, self)
        self.end_slot = ImageSlot("End frame", library, thumbnails, self)
        self.start_slot.dropped.connect(editor.set_start_frame)
        self.start_slot.cleared.connect(lambda: editor.set_start_frame(None))
        self.end_slot.dropped.connect(editor.set_end_frame)
        self.end_slot.cleared.connect(lambda: editor.set_end_frame(None))
        for slot in (self.start_slot, self.end_slot):
            slot.relink_requested.connect(editor.relink)
        self.mode_label = QLabel(self)
        self.mode_label.setWordWrap(True)
        self.mode_label.setObjectName("modeNote")
        self.error_label = QLabel(self)
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        elements_title = QLabel("Elements", self)
        elements_title.setObjectName("sectionTitle")
        elements_hint = QLabel("Keep a product or character consistent: mention it as @Element1… in prompts.", self)
        elements_hint.setProperty("role", "muted")
        elements_hint.setWordWrap(True)
        self.add_element_button = QPushButton("Add element", self)
        self.add_element_button.clicked.connect(self._on_add_element_button_clicked)
        self.rows: list[ElementRow] = []
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setSpacing(8)

        frames = QHBoxLayout()
        frames.addWidget(self.start_slot)
        arrow = QLabel("→", self)
        arrow.setProperty("role", "muted")
        frames.addWidget(arrow)
        frames.addWidget(self.end_slot)
        frames.addStretch(1)
        elements_header = QHBoxLayout()
        elements_header.addWidget(elements_title)
        elements_header.addStretch(1)
        elements_header.addWidget(self.add_element_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(frames_title)
        layout.addLayout(frames)
        layout.addWidget(self.mode_label)
        layout.addWidget(self.error_label)
        layout.addSpacing(6)
        layout.addLayout(elements_header)
        layout.addWidget(elements_hint)
        layout.addLayout(self._rows_layout)
        layout.addStretch(1)

        references.changed.connect(self._on_references_changed)
        self._render_frames()
        apply_references_style(self)
        self._render_elements()

    def use_reference(self, role: str, reference: Reference) -> None:
        """Put a library image to use: ``"start"``, ``"end"`` or ``"element"`` (a new element)."""
        if role == "start":
            self._editor.set_start_frame(reference)
        elif role == "end":
            self._editor.set_end_frame(reference)
        elif role == "element":
            self._editor.add_element(reference.name, reference)

    def refresh(self) -> None:
        """Render again (a library change may have brought a missing image back)."""
        self._render_elements()

    def detach(self) -> None:
        """Stop following the model (before the widget goes away)."""
        self._references.changed.disconnect(self._on_references_changed)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        self.edit_refused.emit(message)

    def _on_references_changed(self, part: str) -> None:
        self.error_label.hide()
        if part == "elements":
            self._render_elements()
        else:
            self._render_frames()

    def _on_add_element_button_clicked(self) -> None:
        self._editor.add_element(f"Element {len(self._references.elements) + 1}")

    def _render_frames(self) -> None:
        start, end = self._references.start_frame, self._references.end_frame
        self.start_slot.set_reference(start)
        self.end_slot.set_reference(end)
        if start is None:
            note = "Text to video: the aspect ratio setting applies."
            if end is not None or self._references.elements:
                note += " An end frame and elements need a start frame (fal takes them only with one)."
        else:
            item = self._library.get(start.sha256)
            if item is None:
                note = "Image to video. The start image is missing from the library: drop an image on it to relink."
            else:
                nearest = min(_KLING_RATIOS, key=lambda r: abs(r[1] - item.aspect))[0]
                note = (
                    f"Image to video: the aspect ratio comes from the start image "
                    f"({item.width}×{item.height}, closest to {nearest}); "
                    "the aspect ratio setting is ignored."
                )
        self.mode_label.setText(note)

    def _render_elements(self) -> None:
        elements = self._references.elements
        while len(self.rows) > len(elements):
            row = self.rows.pop()
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        while len(self.rows) < len(elements):
            row = ElementRow(len(self.rows), self._editor, self._library, self._thumbnails, self._show_error, self)
            self.rows.append(row)
            self._rows_layout.addWidget(row)
        for index, (row, element) in enumerate(zip(self.rows, elements, strict=True)):
            row.show_element(index, element)
        self._render_frames()
