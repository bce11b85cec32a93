"""A tiny 5x7 bitmap font (upper case, digits, common punctuation) for the simulator's title cards.

Drawn by hand for this project so the simulator needs neither Pillow nor a font file. Lower case is drawn
as upper case; characters without a glyph become a hollow box.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np

GLYPH_WIDTH = 5
GLYPH_HEIGHT = 7
ADVANCE = GLYPH_WIDTH + 1  # one blank column between characters

# Seven rows per glyph, '#' set and '.' clear, rows separated by spaces.
_GLYPHS: dict[str, str] = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    " ": "..... ..... ..... ..... ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    ";": "..... .##.. .##.. ..... .##.. ..#.. .#...",
    "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    '"': ".#.#. .#.#. .#.#. ..... ..... ..... .....",
    "-": "..... ..... ..... .###. ..... ..... .....",
    "–": "..... ..... ..... ##### ..... ..... .....",
    "·": "..... ..... ..... ..#.. ..... ..... .....",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "/": "..... ....# ...#. ..#.. .#... #.... .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "[": ".###. .#... .#... .#... .#... .#... .###.",
    "]": ".###. ...#. ...#. ...#. ...#. ...#. .###.",
    "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
    ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
    "=": "..... ..... ##### ..... ##### ..... .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
    "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
    "@": ".###. #...# #.### #.#.# #.### #.... .###.",
    "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
    "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
    "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
    "$": "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
}
_MISSING = "##### #...# #...# #...# #...# #...# #####"


@cache
def glyph(char: str) -> np.ndarray:
    """The 7x5 boolean mask of ``char`` (upper-cased; accents dropped; unknown characters as a box)."""
    key = char.upper()
    if key not in _GLYPHS:
        plain = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode("ascii")
        key = plain[:1].upper() if plain else key
    rows = _GLYPHS.get(key, _MISSING).split()
    return np.array([[c == "#" for c in row] for row in rows], dtype=bool)


def text_mask(text: str, scale: int) -> np.ndarray:
    """A boolean mask of ``text`` on one line, each font pixel drawn as a ``scale`` x ``scale`` block."""
    if not text:
        return np.zeros((GLYPH_HEIGHT * scale, 0), dtype=bool)
    spacer = np.zeros((GLYPH_HEIGHT, 1), dtype=bool)
    parts: list[np.ndarray] = []
    for char in text:
        parts += [glyph(char), spacer]
    mask = np.concatenate(parts[:-1], axis=1)
    return np.repeat(np.repeat(mask, scale, axis=0), scale, axis=1)


def wrap(text: str, width_chars: int, max_lines: int) -> list[str]:
    """Word-wrap ``text`` to lines of at most ``width_chars``; the last kept line ends in "..." if cut."""
    width_chars = max(width_chars, 4)
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > width_chars:  # a very long word is split hard
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width_chars])
            word = word[width_chars:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width_chars:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width_chars - 3].rstrip() + "..."
    return lines
