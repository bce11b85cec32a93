"""The fal key: kept in the system keyring, read from ``FAL_KEY`` when set, never written to a plain file.

Where a key comes from, in order: the ``FAL_KEY`` environment variable (power users, CI), a key kept for
this session only (when no keyring works), the system keyring (service ``kling-studio``, user ``fal``). The
key never appears in a repr, a log line or an error message; :attr:`KeyInfo.masked` shows its last 4
characters only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import fail
from keyring.compat import properties

from kling_studio.core.errors import UserError

SERVICE = "kling-studio"
USERNAME = "fal"
ENV_VAR = "FAL_KEY"
KEYS_PAGE = "fal.ai/dashboard/keys"

_MASK = "••••••••"
_MAX_KEY_LENGTH = 512

log = logging.getLogger(__name__)


class KeySource(StrEnum):
    """Where the key in use comes from."""

    ENVIRONMENT = "environment"
    KEYRING = "keyring"
    SESSION = "session"


class InvalidKeyError(UserError):
    """The text is not shaped like a fal key (``KEY_ID:KEY_SECRET``). The message never contains the key."""


class KeyringUnavailableError(UserError):
    """No usable system keyring: the key could not be stored (it may be kept for this session only)."""


@dataclass(frozen=True)
class KeyInfo:
    """A fal key and where it came from. ``repr`` and ``str`` show only the masked form."""

    key: str = field(repr=False)
    source: KeySource

    @property
    def masked(self) -> str:
        """``"••••••••3f9a (keyring)"``: the last 4 characters and the source."""
        return f"{mask(self.key)} ({self.source.value})"

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"KeyInfo(key={mask(self.key)!r}, source={self.source.value!r})"


def mask(key: str) -> str:
    """Bullets and the last 4 characters (all bullets for a key of 8 characters or fewer)."""
    return _MASK + (key[-4:] if len(key) > 8 else "")


def validate_key(text: str, *, where: str = "The key") -> str:
    """The key without surrounding whitespace, or :class:`InvalidKeyError` saying what is wrong with it.

    A fal key is ``KEY_ID:KEY_SECRET``: two non-empty parts joined by a colon, no spaces.
    """
    key = text.strip()
    fix = f"Copy the whole key from {KEYS_PAGE}; it looks like KEY_ID:KEY_SECRET."
    if not key:
        raise InvalidKeyError(f"{where} is empty. {fix}")
    if len(key) > _MAX_KEY_LENGTH:
        raise InvalidKeyError(f"{where} is {len(key)} characters long, too long for a fal key. {fix}")
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise InvalidKeyError(f"{where} contains spaces or invisible characters. {fix}")
    key_id, colon, secret = key.partition(":")
    if not colon:
        raise InvalidKeyError(f"{where} has no colon between the key id and the secret. {fix}")
    if not key_id or not secret:
        raise InvalidKeyError(
            f"{where} is missing the part {'before' if not key_id else 'after'} the colon. {fix}"
        )
    return key


def describe_backend_problem(
    backend: keyring.backend.KeyringBackend, exc: BaseException | None = None
) -> str:
    """Plain words for why the keyring cannot keep the key, naming the backend and the fix."""
    if isinstance(exc, keyring.errors.KeyringLocked):
        return f"The system keyring ({backend.name}) is locked. Unlock it (log in to the desktop) and retry."
    if isinstance(backend, fail.Keyring) or isinstance(exc, keyring.errors.NoKeyringError):
        return (
            "No system keyring is available (keyring found no backend). On Linux, install and start a Secret "
            "Service such as GNOME Keyring or KWallet; on macOS and Windows the system keychain is used."
        )
    detail = f": {type(exc).__name__}" if exc is not None else ""
    return f"The system keyring ({backend.name}) did not work{detail}."


class KeyStore:
    """Get, set and delete the fal key.

    Args:
        backend: the keyring backend; by default the one keyring picks for this system. Tests pass
            :class:`MemoryKeyring` or a Secret Service in a throw-away D-Bus session.
        environ: the environment to read ``FAL_KEY`` from (default ``os.environ``).
        service: the keyring service name.
    """

    def __init__(
        self,
        backend: keyring.backend.KeyringBackend | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        service: str = SERVICE,
    ) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()
        self._environ = environ if environ is not None else os.environ
        self._service = service
        self._session_key: str | None = None
        self._backend_problem: str | None = None

    def __repr__(self) -> str:
        return f"KeyStore(backend={self._backend.name!r}, service={self._service!r})"

    @property
    def backend_name(self) -> str:
        """The keyring backend's display name (e.g. ``"SecretService Keyring"``)."""
        return self._backend.name

    @property
    def backend_problem(self) -> str | None:
        """Why the keyring failed the last time it was used, in plain words; ``None`` when it worked."""
        return self._backend_problem

    def get(self) -> KeyInfo | None:
        """The key to use, or ``None`` when there is none.

        Raises:
            InvalidKeyError: ``FAL_KEY`` is set but is not shaped like a fal key.
        """
        env_key = self._environ.get(ENV_VAR)
        if env_key is not None and env_key.strip():
            return KeyInfo(
                validate_key(env_key, where=f"The {ENV_VAR} environment variable"), KeySource.ENVIRONMENT
            )
        if self._session_key is not None:
            return KeyInfo(self._session_key, KeySource.SESSION)
        try:
            stored = self._backend.get_password(self._service, USERNAME)
        except Exception as exc:  # backends raise more than KeyringError (D-Bus errors, OSError…)
            self._note_problem(exc)
            return None
        self._backend_problem = None
        return KeyInfo(stored, KeySource.KEYRING) if stored else None

    def set(self, key: str) -> KeyInfo:
        """Validate and store the key in the keyring; with no working keyring, keep it for this session only.

        Returns:
            Where the key now lives: ``KEYRING``, or ``SESSION`` (then :attr:`backend_problem` says why).

        Raises:
            InvalidKeyError: the text is not shaped like a fal key.
        """
        checked = validate_key(key)
        try:
            self._backend.set_password(self._service, USERNAME, checked)
        except Exception as exc:  # backends raise more than KeyringError (D-Bus errors, OSError…)
            self._note_problem(exc)
            self._session_key = checked
            return KeyInfo(checked, KeySource.SESSION)
        self._backend_problem = None
        self._session_key = None
        return KeyInfo(checked, KeySource.KEYRING)

    def delete(self) -> bool:
        """Forget the stored key (keyring and session). Returns True if there was one.

        ``FAL_KEY`` in the environment is not touched (the caller should say it is still in use).

        Raises:
            KeyringUnavailableError: the keyring could not be reached to delete it.
        """
        had_session = self._session_key is not None
        self._session_key = None
        try:
            self._backend.delete_password(self._service, USERNAME)
        except keyring.errors.PasswordDeleteError:
            return had_session
        except Exception as exc:  # backends raise more than KeyringError (D-Bus errors, OSError…)
            self._note_problem(exc)
            if had_session:
                return True
            raise KeyringUnavailableError(self._backend_problem or "The keyring failed.") from None
        self._backend_problem = None
        return True

    def status(self) -> str:
        """One line for people: the masked key and its source, or why there is none."""
        try:
            info = self.get()
        except InvalidKeyError as exc:
            return str(exc)
        if info is not None:
            text = info.masked
            if info.source is KeySource.SESSION:
                text += " — kept for this session only"
            return text
        if self._backend_problem:
            return f"No fal key. {self._backend_problem}"
        return (
            f"No fal key set (keyring: {self._backend.name}). Without one, jobs go to the built-in simulator."
        )

    def _note_problem(self, exc: BaseException) -> None:
        self._backend_problem = describe_backend_problem(self._backend, exc)
        log.info("keyring unavailable: %s", self._backend_problem)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that keeps passwords in this object only; for tests and embedding.

    Its ``priority`` raises, so keyring never picks it on its own: it is used only when passed explicitly.
    """

    @properties.classproperty
    def priority(cls) -> float:
        """Never viable for automatic selection."""
        raise RuntimeError("MemoryKeyring is only used when passed explicitly")

    def __init__(self) -> None:
        super().__init__()
        self._passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        """The stored password, or None."""
        return self._passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store a password."""
        self._passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        """Delete a password; raises ``PasswordDeleteError`` when there is none."""
        try:
            del self._passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None
