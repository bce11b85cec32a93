"""What fal would refuse, and what it would accept but render badly, as a list of problems for people.

Errors mirror fal's input schema for the Kling V3 text-to-video endpoints (exactly one of ``prompt`` /
``multi_prompt``, the enums, the ranges, empty prompts, the 15 s total). Warnings are guidance lints from
Kling's prompt guide: capitals in English speech, very long prompts, ``@ElementN`` naming a missing element.

Field paths name the editor field, with 0-based shot indexes (``shots[2].duration``); messages count shots
from 1, as people do ("Shot 3 has no prompt.").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from kling_studio.core.brief import SECTIONS
from kling_studio.core.limits import (
    LONG_PROMPT_CHARS,
    MAX_SHOT_SECONDS,
    MAX_SHOTS,
    MAX_TOTAL_SECONDS,
    MIN_SHOT_SECONDS,
    MIN_SHOTS,
    MIN_TOTAL_SECONDS,
    AspectRatio,
    Mode,
    ShotType,
    Tier,
)
from kling_studio.core.references import MAX_ELEMENT_REFERENCES, MIN_ELEMENT_REFERENCES

if TYPE_CHECKING:
    from kling_studio.core.project import Project


class Severity(StrEnum):
    """ERROR: fal would refuse the request. WARNING: fal would accept it, but the result may suffer."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing to fix, tied to the editor field it is about.

    Attributes:
        field_path: The field, e.g. ``prompt``, ``shots[2].duration``, ``cfg_scale``, ``brief.audio``.
        message: What is wrong, in plain words.
        hint: How to fix it.
        severity: ERROR (fal refuses) or WARNING (guidance).
        shot_index: The 0-based shot the problem is about, or None.
    """

    field_path: str
    message: str
    hint: str
    severity: Severity = Severity.ERROR
    shot_index: int | None = None

    @property
    def is_error(self) -> bool:
        """True when fal would refuse the request because of this problem."""
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return f"{self.field_path}: {self.message} (fix: {self.hint})"


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """Only the problems fal would refuse."""
    return [p for p in problems if p.severity is Severity.ERROR]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    """Only the guidance warnings."""
    return [p for p in problems if p.severity is Severity.WARNING]


def has_errors(problems: Iterable[Problem]) -> bool:
    """True when any problem would make fal refuse the request."""
    return any(p.severity is Severity.ERROR for p in problems)


# ---- the whole project -------------------------------------------------------------------------------


def validate(project: Project, *, element_count: int | None = None) -> list[Problem]:
    """Check a project against fal's schema and Kling's prompt guide.

    Args:
        project: The project to check; it is not changed.
        element_count: How many reference elements (``@Element1``…) the request will carry; None counts
            them from the project (0 while projects have no references).

    Returns:
        Errors first, in editor order, then warnings.
    """
    if element_count is None:
        element_count = project_element_count(project)
    found: list[Problem] = []
    settings = project.settings.values
    audio_on = settings.generate_audio is True
    found += _check_settings(settings)
    found += _check_references(getattr(getattr(project, "references", None), "state", None))

    board = project.storyboard.state
    if not _is_member(board.mode, Mode):
        found.append(_enum_problem("mode", board.mode, Mode, "the storyboard mode"))
    elif board.mode == Mode.MULTI:
        found += _check_shots(board.shots)
        if settings.shot_type == ShotType.INTELLIGENT.value:
            found.append(
                Problem(
                    "shot_type",
                    "The intelligent shot type plans its own cuts, so it works only with a single prompt.",
                    "Switch to a single prompt, or set the shot type to customize to keep your shots.",
                )
            )
        for index, shot in enumerate(board.shots):
            if isinstance(shot.prompt, str):
                found += lint_prompt(
                    shot.prompt,
                    element_count=element_count,
                    audio_on=audio_on,
                    field_path=f"shots[{index}].prompt",
                    shot_index=index,
                )
    else:
        found += _check_single(board.prompt, board.duration)
        if isinstance(board.prompt, str):
            found += _lint_single_prompt(project, board.prompt, element_count, audio_on)

    found.sort(key=lambda p: p.severity is not Severity.ERROR)  # stable: keeps editor order within each
    return found


def project_element_count(project: Project) -> int:
    """Reference elements the project holds (``project.references.elements`` once references exist)."""
    references = getattr(project, "references", None)
    elements = getattr(references, "elements", None)
    if elements is None:
        return 0
    try:
        return len(elements)
    except TypeError:
        return 0


def _lint_single_prompt(project: Project, prompt: str, element_count: int, audio_on: bool) -> list[Problem]:
    """Lint the single prompt; while it follows the brief, point speech lints at the brief section to edit."""
    if not project.prompt_follows_brief:
        return lint_prompt(prompt, element_count=element_count, audio_on=audio_on)
    found = _long_prompt(prompt, "prompt", None, "")  # length is judged on the assembled prompt
    text = project.brief.text
    for section in SECTIONS:
        if section.key == "audio" and not audio_on:
            continue
        path = f"brief.{section.key}"
        value = getattr(text, section.key)
        where = _where(path, None)
        if audio_on:
            found += _speech_problems(value, path, None, where)
        found += _element_problems(value, element_count, path, None, where)
    return found


# ---- errors: fal's schema ------------------------------------------------------------------------------


def _check_references(state: Any) -> list[Problem]:
    """Image-to-video's rules: end frames and elements need a start frame; each element needs a frontal
    image and 1–3 reference images."""
    if state is None:
        return []
    found: list[Problem] = []
    if state.start_frame is None and state.end_frame is not None:
        found.append(
            Problem(
                "references.end_frame",
                "An end frame needs a start frame: fal takes end frames only on image-to-video.",
                "Set a start frame, or remove the end frame.",
            )
        )
    if state.start_frame is None and state.elements:
        found.append(
            Problem(
                "references.elements",
                "Elements need a start frame: fal takes them only on image-to-video.",
                "Set a start frame, or remove the elements.",
            )
        )
    for index, element in enumerate(state.elements):
        label = f"Element {index + 1} ({element.name})" if element.name else f"Element {index + 1}"
        if element.frontal is None:
            found.append(
                Problem(
                    f"references.elements[{index}].frontal",
                    f"{label} has no frontal image.",
                    "Drop an image of the subject facing the camera on it, or remove the element.",
                )
            )
        count = len(element.references)
        if not MIN_ELEMENT_REFERENCES <= count <= MAX_ELEMENT_REFERENCES:
            have = "none" if count == 0 else str(count)
            found.append(
                Problem(
                    f"references.elements[{index}].references",
                    f"{label} has {have} reference images; fal needs {MIN_ELEMENT_REFERENCES} to "
                    f"{MAX_ELEMENT_REFERENCES}.",
                    "Add other views of the same subject." if count == 0 else "Remove the extra views.",
                )
            )
    return found


def _check_settings(settings: Any) -> list[Problem]:
    found: list[Problem] = []
    if not _is_member(settings.tier, Tier):
        found.append(_enum_problem("tier", settings.tier, Tier, "the tier"))
    if not _is_member(settings.aspect_ratio, AspectRatio):
        found.append(_enum_problem("aspect_ratio", settings.aspect_ratio, AspectRatio, "the aspect ratio"))
    if not _is_member(settings.shot_type, ShotType):
        found.append(_enum_problem("shot_type", settings.shot_type, ShotType, "the shot type"))
    if not isinstance(settings.generate_audio, bool):
        found.append(
            Problem(
                "generate_audio",
                f"Sound must be on or off, not {settings.generate_audio!r}.",
                "Turn sound on or off.",
            )
        )
    if not isinstance(settings.negative_prompt, str):
        found.append(
            Problem(
                "negative_prompt",
                "The negative prompt must be text.",
                "Write what to avoid, e.g. blur, distort, and low quality.",
            )
        )
    cfg = settings.cfg_scale
    if isinstance(cfg, bool) or not isinstance(cfg, int | float) or not math.isfinite(cfg):
        found.append(
            Problem(
                "cfg_scale",
                f"The cfg scale must be a number from 0 to 1, not {cfg!r}.",
                "Set it between 0 and 1; 0.5 is the default.",
            )
        )
    elif not 0 <= cfg <= 1:
        found.append(
            Problem(
                "cfg_scale",
                f"The cfg scale is {cfg:g}; fal accepts 0 to 1.",
                "Set it between 0 (freer) and 1 (closer to the prompt); 0.5 is the default.",
            )
        )
    return found


def _check_single(prompt: object, duration: object) -> list[Problem]:
    found: list[Problem] = []
    if not isinstance(prompt, str) or not prompt.strip():
        found.append(
            Problem(
                "prompt",
                "The prompt is empty.",
                "Write what should happen, or fill in the brief (scene and subject at least).",
            )
        )
    if not _is_whole(duration):
        found.append(
            Problem(
                "duration",
                f"The clip's length must be whole seconds, not {duration!r}.",
                f"Pick a length from {MIN_TOTAL_SECONDS} to {MAX_TOTAL_SECONDS} s.",
            )
        )
    elif not MIN_TOTAL_SECONDS <= duration <= MAX_TOTAL_SECONDS:  # type: ignore[operator]
        found.append(
            Problem(
                "duration",
                f"The clip lasts {duration} s; a clip lasts {MIN_TOTAL_SECONDS}–{MAX_TOTAL_SECONDS} s.",
                f"Pick a length from {MIN_TOTAL_SECONDS} to {MAX_TOTAL_SECONDS} s.",
            )
        )
    return found


def _check_shots(shots: Sequence[Any]) -> list[Problem]:
    found: list[Problem] = []
    if len(shots) < MIN_SHOTS:
        found.append(
            Problem(
                "shots",
                "The storyboard has no shots.",
                "Add a shot, or switch to a single prompt.",
            )
        )
        return found
    if len(shots) > MAX_SHOTS:
        found.append(
            Problem(
                "shots",
                f"The storyboard has {len(shots)} shots; fal accepts at most {MAX_SHOTS}.",
                "Merge or remove shots until there are 6 or fewer.",
            )
        )
    total = 0
    durations_ok = True
    for index, shot in enumerate(shots):
        number = index + 1
        if not isinstance(shot.prompt, str) or not shot.prompt.strip():
            found.append(
                Problem(
                    f"shots[{index}].prompt",
                    f"Shot {number} has no prompt.",
                    f"Describe what happens in shot {number}, or remove the shot.",
                    shot_index=index,
                )
            )
        duration = shot.duration
        if not _is_whole(duration):
            durations_ok = False
            found.append(
                Problem(
                    f"shots[{index}].duration",
                    f"Shot {number} lasts {duration!r}; shots last whole seconds.",
                    f"Give shot {number} a length of {MIN_SHOT_SECONDS}–{MAX_SHOT_SECONDS} whole seconds.",
                    shot_index=index,
                )
            )
            continue
        total += duration
        if not MIN_SHOT_SECONDS <= duration <= MAX_SHOT_SECONDS:
            durations_ok = False
            found.append(
                Problem(
                    f"shots[{index}].duration",
                    f"Shot {number} lasts {duration} s; shots last {MIN_SHOT_SECONDS}–{MAX_SHOT_SECONDS} s.",
                    f"Give shot {number} a length of {MIN_SHOT_SECONDS}–{MAX_SHOT_SECONDS} seconds.",
                    shot_index=index,
                )
            )
    if durations_ok and total > MAX_TOTAL_SECONDS:
        found.append(
            Problem(
                "shots",
                f"The shots add up to {total} s; a clip lasts at most {MAX_TOTAL_SECONDS} s.",
                f"Shorten or remove shots to take away {total - MAX_TOTAL_SECONDS} s.",
            )
        )
    elif durations_ok and total < MIN_TOTAL_SECONDS:
        found.append(
            Problem(
                "shots",
                f"The shots add up to {total} s; a clip lasts at least {MIN_TOTAL_SECONDS} s.",
                f"Lengthen a shot or add one to reach {MIN_TOTAL_SECONDS} s.",
            )
        )
    return found


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_member(value: object, enum: type[Enum]) -> bool:
    try:
        enum(value)
    except ValueError:
        return False
    return True


def _enum_problem(path: str, value: object, enum: type[Enum], what: str) -> Problem:
    choices = ", ".join(str(member.value) for member in enum)
    return Problem(path, f"{what.capitalize()} {value!r} is not one fal knows.", f"Choose one of {choices}.")


# ---- warnings: Kling's prompt guide -----------------------------------------------------------------

_QUOTED_SPEECH = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that introduce speech ("says: …", "she yells \"…\"") and words that mark quoted text as shown on
# screen rather than spoken ('a neon sign reads "OPEN"', 'the "EXIT" sign'). Sets, not regex
# alternations: a lookup per word keeps the live lint far under a millisecond.
_SPEECH_WORDS = _word_set(
    """say says said saying ask asks asked whisper whispers whispered shout shouts shouted yell yells
    yelled sing sings sang narrate narrates narrated narrator reply replies replied announce announces
    announced exclaim exclaims exclaimed murmur murmurs murmured mutter mutters muttered cry cries cried
    scream screams screamed call calls called voice-over voiceover vo v.o speak speaks spoke chant chants
    chanted"""
)
_TEXT_CUE_WORDS = _word_set(
    """read reads reading sign signs signage text title titled caption captions logo logos label labels
    labelled labeled banner banners headline headlines letters lettering written spell spells spelled
    spelling printed stamped engraved painted display displays screen screens poster posters billboard
    billboards neon marquee plate plates t-shirt t-shirts tshirt shirt shirts brand branded word words"""
)
_PLAIN_WORD = re.compile(r"[a-z]+(?:[.'-][a-z]+)*")
# "a barista says: good morning." — the speech runs to the end of its sentence or line.
_SPEECH_AFTER_COLON = re.compile(r"\s*([^\n\"“]+?)(?=[.!?](?:\s|$)|\n|$)")
_TEXT_CUE_WINDOW = 40  # characters around a quotation that can hold a cue
_VERB_WINDOW = 16  # characters before a colon that can hold the speech verb
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-][^\W\d_])*")
_ELEMENT = re.compile(r"@Element(\d+)\b", re.IGNORECASE)
# Words that are lowercase in an English sentence; capitalised mid-speech they mark Title Case.
_ORDINARY_WORDS = frozenset(
    {
        "a", "an", "the", "and", "or", "but", "so", "to", "of", "in", "on", "at", "by", "for", "with",
        "from", "into", "over", "up", "down", "out", "off", "is", "are", "was", "were", "be", "been", "am",
        "it", "its", "this", "that", "these", "those", "you", "your", "we", "our", "my", "me", "he", "she",
        "they", "them", "his", "her", "their", "i'm", "you're", "it's", "let's", "all", "not", "no", "yes",
        "here", "there", "now", "then", "just", "very"
    }
)
_ACRONYM_MAX_LETTERS = 4  # NASA, FBI, OK: short capitals are acronyms; HELLO is shouting
_CAPITAL_RUN_LETTERS = 6  # "SAFE NOW" is shouting; "TV OK" is not


def lint_prompt(
    text: str,
    *,
    element_count: int,
    audio_on: bool,
    field_path: str = "prompt",
    shot_index: int | None = None,
) -> list[Problem]:
    """Guidance warnings for one prompt (also used live while the user types).

    Args:
        text: The prompt or brief section.
        element_count: How many reference elements exist; ``@Element3`` with 2 elements is flagged.
        audio_on: Speech casing matters only when Kling generates sound.
        field_path: The field the warnings point at.
        shot_index: The 0-based shot, for warnings about a shot's prompt.
    """
    where = _where(field_path, shot_index)
    found = _long_prompt(text, field_path, shot_index, where)
    if audio_on:
        found += _speech_problems(text, field_path, shot_index, where)
    found += _element_problems(text, element_count, field_path, shot_index, where)
    return found


def _long_prompt(text: str, field_path: str, shot_index: int | None, where: str) -> list[Problem]:
    if len(text) <= LONG_PROMPT_CHARS:
        return []
    return [
        Problem(
            field_path,
            f"The prompt is {len(text):,} characters long{where}; very long prompts dilute what matters.",
            f"Keep it under {LONG_PROMPT_CHARS:,} characters: the subject, the action, the camera.",
            Severity.WARNING,
            shot_index,
        )
    ]


def _speech_problems(text: str, field_path: str, shot_index: int | None, where: str) -> list[Problem]:
    if '"' not in text and "“" not in text and ":" not in text:
        return []
    found = []
    for speech in _speeches(text):
        problem = _speech_casing_problem(speech, field_path, shot_index, where)
        if problem is not None:
            found.append(problem)
    return found


def _where(field_path: str, shot_index: int | None) -> str:
    if shot_index is not None:
        return f" in shot {shot_index + 1}"
    if field_path.startswith("brief."):
        section = next((s.label for s in SECTIONS if f"brief.{s.key}" == field_path), field_path)
        return f" in the brief's {section} section"
    return ""


def _speeches(text: str) -> list[str]:
    spoken = [
        match.group(1) or match.group(2)
        for match in _QUOTED_SPEECH.finditer(text)
        if not _is_written_text(text, match.start(), match.end())
    ]
    colon = text.find(":")
    while colon != -1:
        words = _PLAIN_WORD.findall(text[max(0, colon - _VERB_WINDOW) : colon].lower())
        if words and (words[-1] in _SPEECH_WORDS or (words[-1] == "out" and words[-2:-1] == ["calls"])):
            match = _SPEECH_AFTER_COLON.match(text, colon + 1)
            if match:
                spoken.append(match.group(1))
        colon = text.find(":", colon + 1)
    return [s for s in spoken if s.strip()]


def _is_written_text(text: str, start: int, end: int) -> bool:
    """True for quoted words shown in the picture (a sign that reads "OPEN"), which may be capitals."""
    before = text[max(0, start - _TEXT_CUE_WINDOW) : start]
    sentence = before[max(before.rfind(mark) for mark in '.!?"“') + 1 :]
    words = _PLAIN_WORD.findall(sentence.lower())
    for word in reversed(words):  # nearest cue wins: 'looks at the sign and says: "WATCH OUT"' is speech
        if word in _SPEECH_WORDS:
            break
        if word in _TEXT_CUE_WORDS:
            return True
    after = _PLAIN_WORD.match(text[end : end + _TEXT_CUE_WINDOW].lstrip().lower())
    return bool(after and after.group(0) in _TEXT_CUE_WORDS)


def _speech_casing_problem(
    speech: str, field_path: str, shot_index: int | None, where: str
) -> Problem | None:
    words = _WORD.findall(speech)
    if not words:
        return None
    capitals = [w for w in words if len(w) > 1 and w.isupper()]
    shouting = [w for w in capitals if len(w) > _ACRONYM_MAX_LETTERS] or _capital_runs(words)
    all_capitals = len(words) >= 2 and len(capitals) == len(words)
    if shouting or all_capitals:
        flagged = capitals if all_capitals else shouting
        fixed = _replace_words(speech, {w: w.lower() for w in flagged})
        return Problem(
            field_path,
            f"Speech{where} is written in capitals ({_quote_words(flagged)}); Kling may spell capitals "
            "out letter by letter or read them as acronyms.",
            f'Write ordinary words in lowercase, e.g. "{fixed.strip()}"; '
            "keep capitals for acronyms and names.",
            Severity.WARNING,
            shot_index,
        )
    later = words[1:]
    titled = [w for w in later if w[0].isupper() and not w.isupper()]
    if len(words) >= 3 and len(titled) == len(later):
        ordinary = [w for w in later if w.lower() in _ORDINARY_WORDS]
        if ordinary or len(words) >= 5:
            flagged = ordinary or titled
            fixed = _replace_words(speech, {w: w.lower() for w in flagged})
            return Problem(
                field_path,
                f"Speech{where} capitalises every word ({_quote_words(flagged)}); for English speech Kling "
                "expects ordinary words in lowercase.",
                f'Write it as a sentence, e.g. "{fixed.strip()}"; keep capitals for names and acronyms.',
                Severity.WARNING,
                shot_index,
            )
    return None


def _capital_runs(words: Sequence[str]) -> list[str]:
    """Capital words in runs like "SAFE NOW": two acronyms rarely stand side by side; shouting does."""
    flagged: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) > 1 and word.isupper():
            run.append(word)
            continue
        if len(run) >= 2 and sum(len(w) for w in run) >= _CAPITAL_RUN_LETTERS:
            flagged += run
        run = []
    return flagged


def _replace_words(text: str, replacements: dict[str, str]) -> str:
    return _WORD.sub(lambda m: replacements.get(m.group(0), m.group(0)), text)


def _quote_words(words: Sequence[str]) -> str:
    shown = list(dict.fromkeys(words))[:3]
    more = "…" if len(set(words)) > 3 else ""
    return ", ".join(f'"{w}"' for w in shown) + more


def _element_problems(
    text: str, element_count: int, field_path: str, shot_index: int | None, where: str
) -> list[Problem]:
    found: list[Problem] = []
    if "@" not in text:
        return found
    seen: set[int] = set()
    for match in _ELEMENT.finditer(text):
        number = int(match.group(1))
        if number in seen or 1 <= number <= element_count:
            continue
        seen.add(number)
        if element_count == 0:
            message = f"{match.group(0)}{where} names a reference element, but the project has none."
            hint = "Add the element under References, or remove the @Element mention."
        else:
            have = "1 element" if element_count == 1 else f"{element_count} elements"
            message = f"{match.group(0)}{where} names an element that does not exist; the project has {have}."
            names = "@Element1" if element_count == 1 else f"@Element1–@Element{element_count}"
            hint = f"Use {names}, or add another element under References."
        found.append(Problem(field_path, message, hint, Severity.WARNING, shot_index))
    return found
