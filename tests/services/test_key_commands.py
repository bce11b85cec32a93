"""``kling-studio key``: set from stdin or a hidden prompt (never argv), status shows 4 characters, delete."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from keyring.backends import fail

from kling_studio.commands.key_commands import register
from kling_studio.core.errors import UserError
from kling_studio.services.secrets import KeyInfo, KeySource, KeyStore, MemoryKeyring

PLANTED = "plantedid:PLANTED-SECRET-0001"
REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kling-studio")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def run(argv: list[str], store: KeyStore, **streams: object) -> tuple[int, str]:
    args = parse(*argv)
    out = io.StringIO()
    code = args.func(args, store=store, stdout=out, **streams)
    return code, out.getvalue()


@pytest.fixture
def store() -> KeyStore:
    return KeyStore(MemoryKeyring(), environ={})


def test_set_reads_a_piped_key(store: KeyStore) -> None:
    code, out = run(["key", "set"], store, stdin=io.StringIO(PLANTED + "\n"))
    assert code == 0
    assert out == "Saved the fal key ••••••••0001 in the system keyring (secrets MemoryKeyring).\n"
    assert store.get() == KeyInfo(PLANTED, KeySource.KEYRING)


def test_set_asks_without_echo_on_a_terminal(store: KeyStore) -> None:
    prompts: list[str] = []

    def hidden_prompt(prompt: str) -> str:
        prompts.append(prompt)
        return PLANTED

    code, out = run(["key", "set"], store, stdin=FakeTerminal(""), read_hidden=hidden_prompt)
    assert code == 0
    assert prompts == ["Paste your fal key (input hidden): "]
    assert "PLANTED" not in out and "0001" in out
    assert store.get() == KeyInfo(PLANTED, KeySource.KEYRING)


def test_set_stops_cleanly_on_ctrl_d(store: KeyStore) -> None:
    def hidden_prompt(prompt: str) -> str:
        raise EOFError

    with pytest.raises(UserError, match="No key entered"):
        run(["key", "set"], store, stdin=FakeTerminal(""), read_hidden=hidden_prompt)
    assert store.get() is None


def test_set_never_takes_the_key_from_the_command_line(store: KeyStore) -> None:
    with pytest.raises(UserError, match="not accepted on the command line") as caught:
        run(["key", "set", PLANTED], store, stdin=io.StringIO(""))
    assert "PLANTED" not in str(caught.value)
    assert store.get() is None


def test_set_refuses_a_malformed_key_without_echoing_it(store: KeyStore) -> None:
    with pytest.raises(UserError, match="no colon") as caught:
        run(["key", "set"], store, stdin=io.StringIO("PLANTED-SECRET-0001"))
    assert "PLANTED" not in str(caught.value)


def test_set_without_a_keyring_says_so_and_saves_nothing() -> None:
    store = KeyStore(fail.Keyring(), environ={})
    with pytest.raises(UserError) as caught:
        run(["key", "set"], store, stdin=io.StringIO(PLANTED))
    message = str(caught.value)
    assert "No system keyring is available" in message
    assert "NOT saved" in message and "FAL_KEY" in message
    assert "PLANTED" not in message


def test_status_and_delete(store: KeyStore) -> None:
    assert run(["key", "status"], store) == (
        0,
        "No fal key set (keyring: secrets MemoryKeyring). Without one, jobs go to the built-in simulator.\n",
    )
    store.set(PLANTED)
    assert run(["key", "status"], store) == (0, "••••••••0001 (keyring)\n")
    assert run(["key"], store) == (0, "••••••••0001 (keyring)\n")  # bare `key` shows the status
    assert run(["key", "delete"], store) == (
        0,
        "Deleted the fal key from the system keyring (secrets MemoryKeyring).\n",
    )
    assert store.get() is None
    assert run(["key", "delete"], store) == (0, "No fal key was stored; nothing to delete.\n")


def test_delete_says_when_fal_key_still_provides_a_key(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAL_KEY", PLANTED)
    _, out = run(["key", "delete"], store)
    assert "FAL_KEY is still set" in out
    assert "PLANTED" not in out


# --- the real command, in its own process ---


def kling_studio(
    *argv: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kling_studio", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_the_cli_without_a_keyring_exits_2_and_never_prints_the_key() -> None:
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for argv in (["key", "set"], ["key", "set", PLANTED]):
        result = kling_studio(*argv, stdin=PLANTED + "\n", env=env)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("kling-studio: ")
        assert "PLANTED" not in result.stdout + result.stderr
    status = kling_studio("key", "status", env=env)
    assert status.returncode == 0
    assert "No system keyring is available" in status.stdout


def _throwaway_secret_service() -> bool:
    home = os.environ.get("HOME", "")
    throwaway = bool(home) and (
        os.environ.get("KLING_STUDIO_TEST_HOME") == home
        or Path(home).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    )
    if not throwaway or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    try:
        from keyring.backends import SecretService

        SecretService.Keyring().get_password(f"kling-studio-probe-{uuid.uuid4()}", "fal")
    except Exception:
        return False
    return True


@pytest.mark.keyring
def test_the_cli_round_trip_through_a_real_secret_service() -> None:
    if not _throwaway_secret_service():
        pytest.skip(
            "needs a reachable Secret Service with a temporary HOME (tools/test.sh / dbus-run-session)"
        )
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"}
    saved = kling_studio("key", "set", stdin=PLANTED + "\n", env=env)
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout == "Saved the fal key ••••••••0001 in the system keyring (SecretService Keyring).\n"
    status = kling_studio("key", "status", env=env)
    assert status.stdout == "••••••••0001 (keyring)\n"
    deleted = kling_studio("key", "delete", env=env)
    assert deleted.returncode == 0 and "Deleted" in deleted.stdout
    assert "No fal key set" in kling_studio("key", "status", env=env).stdout
    for result in (saved, status, deleted):
        assert "PLANTED" not in result.stdout + result.stderr
