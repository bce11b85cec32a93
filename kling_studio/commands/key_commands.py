"""``kling-studio key set | status | delete``: the fal key in the system keyring.

The key is read from standard input when it is piped, otherwise from a prompt that does not echo. It is never
taken from the command line, where it would stay in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import TextIO

from kling_studio.core.errors import UserError
from kling_studio.services.secrets import (
    ENV_VAR,
    KEYS_PAGE,
    KeyringUnavailableError,
    KeySource,
    KeyStore,
    mask,
)

_MAX_STDIN = 4096

HiddenPrompt = Callable[[str], str]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``key`` sub-command and its actions."""
    parser = subparsers.add_parser(
        "key",
        help="set, show or delete the fal key (kept in the system keyring)",
        description=f"Manage the fal key Kling Studio uses. Keys are at {KEYS_PAGE}. "
        f"The {ENV_VAR} environment variable, when set, takes precedence over the stored key.",
    )
    parser.set_defaults(func=run_key_status)
    actions = parser.add_subparsers(dest="key_action", metavar="ACTION")

    set_parser = actions.add_parser(
        "set",
        help="store the key (read from stdin, or asked for without echo)",
        description="Store the fal key in the system keyring. Pipe it in (`pass fal | kling-studio key set`) "
        "or paste it at the prompt; it is never accepted as an argument, which would keep it in your "
        "shell history.",
    )
    set_parser.add_argument("stray", nargs="*", help=argparse.SUPPRESS)
    set_parser.set_defaults(func=run_key_set)

    status_parser = actions.add_parser("status", help="show the last 4 characters of the key and where it is")
    status_parser.set_defaults(func=run_key_status)

    delete_parser = actions.add_parser("delete", help="remove the key from the system keyring")
    delete_parser.set_defaults(func=run_key_delete)


def run_key_set(
    args: argparse.Namespace,
    *,
    store: KeyStore | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    read_hidden: HiddenPrompt = getpass.getpass,
) -> int:
    """Read the key (stdin or hidden prompt), validate it and store it; print where it went."""
    if getattr(args, "stray", None):
        raise UserError(
            "The key is not accepted on the command line: it would stay in your shell history (clear "
            "it there if you just typed it). Run `kling-studio key set` and paste it at the prompt, or "
            "pipe it in."
        )
    store = store or KeyStore()
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if stdin.isatty():
        try:
            text = read_hidden("Paste your fal key (input hidden): ")
        except EOFError:
            raise UserError("No key entered; nothing was changed.") from None
    else:
        text = stdin.read(_MAX_STDIN + 1)
    info = store.set(text)
    if info.source is KeySource.SESSION:
        raise KeyringUnavailableError(
            f"{store.backend_problem} The key was NOT saved. For the command line, set {ENV_VAR} in your "
            "environment instead."
        )
    print(f"Saved the fal key {mask(info.key)} in the system keyring ({store.backend_name}).", file=stdout)
    if os.environ.get(ENV_VAR):
        print(f"Note: {ENV_VAR} is set in your environment and is used instead while it is set.", file=stdout)
    return 0


def run_key_status(
    args: argparse.Namespace, *, store: KeyStore | None = None, stdout: TextIO | None = None
) -> int:
    """Print the masked key and where it comes from (exit 0 either way)."""
    store = store or KeyStore()
    print(store.status(), file=stdout or sys.stdout)
    return 0


def run_key_delete(
    args: argparse.Namespace, *, store: KeyStore | None = None, stdout: TextIO | None = None
) -> int:
    """Delete the stored key; say so, and say if ``FAL_KEY`` still provides one."""
    store = store or KeyStore()
    stdout = stdout or sys.stdout
    if store.delete():
        print(f"Deleted the fal key from the system keyring ({store.backend_name}).", file=stdout)
    else:
        print("No fal key was stored; nothing to delete.", file=stdout)
    if os.environ.get(ENV_VAR):
        print(f"{ENV_VAR} is still set in your environment; unset it to stop using that key.", file=stdout)
    return 0
