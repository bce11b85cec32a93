"""The fal key: stored in a keyring, shown only as its last 4 characters, never in a file, a repr or a log."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path

import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail
from keyring.testing.backend import BackendBasicTests

from kling_studio.services.secrets import (
    InvalidKeyError,
    KeyInfo,
    KeyringUnavailableError,
    KeySource,
    KeyStore,
    MemoryKeyring,
    validate_key,
)

PLANTED = "plantedid:PLANTED-SECRET-0001"


class TestMemoryKeyringIsARealBackend(BackendBasicTests):
    """keyring's own conformance tests, run against the in-memory backend the other tests use."""

    def init_keyring(self) -> keyring.backend.KeyringBackend:
        return MemoryKeyring()


def test_keyring_never_picks_the_memory_backend_by_itself() -> None:
    assert MemoryKeyring not in set(keyring.backend.KeyringBackend.get_viable_backends())


# --- KeyStore over a working keyring ---


def test_set_get_delete_round_trip() -> None:
    backend = MemoryKeyring()
    store = KeyStore(backend, environ={})
    assert store.get() is None
    info = store.set(f"  {PLANTED}\n")  # pasted with a stray newline
    assert info == KeyInfo(PLANTED, KeySource.KEYRING)
    assert backend.get_password("kling-studio", "fal") == PLANTED
    assert KeyStore(backend, environ={}).get() == KeyInfo(PLANTED, KeySource.KEYRING)  # a new session sees it
    assert store.delete() is True
    assert store.get() is None
    assert store.delete() is False


def test_status_shows_only_the_last_four_characters_and_the_source() -> None:
    store = KeyStore(MemoryKeyring(), environ={})
    assert "No fal key set" in store.status()
    store.set(PLANTED)
    assert store.status() == "••••••••0001 (keyring)"
    assert "PLANTED" not in store.status()


def test_the_key_is_never_in_a_repr_or_str() -> None:
    store = KeyStore(MemoryKeyring(), environ={})
    info = store.set(PLANTED)
    for text in (repr(info), str(info), repr(store), f"{info}", repr([info])):
        assert "PLANTED-SECRET" not in text, text
    assert repr(info) == "KeyInfo(key='••••••••0001', source='keyring')"


def test_fal_key_in_the_environment_wins() -> None:
    backend = MemoryKeyring()
    KeyStore(backend, environ={}).set("storedid:stored-secret-aaaa")
    store = KeyStore(backend, environ={"FAL_KEY": PLANTED})
    assert store.get() == KeyInfo(PLANTED, KeySource.ENVIRONMENT)
    assert store.status() == "••••••••0001 (environment)"


def test_a_malformed_fal_key_in_the_environment_is_named_not_shown() -> None:
    store = KeyStore(MemoryKeyring(), environ={"FAL_KEY": "PLANTED-SECRET-without-colon"})
    with pytest.raises(InvalidKeyError, match="FAL_KEY environment variable has no colon") as caught:
        store.get()
    assert "PLANTED" not in str(caught.value)
    assert "FAL_KEY" in store.status() and "PLANTED" not in store.status()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "is empty"),
        ("   \n", "is empty"),
        ("PLANTED-SECRET-nocolon", "no colon"),
        (":PLANTED-SECRET", "before the colon"),
        ("plantedid:", "after the colon"),
        ("plantedid: PLANTED SECRET", "spaces"),
        ("plantedid:PLANTED\x00SECRET", "invisible"),
        ("x:" + "PLANTED" * 100, "too long"),
    ],
)
def test_a_badly_shaped_key_is_refused_with_a_fix_and_without_echoing_it(text: str, complaint: str) -> None:
    with pytest.raises(InvalidKeyError) as caught:
        validate_key(text)
    message = str(caught.value)
    assert complaint in message
    assert "KEY_ID:KEY_SECRET" in message and "fal.ai/dashboard/keys" in message
    assert "PLANTED" not in message


def test_set_refuses_a_bad_key_and_keeps_the_old_one() -> None:
    store = KeyStore(MemoryKeyring(), environ={})
    store.set(PLANTED)
    with pytest.raises(InvalidKeyError):
        store.set("oops")
    assert store.get() == KeyInfo(PLANTED, KeySource.KEYRING)


# --- no usable keyring ---


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class BrokenBusKeyring(MemoryKeyring):
    """A backend failing with a non-keyring error, as D-Bus backends sometimes do."""

    def get_password(self, service: str, username: str) -> str | None:
        raise ConnectionRefusedError("org.freedesktop.DBus.Error.NoReply")

    set_password = get_password  # type: ignore[assignment]
    delete_password = get_password  # type: ignore[assignment]


def test_without_a_keyring_the_key_is_kept_for_the_session_only(tmp_path: Path) -> None:
    store = KeyStore(fail.Keyring(), environ={})
    info = store.set(PLANTED)
    assert info.source is KeySource.SESSION
    assert store.backend_problem is not None
    assert "No system keyring is available" in store.backend_problem
    assert "GNOME Keyring" in store.backend_problem  # names what to install
    assert store.get() == KeyInfo(PLANTED, KeySource.SESSION)
    assert store.status() == "••••••••0001 (session) — kept for this session only"
    assert KeyStore(fail.Keyring(), environ={}).get() is None  # gone with the session
    # And never written to a file: nothing under the test's home, data or config folders holds it.
    for folder in {tmp_path, Path(os.environ["KLING_STUDIO_DATA_DIR"]).parent, Path.home()}:
        if folder == Path.home() and not str(folder).startswith(tempfile.gettempdir()):
            continue  # a developer's real home: not ours to scan
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_size < 10_000_000:
                assert b"PLANTED-SECRET" not in path.read_bytes(), path


def test_a_locked_keyring_is_named_as_locked() -> None:
    store = KeyStore(LockedKeyring(), environ={})
    assert store.get() is None
    assert store.backend_problem is not None and "locked" in store.backend_problem
    assert store.set(PLANTED).source is KeySource.SESSION
    assert "locked" in (store.backend_problem or "")


def test_a_backend_failing_in_its_own_way_falls_back_to_the_session() -> None:
    store = KeyStore(BrokenBusKeyring(), environ={})
    assert store.get() is None
    assert store.set(PLANTED).source is KeySource.SESSION
    assert store.delete() is True  # the session key is forgotten
    with pytest.raises(KeyringUnavailableError, match="did not work"):
        store.delete()  # nothing in the session, and the keyring cannot be reached


def test_the_key_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for backend in (MemoryKeyring(), fail.Keyring(), LockedKeyring(), BrokenBusKeyring()):
        store = KeyStore(backend, environ={})
        store.set(PLANTED)
        store.get()
        store.status()
    assert caplog.records  # the failures were logged…
    assert all("PLANTED" not in record.getMessage() for record in caplog.records)  # …without the key


# --- a real Secret Service (gnome-keyring in a throw-away D-Bus session) ---


@pytest.fixture
def secret_service() -> keyring.backend.KeyringBackend:
    """The Secret Service backend, only inside a throw-away session (never the developer's own keyring)."""
    home = os.environ.get("HOME", "")
    throwaway = home and (
        os.environ.get("KLING_STUDIO_TEST_HOME") == home
        or Path(home).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    )
    if not throwaway:
        pytest.skip("real keyring tests run only with a temporary HOME (tools/test.sh, or dbus-run-session)")
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip("no D-Bus session bus: run under dbus-run-session with gnome-keyring-daemon")
    from keyring.backends import SecretService

    try:
        backend = SecretService.Keyring()
        backend.get_password(f"kling-studio-probe-{uuid.uuid4()}", "fal")
    except Exception as exc:  # not reachable, not unlocked, no secretstorage…
        pytest.skip(f"no reachable, unlocked Secret Service: {type(exc).__name__}: {exc}")
    return backend


@pytest.mark.keyring
def test_secret_service_stores_and_deletes_the_key(secret_service: keyring.backend.KeyringBackend) -> None:
    service = f"kling-studio-test-{uuid.uuid4()}"
    store = KeyStore(secret_service, environ={}, service=service)
    assert store.set(PLANTED).source is KeySource.KEYRING
    assert KeyStore(secret_service, environ={}, service=service).get() == KeyInfo(PLANTED, KeySource.KEYRING)
    assert store.status() == "••••••••0001 (keyring)"
    assert store.delete() is True
    assert KeyStore(secret_service, environ={}, service=service).get() is None


class TestSecretServiceConformance(BackendBasicTests):
    """keyring's own conformance tests against the throw-away Secret Service (marks and skips as above)."""

    pytestmark = pytest.mark.keyring

    @pytest.fixture(autouse=True)
    def _init_properties(
        self, request: pytest.FixtureRequest, secret_service: keyring.backend.KeyringBackend
    ):
        self._backend = secret_service  # replaces the base fixture, so the skip happens before any use
        self.keyring = self.init_keyring()
        self.credentials_created: set[tuple[str, str]] = set()
        request.addfinalizer(self.cleanup)

    def init_keyring(self) -> keyring.backend.KeyringBackend:
        return self._backend
