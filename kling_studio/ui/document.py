"""The open project as a document: its file, its unsaved state, recent files and crash recovery.

:class:`ProjectDocument` owns the undo stack and knows whether the project differs from its file (the stack's
clean state). A few seconds after an edit it writes a recovery copy to ``<data dir>/recovery/``; the copy is
removed when the project is saved or closed on purpose. Each running window holds a :class:`QLockFile` next
to its copy, so at start-up a copy whose lock nobody holds any more is one a crashed session left behind:
:func:`find_recoveries` lists those for the app to offer.

Nothing here shows a dialog: a broken file raises :class:`~kling_studio.core.project_file.ProjectFileError`
(its message says why) and the window decides how to show it. The file is only ever read on open.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from kling_studio.core.project import Project
from kling_studio.core.project_file import PROJECT_SUFFIX, ProjectFileError, load_project, save_project

log = logging.getLogger(__name__)

RECOVERY_DELAY_MS = 2000
RECENT_LIMIT = 10
_META_SUFFIX = ".meta.json"
_LOCK_SUFFIX = ".lock"


@dataclass(frozen=True)
class Recovery:
    """A recovery copy a crashed session left behind.

    Attributes:
        project_path: the copy itself.
        original_path: the file the project was opened from or saved to, or None for a never-saved project.
        name: the project's name when the copy was written.
        saved_at: when the copy was written (seconds since the epoch).
    """

    project_path: Path
    original_path: Path | None
    name: str
    saved_at: float

    @property
    def meta_path(self) -> Path:
        """The sidecar with the copy's details."""
        return _sidecar(self.project_path, _META_SUFFIX)

    def discard(self) -> None:
        """Delete the copy, its sidecar and its stale lock."""
        for path in (self.project_path, self.meta_path, _sidecar(self.project_path, _LOCK_SUFFIX)):
            path.unlink(missing_ok=True)


def find_recoveries(recovery_dir: Path) -> list[Recovery]:
    """Recovery copies in ``recovery_dir`` whose session is gone (newest first).

    A copy whose lock a live process still holds belongs to a running window and is left alone.
    """
    if not recovery_dir.is_dir():
        return []
    found = []
    for meta_path in recovery_dir.glob(f"*{_META_SUFFIX}"):
        project_path = meta_path.with_name(meta_path.name.removesuffix(_META_SUFFIX) + PROJECT_SUFFIX)
        lock = QLockFile(str(_sidecar(project_path, _LOCK_SUFFIX)))
        if not lock.tryLock(0):
            continue  # a running session owns it
        lock.unlock()
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("ignoring unreadable recovery sidecar %s", meta_path)
            continue
        if not project_path.is_file():
            meta_path.unlink(missing_ok=True)
            continue
        original = meta.get("original_path")
        found.append(
            Recovery(
                project_path=project_path,
                original_path=Path(original) if original else None,
                name=str(meta.get("name") or "Untitled"),
                saved_at=float(meta.get("saved_at") or 0.0),
            )
        )
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


class RecentFiles:
    """The most recently opened or saved project files, kept as JSON in the config folder.

    Args:
        store: the JSON file (e.g. ``<config dir>/recent-projects.json``).
        limit: how many paths to keep.
    """

    def __init__(self, store: Path, limit: int = RECENT_LIMIT) -> None:
        self._store = store
        self._limit = limit

    def paths(self) -> list[Path]:
        """Recent files, newest first; files that no longer exist are left out."""
        try:
            data = json.loads(self._store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [Path(p) for p in data if isinstance(p, str) and Path(p).is_file()][: self._limit]

    def add(self, path: Path) -> None:
        """Put ``path`` first."""
        path = path.resolve()
        paths = [path] + [p for p in self.paths() if p.resolve() != path]
        self._write(paths[: self._limit])

    def remove(self, path: Path) -> None:
        """Forget ``path`` (e.g. after it failed to open)."""
        self._write([p for p in self.paths() if p.resolve() != path.resolve()])

    def _write(self, paths: list[Path]) -> None:
        try:
            self._store.parent.mkdir(parents=True, exist_ok=True)
            self._store.write_text(json.dumps([str(p) for p in paths], indent=1), encoding="utf-8")
        except OSError:
            log.warning("could not remember recent files in %s", self._store, exc_info=True)


class ProjectDocument(QObject):
    """The project being edited, its file and its unsaved state.

    Args:
        recovery_dir: where recovery copies go (``<data dir>/recovery``).
        recent: the recent-files list to update on open and save.
        parent: Qt parent.

    Signals:
        project_replaced(Project): New, Open or a restore put a different project in place.
        dirty_changed(bool): the project started or stopped differing from its file.
        path_changed(object): the file changed (a Path, or None for a new project).
        recovery_written(str): a recovery copy was written to this path.
    """

    project_replaced = Signal(object)
    dirty_changed = Signal(bool)
    path_changed = Signal(object)
    recovery_written = Signal(str)

    def __init__(self, recovery_dir: Path, recent: RecentFiles, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._recovery_dir = recovery_dir
        self._recent = recent
        self._undo_stack = QUndoStack(self)
        self._project = Project()
        self._path: Path | None = None
        self._restored_unsaved = False
        self._was_dirty = False
        session = uuid.uuid4().hex[:12]
        self._recovery_path = recovery_dir / f"session-{session}{PROJECT_SUFFIX}"
        self._lock: QLockFile | None = None
        self._recovery_timer = QTimer(self)
        self._recovery_timer.setSingleShot(True)
        self._recovery_timer.setInterval(RECOVERY_DELAY_MS)
        self._recovery_timer.timeout.connect(self._on_recovery_timer_timeout)
        self._undo_stack.cleanChanged.connect(self._on_undo_stack_clean_changed)
        self._undo_stack.indexChanged.connect(self._on_undo_stack_index_changed)

    # ---- reading -------------------------------------------------------------------------------------
    @property
    def project(self) -> Project:
        """The project being edited."""
        return self._project

    @property
    def path(self) -> Path | None:
        """The project's file, or None when it was never saved."""
        return self._path

    @property
    def undo_stack(self) -> QUndoStack:
        """Every edit of this document, for undo/redo; its clean state is "saved"."""
        return self._undo_stack

    @property
    def recent(self) -> RecentFiles:
        """The recent-files list."""
        return self._recent

    @property
    def recovery_path(self) -> Path:
        """Where this session writes its recovery copy."""
        return self._recovery_path

    @property
    def is_dirty(self) -> bool:
        """True when the project has edits its file does not have."""
        return self._restored_unsaved or not self._undo_stack.isClean()

    @property
    def display_name(self) -> str:
        """The file's name without its suffix, or the project's name when it has no file yet."""
        return self._path.stem if self._path else self._project.name

    def window_title(self) -> str:
        """``name* — Kling Studio`` with Qt's ``[*]`` placeholder handled by the caller's modified flag."""
        return f"{self.display_name}[*] — Kling Studio"

    # ---- commands ------------------------------------------------------------------------------------
    def new_project(self, project: Project | None = None) -> None:
        """Start over with ``project`` (an empty one by default); a given project counts as unsaved."""
        self._replace(project or Project(), path=None, unsaved=project is not None)

    def open(self, path: Path) -> None:
        """Open ``path``.

        Raises:
            ProjectFileError: the file is missing, unreadable or not a valid project; the message says which.
                The current project stays as it was and the file is not touched.
        """
        try:
            project = load_project(path)
        except ProjectFileError:
            self._recent.remove(path)
            raise
        self._replace(project, path=path, unsaved=False)
        self._recent.add(path)

    def save(self) -> None:
        """Save to the project's file.

        Raises:
            ValueError: the project has no file yet (use :meth:`save_as`).
            ProjectFileError: the file could not be written; the message says why.
        """
        if self._path is None:
            raise ValueError("the project has no file yet; use save_as")
        self.save_as(self._path)

    def save_as(self, path: Path) -> None:
        """Save to ``path`` and make it the project's file (the suffix is added when missing).

        Raises:
            ProjectFileError: the file could not be written; the message says why.
        """
        if not path.suffix:
            path = path.with_suffix(PROJECT_SUFFIX)
        save_project(self._project, path)
        self._project.path = path
        path_changed = path != self._path
        self._path = path
        self._restored_unsaved = False
        self._undo_stack.setClean()
        self._recent.add(path)
        self._discard_own_recovery()
        if path_changed:
            self.path_changed.emit(path)
        self._emit_dirty_if_changed()

    def restore(self, recovery: Recovery) -> None:
        """Put a crashed session's copy in place; it stays unsaved until the user saves.

        Raises:
            ProjectFileError: the copy cannot be read (it is then left on disk).
        """
        project = load_project(recovery.project_path)
        project.path = recovery.original_path
        self._replace(project, path=recovery.original_path, unsaved=True)
        recovery.discard()
        self.write_recovery()

    def close(self) -> None:
        """The user closed the project on purpose (saved or discarded): remove this session's copy."""
        self._recovery_timer.stop()
        self._discard_own_recovery()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def write_recovery(self) -> None:
        """Write the recovery copy now (normally a few seconds after the last edit)."""
        self._recovery_timer.stop()
        if not self.is_dirty:
            return
        try:
            self._recovery_dir.mkdir(parents=True, exist_ok=True)
            if self._lock is None:
                lock = QLockFile(str(_sidecar(self._recovery_path, _LOCK_SUFFIX)))
                lock.setStaleLockTime(0)
                if lock.tryLock(0):
                    self._lock = lock
            save_project(self._project, self._recovery_path)
            meta = {
                "original_path": str(self._path) if self._path else None,
                "name": self.display_name,
                "saved_at": time.time(),
                "pid": os.getpid(),
            }
            meta_path = _sidecar(self._recovery_path, _META_SUFFIX)
            meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        except (OSError, ProjectFileError):
            log.warning("could not write the recovery copy %s", self._recovery_path, exc_info=True)
            return
        self.recovery_written.emit(str(self._recovery_path))

    # ---- internals -----------------------------------------------------------------------------------
    def _replace(self, project: Project, *, path: Path | None, unsaved: bool) -> None:
        self._recovery_timer.stop()
        self._discard_own_recovery()
        self._undo_stack.clear()
        self._undo_stack.setClean()
        self._project = project
        old_path, self._path = self._path, path
        self._restored_unsaved = unsaved
        self.project_replaced.emit(project)
        if old_path != path:
            self.path_changed.emit(path)
        self._emit_dirty_if_changed()

    def _discard_own_recovery(self) -> None:
        self._recovery_path.unlink(missing_ok=True)
        _sidecar(self._recovery_path, _META_SUFFIX).unlink(missing_ok=True)

    def _emit_dirty_if_changed(self) -> None:
        dirty = self.is_dirty
        if dirty != self._was_dirty:
            self._was_dirty = dirty
            self.dirty_changed.emit(dirty)

    def _on_undo_stack_clean_changed(self, _clean: bool) -> None:
        self._emit_dirty_if_changed()
        if not self.is_dirty:
            self._recovery_timer.stop()
            self._discard_own_recovery()

    def _on_undo_stack_index_changed(self, _index: int) -> None:
        # Not restarted by every keystroke: steady typing must not postpone the copy forever.
        if self.is_dirty and not self._recovery_timer.isActive():
            self._recovery_timer.start()

    def _on_recovery_timer_timeout(self) -> None:
        self.write_recovery()


def _sidecar(project_path: Path, suffix: str) -> Path:
    return project_path.with_name(project_path.name.removesuffix(PROJECT_SUFFIX) + suffix)
