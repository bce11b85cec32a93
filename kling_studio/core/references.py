"""Reference images a project uses: a start frame, an end frame and named elements.

A :class:`Reference` points at one image of the reference library by its content hash (sha256) and keeps the
name it had when it was picked, so a project file can say which image is missing and offer to relink it.
An :class:`Element` is a character or product the model should keep consistent: a frontal image plus one to
three more views, mentioned in prompts as ``@Element1``, ``@Element2``… in the order the elements are listed.

A start frame switches the project to the image-to-video endpoint of its tier: the clip's aspect ratio then
comes from the start image. fal takes elements and an end frame only on image-to-video, so both need a start
frame (validation says so; the model itself lets the user build things in any order).

The live model :class:`ProjectReferences` holds an immutable :class:`ReferencesState` (undo keeps copies of
it) and announces each change with the name of the part that changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from kling_studio.core.errors import UserError
from kling_studio.core.events import Event

#: fal's image limits for ``start_image_url``, ``end_image_url`` and element images (see the API notes).
#: 10 MB is read as 10,000,000 bytes: the stricter reading, so nothing we send is refused for size.
MAX_IMAGE_BYTES = 10_000_000
MIN_IMAGE_SHORT_SIDE = 300
MIN_IMAGE_ASPECT = 0.40
MAX_IMAGE_ASPECT = 2.50
IMAGE_FORMATS = ("jpeg", "png", "webp")
#: Each element: one frontal image plus 1–3 reference images.
MIN_ELEMENT_REFERENCES = 1
MAX_ELEMENT_REFERENCES = 3
#: How a prompt names an element; the number counts elements from 1 in list order.
ELEMENT_MENTION = re.compile(r"@Element(\d+)\b", re.IGNORECASE)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ReferenceKind(StrEnum):
    """What a reference is; only still images are supported (fal's video element is not offered yet)."""

    IMAGE = "image"


class ReferenceEditError(UserError):
    """An edit of the project's references that would break fal's rules; the message says which."""


@dataclass(frozen=True)
class Reference:
    """One library image, by content hash.

    Attributes:
        sha256: Lowercase hex sha256 of the image file as stored in the library.
        name: The name it had when it was picked (shown when the image is missing).
        tags: The library tags it had, for display only.
        kind: Always :attr:`ReferenceKind.IMAGE` for now.
    """

    sha256: str
    name: str = ""
    tags: tuple[str, ...] = ()
    kind: ReferenceKind = ReferenceKind.IMAGE

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, str) or not _SHA256.match(self.sha256):
            raise ValueError(f"not a sha256 hex digest: {self.sha256!r}")

    @property
    def label(self) -> str:
        """The name, or the start of the hash when it has none."""
        return self.name or self.sha256[:12]


@dataclass(frozen=True)
class Element:
    """A subject to keep consistent across the clip.

    Attributes:
        name: What the user calls it ("Hero bottle"); prompts still say ``@Element1``.
        frontal: The frontal image, or None while the user is still building the element.
        references: Other views, 1–3 for fal to accept the element.
    """

    name: str
    frontal: Reference | None = None
    references: tuple[Reference, ...] = ()

    @property
    def images(self) -> tuple[Reference, ...]:
        """Every image of the element: the frontal first, then the references."""
        return ((self.frontal,) if self.frontal else ()) + self.references

    @property
    def is_complete(self) -> bool:
        """True when fal would accept it: a frontal image and 1–3 references."""
        return self.frontal is not None and (MIN_ELEMENT_REFERENCES <= len(self.references) <= MAX_ELEMENT_REFERENCES)


@dataclass(frozen=True)
class ReferencesState:
    """The project's references as an immutable value."""

    start_frame: Reference | None = None
    end_frame: Reference | None = None
    elements: tuple[Element, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        """True when the project uses no reference image at all."""
        return self.start_frame is None and self.end_frame is None and not self.elements

    @property
    def uses_image_to_video(self) -> bool:
        """True when requests go to the image-to-video endpoint (a start frame is set)."""
        return self.start_frame is not None

    def all_references(self) -> tuple[Reference, ...]:
        """Every image used, each hash once, in request order (start, end, then elements)."""
        seen: dict[str, Reference] = {}
        for ref in (self.start_frame, self.end_frame):
            if ref is not None:
                seen.setdefault(ref.sha256, ref)
        for element in self.elements:
            for ref in element.images:
                seen.setdefault(ref.sha256, ref)
        return tuple(seen.values())


def element_token(index: int) -> str:
    """How a prompt names the element at 0-based ``index``: ``@Element1`` for index 0."""
    return f"@Element{index + 1}"


def mentioned_elements(text: str) -> list[int]:
    """The element numbers (counting from 1) a prompt mentions, in order of first mention."""
    numbers: list[int] = []
    for match in ELEMENT_MENTION.finditer(text):
        number = int(match.group(1))
        if number not in numbers:
            numbers.append(number)
    return numbers


class ProjectReferences:
    """The live references of a project.

    ``changed`` names what changed: ``"start_frame"``, ``"end_frame"`` or ``"elements"``.
    """

    def __init__(self, state: ReferencesState | None = None) -> None:
        self._state = state or ReferencesState()
        self.changed: Event[[str]] = Event("references.changed")

    @property
    def state(self) -> ReferencesState:
        """Everything, as one immutable value."""
        return self._state

    @property
    def start_frame(self) -> Reference | None:
        """The image the clip starts from, or None (text-to-video)."""
        return self._state.start_frame

    @property
    def end_frame(self) -> Reference | None:
        """The image the clip should end on, or None."""
        return self._state.end_frame

    @property
    def elements(self) -> tuple[Element, ...]:
        """The elements, in ``@Element1``… order."""
        return self._state.elements

    def restore(self, state: ReferencesState) -> None:
        """Replace everything (undo, opening a file); announces each part that differs."""
        old, self._state = self._state, state
        for part in ("start_frame", "end_frame", "elements"):
            if getattr(old, part) != getattr(state, part):
                self.changed.emit(part)

    def set_start_frame(self, reference: Reference | None) -> None:
        """Set or clear the start frame."""
        self._replace("start_frame", start_frame=reference)

    def set_end_frame(self, reference: Reference | None) -> None:
        """Set or clear the end frame."""
        self._replace("end_frame", end_frame=reference)

    def add_element(self, name: str, frontal: Reference | None = None, references: tuple[Reference, ...] = ()) -> int:
        """Append an element; returns its 0-based index (``@Element{index + 1}``).

        Raises:
            ReferenceEditError: More than three reference images.
        """
        _check_reference_count(name, len(references))
        element = Element(name.strip() or f"Element {len(self.elements) + 1}", frontal, tuple(references))
        self._replace("elements", elements=(*self.elements, element))
        return len(self.elements) - 1

    def remove_element(self, index: int) -> None:
        """Remove the element at ``index``; later elements move up one number."""
        elements = list(self.elements)
        del elements[self._index(index)]
        self._replace("elements", elements=tuple(elements))

    def move_element(self, index: int, destination: int) -> None:
        """Move an element to ``destination`` (its ``@ElementN`` number changes with it)."""
        elements = list(self.elements)
        element = elements.pop(self._index(index))
        elements.insert(max(0, min(destination, len(elements))), element)
        self._replace("elements", elements=tuple(elements))

    def rename_element(self, index: int, name: str) -> None:
        """Rename an element (its ``@ElementN`` mention does not change)."""
        self._update(index, name=name.strip() or self.elements[self._index(index)].name)

    def set_element_frontal(self, index: int, reference: Reference | None) -> None:
        """Set or clear an element's frontal image."""
        self._update(index, frontal=reference)

    def add_element_reference(self, index: int, reference: Reference) -> None:
        """Add a reference view to an element.

        Raises:
            ReferenceEditError: The element already has three reference images.
        """
        element = self.elements[self._index(index)]
        _check_reference_count(element.name, len(element.references) + 1)
        self._update(index, references=(*element.references, reference))

    def remove_element_reference(self, index: int, position: int) -> None:
        """Remove the reference view at ``position`` of an element."""
        element = self.elements[self._index(index)]
        if not 0 <= position < len(element.references):
            raise IndexError(f"element {index} has no reference image {position}")
        refs = element.references[:position] + element.references[position + 1 :]
        self._update(index, references=refs)

    def relink(self, old_sha256: str, new: Reference) -> None:
        """Point every use of the image ``old_sha256`` at ``new`` (a missing image found again)."""

        def swap(ref: Reference | None) -> Reference | None:
            return new if ref is not None and ref.sha256 == old_sha256 else ref

        state = self._state
        elements = tuple(
            replace(e, frontal=swap(e.frontal), references=tuple(swap(r) or r for r in e.references))
            for e in state.elements
        )
        self.restore(ReferencesState(swap(state.start_frame), swap(state.end_frame), elements))

    def _index(self, index: int) -> int:
        if not 0 <= index < len(self.elements):
            raise IndexError(f"there is no element {index} (the project has {len(self.elements)})")
        return index

    def _update(self, index: int, **changes: object) -> None:
        elements = list(self.elements)
        elements[self._index(index)] = replace(elements[index], **changes)  # type: ignore[arg-type]
        self._replace("elements", elements=tuple(elements))

    def _replace(self, part: str, **changes: object) -> None:
        new = replace(self._state, **changes)  # type: ignore[arg-type]
        if new == self._state:
            return
        self._state = new
        self.changed.emit(part)


def _check_reference_count(name: str, count: int) -> None:
    if count > MAX_ELEMENT_REFERENCES:
        raise ReferenceEditError(
            f"The element {name!r} has {MAX_ELEMENT_REFERENCES} reference images, the most fal takes. "
            "Remove one before adding another."
        )


# ---- image URLs in a request ---------------------------------------------------------------------------

#: Until upload, a request names each image by a placeholder URL carrying its hash; the upload step fills in
#: the real URLs (:func:`fill_reference_urls`), so the request is built and priced without the network.
PLACEHOLDER_PREFIX = "kling-studio-reference:sha256:"


class MissingUploadError(UserError):
    """A request still names an image that was not uploaded; nothing may be sent."""


def placeholder_url(sha256: str) -> str:
    """The stand-in URL for the image ``sha256`` until it is uploaded."""
    return PLACEHOLDER_PREFIX + sha256


def placeholder_hashes(arguments: object) -> list[str]:
    """Every image hash a request input still names by placeholder, each once, in order."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX):
            sha = value.removeprefix(PLACEHOLDER_PREFIX)
            if sha not in found:
                found.append(sha)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(arguments)
    return found


def fill_reference_urls(arguments: dict[str, object], urls: dict[str, str]) -> dict[str, object]:
    """A copy of a request input with every placeholder replaced by its uploaded URL.

    Args:
        arguments: The input as :func:`~kling_studio.core.request.build_request` made it.
        urls: sha256 → uploaded URL.

    Raises:
        MissingUploadError: A placeholder has no URL in ``urls``.
    """

    def fill(value: object) -> object:
        if isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX):
            sha = value.removeprefix(PLACEHOLDER_PREFIX)
            if sha not in urls:
                raise MissingUploadError(
                    f"The reference image {sha[:12]} was not uploaded, so the request cannot be sent. "
                    "Try again; if it keeps failing, check your network."
                )
            return urls[sha]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return value

    return fill(arguments)  # type: ignore[return-value]


def provenance_entries(state: ReferencesState, urls: dict[str, str]) -> list[dict[str, object]]:
    """The references a take used, for its provenance sidecar: each image once, with where it was used.

    Example entry: ``{"sha256": "ab12…", "name": "Hero bottle", "url": "https://…/ab12.jpg",
    "used_as": ["start_frame", "elements[0].reference_image_urls[1]"]}``.
    """
    entries: dict[str, dict[str, object]] = {}

    def note(ref: Reference | None, role: str) -> None:
        if ref is None:
            return
        entry = entries.setdefault(
            ref.sha256, {"sha256": ref.sha256, "name": ref.name, "url": urls.get(ref.sha256), "used_as": []}
        )
        entry["used_as"].append(role)  # type: ignore[union-attr]

    note(state.start_frame, "start_frame")
    note(state.end_frame, "end_frame")
    for index, element in enumerate(state.elements):
        note(element.frontal, f"elements[{index}].frontal_image_url")
        for position, ref in enumerate(element.references):
            note(ref, f"elements[{index}].reference_image_urls[{position}]")
    return list(entries.values())
