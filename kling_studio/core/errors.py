"""Errors meant for people: each names the thing that is wrong and how to fix it."""


class UserError(Exception):
    """Something the user can fix (a bad file, a bad value); the CLI exits 2 and prints only the message."""

    exit_code = 2
