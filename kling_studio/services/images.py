"""Reference images checked against fal's limits, fixed where a fix exists, and shrunk to thumbnails.

fal takes JPEG, PNG or WebP, at most 10 MB, at least 300 px on the short side, with an aspect ratio between
0.40 and 2.50. :func:`check_image` reads the file's header first (format, size, EXIF orientation, whether the
file ends where it should), so a decompression bomb — a small file claiming a gigantic picture — is refused
before a single pixel is decoded; then it decodes the image with PyAV (FFmpeg) to prove the data is sound.

Each failed limit is an :class:`ImageProblem` whose message names the limit and the image's own value, and
which carries the :class:`Fix` that solves it when one exists (downscale and re-encode, re-encode to JPEG,
crop to the nearest allowed ratio). An image that is too small has no fix: upscaling invents detail the
model would copy, so the message asks for a larger image instead.

All functions are synchronous and CPU-bound: callers on the event loop run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

import av
import numpy as np

from kling_studio.core.errors import UserError
from kling_studio.core.references import (
    MAX_IMAGE_ASPECT,
    MAX_IMAGE_BYTES,
    MIN_IMAGE_ASPECT,
    MIN_IMAGE_SHORT_SIDE,
)

#: Pictures larger than this are refused unread: decoding them would take gigabytes of memory.
MAX_PIXELS = 80_000_000
MAX_SIDE = 16_384
#: Fixed images are re-encoded no larger than this on the long side (fal renders at most 3840 px).
FIX_LONG_SIDE = 3840
THUMBNAIL_SIDE = 256
JPEG_QUALITY = 2  # FFmpeg's mjpeg qscale: 2 is visually lossless, 31 is the worst
_FILE_LIMIT_WORDS = "10 MB"


class ImageFormat(StrEnum):
    """Image formats recognised from their first bytes."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    GIF = "gif"
    BMP = "bmp"


#: The formats fal accepts.
ACCEPTED_FORMATS = frozenset({ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.WEBP})
CONTENT_TYPES = {ImageFormat.JPEG: "image/jpeg", ImageFormat.PNG: "image/png", ImageFormat.WEBP: "image/webp"}
EXTENSIONS = {ImageFormat.JPEG: ".jpg", ImageFormat.PNG: ".png", ImageFormat.WEBP: ".webp"}


class FixKind(StrEnum):
    """What a fix does to the image."""

    REENCODE_JPEG = "reencode-jpeg"
    DOWNSCALE = "downscale"
    CROP_TO_RATIO = "crop-to-ratio"


@dataclass(frozen=True)
class Fix:
    """A change that makes the image acceptable.

    Attributes:
        kind: What the fix does.
        label: The words for the button, e.g. "Crop to 2.50:1".
        ratio: For crops, the width / height ratio to crop to.
    """

    kind: FixKind
    label: str
    ratio: float | None = None


class ProblemKind(StrEnum):
    """Why an image is refused."""

    NOT_AN_IMAGE = "not-an-image"
    UNSUPPORTED_FORMAT = "unsupported-format"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    HUGE_DIMENSIONS = "huge-dimensions"
    TOO_SMALL = "too-small"
    FILE_TOO_LARGE = "file-too-large"
    ASPECT_RATIO = "aspect-ratio"


@dataclass(frozen=True)
class ImageProblem:
    """One limit the image fails, in words for people, with the fix when there is one."""

    kind: ProblemKind
    message: str
    fix: Fix | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ImageHeader:
    """What the file's header says, before any pixel is decoded.

    Attributes:
        format: The format its first bytes identify.
        width: Stored width in pixels.
        height: Stored height in pixels.
        orientation: EXIF orientation 1–8 (1 = as stored); JPEG only, 1 otherwise.
        complete: False when the file stops before its end marker (a cut-off download).
    """

    format: ImageFormat
    width: int
    height: int
    orientation: int = 1
    complete: bool = True

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown, after the EXIF orientation turns the picture."""
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


@dataclass(frozen=True)
class ImageCheck:
    """The verdict on one image file.

    Attributes:
        name: The file name, for messages.
        size_bytes: File size.
        header: The header, or None when the file is not a readable image at all.
        problems: Every limit it fails; empty means fal accepts it.
    """

    name: str
    size_bytes: int
    header: ImageHeader | None
    problems: tuple[ImageProblem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when fal accepts the image as it is."""
        return not self.problems

    @property
    def fixes(self) -> tuple[Fix, ...]:
        """The fixes on offer (none when any problem has no fix: a fix must make the image acceptable)."""
        if any(p.fix is None for p in self.problems):
            return ()
        found: list[Fix] = []
        for problem in self.problems:
            if problem.fix is not None and problem.fix not in found:
                found.append(problem.fix)
        return tuple(found)

    @property
    def fixable(self) -> bool:
        """True when :func:`fix_image` can make the image acceptable."""
        return bool(self.problems) and bool(self.fixes)

    @property
    def message(self) -> str:
        """All problems as one message naming the file."""
        if self.ok:
            return f"{self.name} is a valid reference image."
        return f"{self.name} cannot be used. " + " ".join(p.message for p in self.problems)


class ImageRejectedError(UserError):
    """An image fal would refuse; ``check`` holds the reasons and the fixes on offer."""

    def __init__(self, check: ImageCheck) -> None:
        self.check = check
        super().__init__(check.message)


# ---- checking ---------------------------------------------------------------------------------------


def check_image(data: bytes, name: str = "The image") -> ImageCheck:
    """Check an image file against fal's limits without ever raising for bad input.

    Args:
        data: The file's bytes.
        name: The file name, used in messages.
    """
    size = len(data)
    try:
        header = read_header(data)
    except _Unreadable as exc:
        return ImageCheck(name, size, None, (ImageProblem(exc.kind, exc.reason),))
    problems: list[ImageProblem] = []
    width, height = header.display_size
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        message = (
            f"It claims to be {width}×{height} pixels, too large to open safely "
            f"(the limit is {MAX_SIDE} px a side and {MAX_PIXELS // 1_000_000} megapixels). "
            "Export a smaller copy in an image editor."
        )
        return ImageCheck(name, size, header, (ImageProblem(ProblemKind.HUGE_DIMENSIONS, message),))
    if not header.complete:
        message = (
            "The file is cut off before its end (an incomplete download or copy). Get the whole file again."
        )
        return ImageCheck(name, size, header, (ImageProblem(ProblemKind.TRUNCATED, message),))
    try:
        decode_image(data, header)
    except _Unreadable as exc:
        return ImageCheck(name, size, header, (ImageProblem(exc.kind, exc.reason),))

    if header.format not in ACCEPTED_FORMATS:
        problems.append(
            ImageProblem(
                ProblemKind.UNSUPPORTED_FORMAT,
                f"It is a {header.format.value.upper()} file; fal takes JPEG, PNG or WebP.",
                Fix(FixKind.REENCODE_JPEG, "Convert to JPEG"),
            )
        )
    short = min(width, height)
    if short < MIN_IMAGE_SHORT_SIDE:
        problems.append(
            ImageProblem(
                ProblemKind.TOO_SMALL,
                f"It is too small: {width}×{height} px, and fal needs at least {MIN_IMAGE_SHORT_SIDE} px on "
                "the short side. Pick a larger image (enlarging this one would only blur it).",
            )
        )
    ratio = width / height
    if not MIN_IMAGE_ASPECT <= ratio <= MAX_IMAGE_ASPECT:
        target = MIN_IMAGE_ASPECT if ratio < MIN_IMAGE_ASPECT else MAX_IMAGE_ASPECT
        shape = "tall and narrow" if ratio < MIN_IMAGE_ASPECT else "wide and short"
        problems.append(
            ImageProblem(
                ProblemKind.ASPECT_RATIO,
                f"It is too {shape}: its aspect ratio is {ratio:.2f}, and fal takes "
                f"{MIN_IMAGE_ASPECT:.2f} to {MAX_IMAGE_ASPECT:.2f}.",
                Fix(FixKind.CROP_TO_RATIO, f"Crop to {_ratio_words(target)}", ratio=target),
            )
        )
    if size > MAX_IMAGE_BYTES:
        problems.append(
            ImageProblem(
                ProblemKind.FILE_TOO_LARGE,
                f"The file is {size / 1_000_000:.1f} MB, and fal takes at most {_FILE_LIMIT_WORDS}.",
                Fix(FixKind.DOWNSCALE, "Shrink and save as JPEG"),
            )
        )
    return ImageCheck(name, size, header, tuple(problems))


def require_valid(data: bytes, name: str = "The image") -> ImageCheck:
    """Check an image and raise when fal would refuse it.

    Raises:
        ImageRejectedError: With every reason and the fixes on offer.
    """
    check = check_image(data, name)
    if not check.ok:
        raise ImageRejectedError(check)
    return check


def fix_image(data: bytes, check: ImageCheck) -> bytes:
    """Apply every fix ``check`` offers and return a JPEG fal accepts.

    Raises:
        ImageRejectedError: The image has a problem no fix solves (too small, corrupt…), or the fixed image
            still fails (never expected; the check is repeated to be sure).
    """
    if not check.fixable or check.header is None:
        raise ImageRejectedError(check)
    pixels = decode_image(data, check.header)
    for fix in check.fixes:
        if fix.kind is FixKind.CROP_TO_RATIO and fix.ratio is not None:
            pixels = crop_to_ratio(pixels, fix.ratio)
    fixed = encode_jpeg_within(pixels, MAX_IMAGE_BYTES)
    result = check_image(fixed, check.name)
    if not result.ok:
        raise ImageRejectedError(result)
    return fixed


def normalized(data: bytes, check: ImageCheck) -> bytes:
    """The bytes to keep for an accepted image: unchanged, unless EXIF turns it.

    An EXIF-rotated photo is stored with its pixels turned upright, so what the library shows is exactly what
    fal receives (fal may not read EXIF).
    """
    if check.header is None or check.header.orientation == 1:
        return data
    return encode_jpeg_within(decode_image(data, check.header), MAX_IMAGE_BYTES)


# ---- pixels -------------------------------------------------------------------------------------------


def decode_image(data: bytes, header: ImageHeader | None = None) -> np.ndarray:
    """Decode to an upright ``(height, width, 3)`` RGB array (EXIF orientation applied).

    Raises:
        ImageRejectedError: The data is not a sound image.
    """
    header = header or read_header(data)
    if header.width * header.height > MAX_PIXELS or max(header.width, header.height) > MAX_SIDE:
        raise _Unreadable(ProblemKind.HUGE_DIMENSIONS, "The picture is too large to open safely.")
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.video[0]
            frame = next(container.decode(stream))
            pixels = frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, StopIteration, IndexError, ValueError, OSError) as exc:
        raise _Unreadable(
            ProblemKind.CORRUPT, "The file is damaged: its picture data cannot be decoded."
        ) from exc
    if pixels.shape[:2] != (header.height, header.width):
        raise _Unreadable(ProblemKind.CORRUPT, "The file is damaged: its picture does not match its header.")
    return apply_orientation(pixels, header.orientation)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright according to an EXIF orientation value (1–8)."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(pixels, k=-1)
    if orientation == 7:
        return np.rot90(pixels, k=1)[::-1]
    if orientation == 8:
        return np.rot90(pixels, k=1)
    return pixels


def crop_to_ratio(pixels: np.ndarray, ratio: float) -> np.ndarray:
    """Centre-crop to ``ratio`` (width / height), cutting only the long side."""
    height, width = pixels.shape[:2]
    if width / height > ratio:
        new_width = max(1, int(height * ratio))
        left = (width - new_width) // 2
        return pixels[:, left : left + new_width]
    new_height = max(1, round(width / ratio))
    new_height = min(height, new_height)
    top = (height - new_height) // 2
    return pixels[top : top + new_height]


def resize(pixels: np.ndarray, long_side: int) -> np.ndarray:
    """Scale down so the long side is at most ``long_side`` (never up)."""
    height, width = pixels.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1:
        return pixels
    new_w, new_h = max(2, round(width * scale)), max(2, round(height * scale))
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
    return frame.reformat(width=new_w, height=new_h, interpolation="AREA").to_ndarray(format="rgb24")


def encode_jpeg(pixels: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """Encode RGB pixels as a baseline JPEG (``quality`` is FFmpeg's qscale, 2 best … 31 worst)."""
    height, width = pixels.shape[:2]
    # yuvj420p needs even sides: drop one edge column/row rather than pad with invented pixels.
    pixels = np.ascontiguousarray(pixels[: height - height % 2 or None, : width - width % 2 or None])
    height, width = pixels.shape[:2]
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    codec.qmin = codec.qmax = quality
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuvj420p")
    return b"".join(bytes(p) for p in codec.encode(frame)) + b"".join(bytes(p) for p in codec.encode(None))


def encode_jpeg_within(pixels: np.ndarray, max_bytes: int) -> bytes:
    """A JPEG no larger than ``max_bytes``: first at most 3840 px long, then lower quality, then smaller."""
    pixels = resize(pixels, FIX_LONG_SIDE)
    while True:
        for quality in (JPEG_QUALITY, 4, 7):
            data = encode_jpeg(pixels, quality)
            if len(data) <= max_bytes:
                return data
        pixels = resize(pixels, int(max(pixels.shape[:2]) * 0.75))


def make_thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG thumbnail at most ``side`` px on the long side, upright.

    Raises:
        ImageRejectedError: The image cannot be decoded.
    """
    return encode_jpeg(resize(decode_image(data), side), quality=4)


# ---- headers ------------------------------------------------------------------------------------------


class _Unreadable(ImageRejectedError):
    """Raised inside this module when a file is not a readable image; turned into an ImageProblem."""

    def __init__(self, kind: ProblemKind, reason: str) -> None:
        self.kind = kind
        self.reason = reason
        check = ImageCheck("The image", 0, None, (ImageProblem(kind, reason),))
        super().__init__(check)


def read_header(data: bytes) -> ImageHeader:
    """Format, stored size, EXIF orientation and completeness, from the header alone.

    Raises:
        ImageRejectedError: The bytes are not an image in a format Kling Studio reads.
    """
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return _png_header(data)
        if data.startswith(b"\xff\xd8\xff"):
            return _jpeg_header(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_header(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return ImageHeader(ImageFormat.GIF, width, height)
        if data[:2] == b"BM" and len(data) >= 26:
            width, height = struct.unpack("<ii", data[18:26])
            return ImageHeader(ImageFormat.BMP, width, abs(height))
    except (struct.error, IndexError) as exc:
        raise _Unreadable(ProblemKind.TRUNCATED, "The file is cut off inside its header.") from exc
    if not data:
        raise _Unreadable(ProblemKind.NOT_AN_IMAGE, "The file is empty.")
    raise _Unreadable(
        ProblemKind.NOT_AN_IMAGE,
        "The file is not an image Kling Studio can read (use a JPEG, PNG or WebP image).",
    )


def _png_header(data: bytes) -> ImageHeader:
    if data[12:16] != b"IHDR":
        raise _Unreadable(ProblemKind.CORRUPT, "The file is damaged: its PNG header is missing.")
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        raise _Unreadable(ProblemKind.CORRUPT, "The file is damaged: its PNG header gives it no pixels.")
    return ImageHeader(ImageFormat.PNG, width, height, complete=data.rfind(b"IEND") > 33)


_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg_header(data: bytes) -> ImageHeader:
    pos, size, orientation = 2, None, 1
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise _Unreadable(ProblemKind.CORRUPT, "The file is damaged: its JPEG markers are broken.")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", segment[1:5])
            size = (width, height)
        elif marker == 0xE1 and segment.startswith(b"Exif\0\0"):
            orientation = _exif_orientation(segment[6:])
        elif marker == 0xDA:  # start of scan: the header is over
            if size is None:
                break
            complete = data.find(b"\xff\xd9", pos + 2 + length) != -1
            if size[0] == 0 or size[1] == 0:
                raise _Unreadable(
                    ProblemKind.CORRUPT, "The file is damaged: its JPEG header gives it no pixels."
                )
            return ImageHeader(ImageFormat.JPEG, size[0], size[1], orientation, complete)
        pos += 2 + length
    if size is None:
        raise _Unreadable(ProblemKind.TRUNCATED, "The file is cut off inside its header.")
    return ImageHeader(ImageFormat.JPEG, size[0], size[1], orientation, complete=False)


def _exif_orientation(tiff: bytes) -> int:
    """The orientation tag (0x0112) of IFD0, or 1 when absent or unreadable."""
    try:
        endian = {b"II": "<", b"MM": ">"}[tiff[:2]]
        (ifd,) = struct.unpack(endian + "I", tiff[4:8])
        (count,) = struct.unpack(endian + "H", tiff[ifd : ifd + 2])
        for i in range(count):
            entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            tag, _type, _n = struct.unpack(endian + "HHI", entry[:8])
            if tag == 0x0112:
                (value,) = struct.unpack(endian + "H", entry[8:10])
                return value if 1 <= value <= 8 else 1
    except (KeyError, struct.error):
        pass
    return 1


def _webp_header(data: bytes) -> ImageHeader:
    (riff_size,) = struct.unpack("<I", data[4:8])
    complete = len(data) >= riff_size + 8
    chunk = data[12:16]
    body = data[20:]
    if chunk == b"VP8 ":
        if body[3:6] != b"\x9d\x01\x2a":
            raise _Unreadable(ProblemKind.CORRUPT, "The file is damaged: its WebP header is broken.")
        width, height = struct.unpack("<HH", body[6:10])
        width, height = width & 0x3FFF, height & 0x3FFF
    elif chunk == b"VP8L":
        if body[0] != 0x2F:
            raise _Unreadable(ProblemKind.CORRUPT, "The file is damaged: its WebP header is broken.")
        bits = int.from_bytes(body[1:5], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X":
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
    else:
        raise _Unreadable(ProblemKind.CORRUPT, "The file is damaged: its WebP header is broken.")
    return ImageHeader(ImageFormat.WEBP, width, height, complete=complete)


def _ratio_words(ratio: float) -> str:
    return f"{ratio:.2f}:1" if ratio >= 1 else f"1:{1 / ratio:.2f}"
