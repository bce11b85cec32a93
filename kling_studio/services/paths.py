"""Where Kling Studio keeps its files: the data folder, settings, outputs, the job database and logs.

Every function reads the environment when called (no module state), so tests and power users can point the app
elsewhere with ``KLING_STUDIO_DATA_DIR`` / ``KLING_STUDIO_CONFIG_DIR``. Folders are created on first use; a
folder that cannot be created or written raises :class:`DataFolderError`, which names the folder and the fix.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import platformdirs

from kling_studio.core.errors import UserError

APP_NAME = "kling-studio"
DATA_DIR_ENV = "KLING_STUDIO_DATA_DIR"
CONFIG_DIR_ENV = "KLING_STUDIO_CONFIG_DIR"
DATABASE_FILE_NAME = "jobs.sqlite3"

_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
_SLUG_MAX = 64


class DataFolderError(UserError):
    """A folder Kling Studio needs cannot be created or written to."""

    def __init__(self, folder: Path, reason: str, env_var: str) -> None:
        self.folder = folder
        self.reason = reason
        super().__init__(
            f"Kling Studio cannot use the folder {folder} ({reason}). "
            f"Make it writable, or set {env_var} to a folder you can write to."
        )


def data_dir() -> Path:
    """The folder for jobs, outputs and logs (created if missing).

    ``KLING_STUDIO_DATA_DIR`` overrides platformdirs' user data folder for ``kling-studio``.
    """
    override = os.environ.get(DATA_DIR_ENV)
    folder = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME, False))
    return _ensure_writable(folder, DATA_DIR_ENV)


def config_dir() -> Path:
    """The folder for settings (created if missing); ``KLING_STUDIO_CONFIG_DIR`` overrides it."""
    override = os.environ.get(CONFIG_DIR_ENV)
    folder = Path(override).expanduser() if override else Path(platformdirs.user_config_dir(APP_NAME, False))
    return _ensure_writable(folder, CONFIG_DIR_ENV)


def logs_dir() -> Path:
    """``<data>/logs/`` (created if missing); kept under the data folder so one override moves everything."""
    return _ensure_writable(data_dir() / "logs", DATA_DIR_ENV)


def database_path() -> Path:
    """``<data>/jobs.sqlite3``: the job store and spend ledger (the data folder is created, not the file)."""
    return data_dir() / DATABASE_FILE_NAME


def outputs_dir(project_slug: str) -> Path:
    """``<data>/outputs/<project_slug>/`` (created if missing).

    Args:
        project_slug: a slug as made by :func:`slugify`; anything that could escape the outputs folder
            is refused.

    Raises:
        ValueError: the slug is empty or not a plain slug (a programming error, not a user one).
        DataFolderError: the folder cannot be created or written.
    """
    if not project_slug or slugify(project_slug) != project_slug:
        raise ValueError(f"not a project slug: {project_slug!r} (make one with paths.slugify)")
    return _ensure_writable(data_dir() / "outputs" / project_slug, DATA_DIR_ENV)


def slugify(name: str) -> str:
    """A folder-safe, lowercase ASCII slug for a project name: ``"Café Night #2"`` → ``"cafe-night-2"``.

    Names with no usable letters become ``"untitled"``; slugs are cut to 64 characters.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_UNSAFE.sub("-", ascii_name.lower()).strip("-")[:_SLUG_MAX].strip("-")
    return slug or "untitled"


def _ensure_writable(folder: Path, env_var: str) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise DataFolderError(folder, "a file with that name is in the way", env_var) from exc
    except OSError as exc:
        raise DataFolderError(folder, exc.strerror or str(exc), env_var) from exc
    if not folder.is_dir():
        raise DataFolderError(folder, "it is not a folder", env_var)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataFolderError(folder, "it is read-only", env_var)
    return folder
