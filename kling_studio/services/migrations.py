"""The job database's schema, as ordered migrations; the version lives in ``PRAGMA user_version``.

Append a migration to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3

from kling_studio.services.jobs import JobStoreError

#: MIGRATIONS[n] takes the database from version n to n + 1. Each runs in one transaction.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            project_name TEXT NOT NULL,
            project_slug TEXT NOT NULL,
            project_path TEXT,
            model_id TEXT NOT NULL,
            tier TEXT NOT NULL,
            input_json TEXT NOT NULL,
            estimated_cost TEXT NOT NULL,
            currency TEXT NOT NULL,
            state TEXT NOT NULL,
            simulated INTEGER NOT NULL,
            attempt INTEGER NOT NULL DEFAULT 1,
            origin_job_id TEXT,
            owner_pid INTEGER,
            request_id TEXT,
            status_url TEXT,
            response_url TEXT,
            cancel_url TEXT,
            queue_position INTEGER,
            logs_json TEXT NOT NULL DEFAULT '[]',
            error_kind TEXT,
            error_message TEXT,
            video_url TEXT,
            file_size INTEGER,
            bytes_downloaded INTEGER NOT NULL DEFAULT 0,
            output_path TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            submitted_at TEXT,
            completed_at TEXT,
            downloaded_at TEXT,
            change_seq INTEGER NOT NULL
        )""",
        "CREATE INDEX jobs_state ON jobs(state, created_at)",
        "CREATE INDEX jobs_created ON jobs(created_at)",
        "CREATE INDEX jobs_change_seq ON jobs(change_seq)",
        "CREATE INDEX jobs_request_id ON jobs(request_id)",
        "CREATE INDEX jobs_project ON jobs(project_slug, created_at)",
        """CREATE TABLE spend (
            job_id TEXT PRIMARY KEY REFERENCES jobs(id),
            amount TEXT NOT NULL,
            currency TEXT NOT NULL,
            model_id TEXT NOT NULL,
            tier TEXT NOT NULL,
            project_name TEXT NOT NULL,
            simulated INTEGER NOT NULL,
            status TEXT NOT NULL,
            local_day TEXT NOT NULL,
            local_month TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )""",
        "CREATE INDEX spend_day ON spend(local_day, simulated)",
        "CREATE INDEX spend_month ON spend(local_month, simulated)",
        "CREATE INDEX spend_project ON spend(project_name, simulated)",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # The reference images a job was sent with (sha256, name, uploaded URL), for its provenance sidecar:
    # the input alone holds only URLs, which say nothing about which library image they were.
    ("ALTER TABLE jobs ADD COLUMN references_json TEXT NOT NULL DEFAULT '[]'",),
)

SCHEMA_VERSION = len(MIGRATIONS)


class NewerDatabaseError(JobStoreError):
    """The database was written by a newer Kling Studio than this one."""

    def __init__(self, path: object, version: int) -> None:
        self.version = version
        super().__init__(
            f"The job database {path} was made by a newer Kling Studio (schema {version}; this version knows "
            f"up to {SCHEMA_VERSION}). Update Kling Studio, or set KLING_STUDIO_DATA_DIR to another folder."
        )


def migrate(conn: sqlite3.Connection, path: object) -> int:
    """Bring the database on ``conn`` (autocommit mode) up to :data:`SCHEMA_VERSION`; return the old version.

    Safe when several processes open the database at once: each step re-reads the version under the lock.
    """
    old = conn.execute("PRAGMA user_version").fetchone()[0]
    if old > SCHEMA_VERSION:
        raise NewerDatabaseError(path, old)
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                return old
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
