"""The bridge's SQLite state: poll cursors, seen comment ids, one row per command, and one
row per default-branch job (a scheduled run, or a new tag's) with what planned it.

Every change is one transaction, so a crash leaves each command in a state it can be
resumed from (see `Phase` and docs/bridge.md, "The state file"). The connection is shared
by the main loop and the webhook thread under one lock.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 4
"""Schema 3 is schema 1 and the columns of `_ADDED_COLUMNS`. Two branches of the bridge each
called their own additions schema 2 (the commands' options and the retry; the queue, the
progress shown and supersede); neither was ever released, so a file marked 2 may hold
either set: the step to 3 adds, in one transaction, whichever of the columns a file lacks.
Schema 4 adds the tables of `_JOB_TABLES` (default-branch runs), in the same transaction."""

_SCHEMA = """
-- schema 1; later schemas add columns to it (_ADDED_COLUMNS)
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (
  repo TEXT PRIMARY KEY,
  baseline INTEGER NOT NULL,   -- unix seconds: comments created before it are never acted on
  since INTEGER NOT NULL       -- the newest updated_at of a complete listing
);
CREATE TABLE IF NOT EXISTS seen (
  comment_id INTEGER PRIMARY KEY,
  repo TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_by_repo ON seen (repo, created);
CREATE TABLE IF NOT EXISTS commands (
  comment_id INTEGER PRIMARY KEY,
  repo TEXT NOT NULL,
  pr INTEGER NOT NULL,
  login TEXT NOT NULL,
  comment_url TEXT NOT NULL,
  stages TEXT NOT NULL,
  unknown_stages TEXT NOT NULL,
  phase TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  recipe TEXT NOT NULL,
  head_sha TEXT,
  head_repo TEXT,
  intent_at INTEGER,
  create_attempts INTEGER NOT NULL DEFAULT 0,
  build INTEGER,
  build_status TEXT,
  reacted INTEGER NOT NULL DEFAULT 0,
  bot_comment INTEGER,
  comment_attempts INTEGER NOT NULL DEFAULT 0,
  pending_posted INTEGER NOT NULL DEFAULT 0,
  outcome TEXT,
  reason TEXT NOT NULL DEFAULT '',
  result TEXT,
  final_posted INTEGER NOT NULL DEFAULT 0,
  final_status_posted INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  next_at REAL NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS commands_open ON commands (phase);
"""

# Columns added since schema 1 (ALTER TABLE … ADD COLUMN), so a row written by an older
# bridge reads with these defaults.
_ADDED_COLUMNS = (
    ("upgrade_from", "TEXT NOT NULL DEFAULT ''"),  # the UPGRADE_FROM comma list of tags
    ("answer", "TEXT NOT NULL DEFAULT ''"),  # '' runs; 'help' or 'invalid' is answered only
    ("retried_build", "INTEGER"),  # the build this command's build retries, once
    ("retried_class", "TEXT NOT NULL DEFAULT ''"),  # that build's error_class (why)
    ("build_id", "INTEGER"),  # Drone's id of the build (what its queue names)
    ("queue_ahead", "INTEGER"),  # builds ahead in Drone's queue, when known
    ("drone_down", "INTEGER NOT NULL DEFAULT 0"),  # the last create got no answer
    ("shown", "TEXT NOT NULL DEFAULT ''"),  # the progress the bot's comment shows
    ("superseded_by", "TEXT"),  # the PR's new head, once a push moved it
)


_JOB_TABLES = (
    """CREATE TABLE IF NOT EXISTS jobs (
  job_id INTEGER PRIMARY KEY,  -- the bridge's clock (unix seconds) at planning, each > the last
  repo TEXT NOT NULL,
  recipe TEXT NOT NULL,
  kind TEXT NOT NULL,          -- schedule | tag
  reason TEXT NOT NULL,        -- the period's start (unix seconds) or the tag's name
  phase TEXT NOT NULL,
  planned_at INTEGER NOT NULL,
  branch TEXT,
  head_sha TEXT,
  create_attempts INTEGER NOT NULL DEFAULT 0,
  build INTEGER,
  build_id INTEGER,
  build_status TEXT,
  failures INTEGER NOT NULL DEFAULT 0,
  next_at REAL NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  retried_build INTEGER,       -- the build this job's build retries, once
  retried_class TEXT NOT NULL DEFAULT '',
  UNIQUE (repo, kind, reason)
)""",
    "CREATE INDEX IF NOT EXISTS jobs_open ON jobs (phase)",
    """CREATE TABLE IF NOT EXISTS branch_watch (
  repo TEXT PRIMARY KEY,
  scheduled INTEGER,           -- the start of the newest period a job was planned for
  tags_read INTEGER NOT NULL DEFAULT 0  -- 1 once the tags there were read (the baseline)
)""",
    """CREATE TABLE IF NOT EXISTS known_tags (
  repo TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (repo, name)
)""",
)
"""Schema 4's tables: default-branch jobs, and what planned them (the schedule's last
period, the tags seen) per repository."""


class Phase(StrEnum):
    """Where a command is. RECEIVED → (DENIED | REQUESTING → BUILDING → FINISHED → REPORTED);
    an unknown stage, a build Drone would not start, or a push to the PR's head goes
    RECEIVED/REQUESTING/BUILDING → FINISHED."""

    RECEIVED = "received"
    """Seen and parsed; not yet authorized."""
    DENIED = "denied"
    """The commenter may not trigger: nothing was started (terminal)."""
    REQUESTING = "requesting"
    """Authorized, the PR head resolved; acknowledged (👀, the pending status), then the Drone
    build is created. Drone's create is not idempotent: a retry first looks for the build by
    its message. While Drone does not answer, the bot's comment says so."""
    BUILDING = "building"
    """The build exists (its number is recorded); its comment follows its place in Drone's
    queue until it runs; watched until it is done, or cancelled when the PR's head moves."""
    FINISHED = "finished"
    """The outcome is known; the report (comment, status) is being written."""
    REPORTED = "reported"
    """Done (terminal)."""


OPEN_PHASES = (Phase.RECEIVED, Phase.REQUESTING, Phase.BUILDING, Phase.FINISHED)


class Outcome(StrEnum):
    REJECTED = "rejected"
    """Unknown stage names: answered with the valid ones."""
    NO_BUILD = "no-build"
    """Drone started nothing (`null`, refused), or the PR head could not be resolved."""
    BUILT = "built"
    """The build ran to its end (`build_status`)."""
    SUPERSEDED = "superseded"
    """The PR's head moved (`superseded_by`) before the build ended: it was cancelled."""


@dataclass(frozen=True, slots=True)
class CommandRow:
    comment_id: int
    repo: str
    pr: int
    login: str
    comment_url: str
    stages: str
    unknown_stages: str
    phase: Phase
    received_at: int
    recipe: str
    head_sha: str | None = None
    head_repo: str | None = None
    intent_at: int | None = None
    create_attempts: int = 0
    build: int | None = None
    build_status: str | None = None
    reacted: bool = False
    bot_comment: int | None = None
    comment_attempts: int = 0
    pending_posted: bool = False
    outcome: Outcome | None = None
    reason: str = ""
    result: str | None = None
    final_posted: bool = False
    final_status_posted: bool = False
    failures: int = 0
    next_at: float = 0.0
    last_error: str = ""
    upgrade_from: str = ""
    """The UPGRADE_FROM parameter: the release tags asked for (`from=`), a comma list."""
    answer: str = ""
    """'' for a command that runs; `help` or `invalid` for one that is answered only."""
    retried_build: int | None = None
    """The build this command's current build retries (once), when it is the retry."""
    retried_class: str = ""
    """That first build's `error_class`: why it was retried."""
    build_id: int | None = None
    """Drone's id of the build (its queue names builds by id, not number)."""
    queue_ahead: int | None = None
    """Builds ahead of this one in Drone's queue (running ones included), when known."""
    drone_down: bool = False
    """The last try to create the build got no answer from Drone."""
    shown: str = ""
    """What the bot's comment shows of the progress (`flow.progress`) as last written."""
    superseded_by: str | None = None
    """The PR's new head sha, once a push moved it while this command was open."""


_COLUMNS = tuple(f.name for f in fields(CommandRow))
_BOOLS = {"reacted", "pending_posted", "final_posted", "final_status_posted", "drone_down"}


def _row(values: tuple[Any, ...]) -> CommandRow:
    d = dict(zip(_COLUMNS, values, strict=True))
    for k in _BOOLS:
        d[k] = bool(d[k])
    d["phase"] = Phase(d["phase"])
    d["outcome"] = Outcome(d["outcome"]) if d["outcome"] else None
    return CommandRow(**d)


class JobPhase(StrEnum):
    """Where a default-branch job is: PLANNED → REQUESTING → BUILDING → DONE."""

    PLANNED = "planned"
    """Planned once (the period or the tag recorded with it); the branch head not yet read."""
    REQUESTING = "requesting"
    """The default branch and its head commit are known; the Drone build is created (a
    retry first looks for the build by its message, as for a command)."""
    BUILDING = "building"
    """The build exists; watched until it is done. A run that ended in a docker or image
    error (its record says so) goes back to REQUESTING once, for a new build."""
    DONE = "done"
    """Over (terminal): `build_status` is Drone's verdict, or None when no build started."""


OPEN_JOB_PHASES = (JobPhase.PLANNED, JobPhase.REQUESTING, JobPhase.BUILDING)


@dataclass(frozen=True, slots=True)
class JobRow:
    job_id: int
    repo: str
    recipe: str
    kind: str
    """`schedule` or `tag` (the run record's `trigger.kind`)."""
    reason: str
    """The schedule period's start (unix seconds), or the new tag's name."""
    phase: JobPhase
    planned_at: int
    branch: str | None = None
    head_sha: str | None = None
    create_attempts: int = 0
    build: int | None = None
    build_id: int | None = None
    build_status: str | None = None
    failures: int = 0
    next_at: float = 0.0
    last_error: str = ""
    retried_build: int | None = None
    """The build this job's build retries (once: its run ended in a docker or image error)."""
    retried_class: str = ""
    """That first build's `error_class`: why it was retried."""


_JOB_COLUMNS = tuple(f.name for f in fields(JobRow))


def _job(values: tuple[Any, ...]) -> JobRow:
    d = dict(zip(_JOB_COLUMNS, values, strict=True))
    d["phase"] = JobPhase(d["phase"])
    return JobRow(**d)


class StateError(RuntimeError):
    """The state file cannot be opened or is from a newer bridge."""


class State:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            # WAL with a full sync: each commit is one fsync of the log, and survives a
            # crash or a power cut.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # A new file gets schema 1's tables, then every step to this schema: one path
            # for new files and old ones.
            self._db.executescript(_SCHEMA)
            with self._db:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', '1')")
            (version,) = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if int(version) > SCHEMA_VERSION:
                raise StateError(f"state file {path} has schema {version}, newer than this bridge")
            self._migrate(int(version))
        except (OSError, sqlite3.Error) as e:
            raise StateError(f"state file {path}: {e}") from None
        self._lock = threading.RLock()

    def _migrate(self, version: int) -> None:
        """Bring a state file of an older schema (1, a 2 of either unreleased branch, 3) up
        to this one in one transaction: every column it lacks is added with its default, the
        job tables are created, and the rows it holds are resumed as they were. A file of
        this schema is left alone."""
        if version == SCHEMA_VERSION:
            return
        # An explicit transaction: sqlite3 would run each ALTER on its own, and a crash
        # between them would leave a file no schema describes.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            have = {row[1] for row in self._db.execute("PRAGMA table_info(commands)")}
            for name, kind in _ADDED_COLUMNS:
                if name not in have:
                    self._db.execute(f"ALTER TABLE commands ADD COLUMN {name} {kind}")
            for statement in _JOB_TABLES:
                self._db.execute(statement)
            self._db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION),))
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- cursors ------------------------------------------------------------------------

    def ensure_repos(self, repos: tuple[str, ...], now: int) -> list[str]:
        """Give each repository without a cursor one starting at `now`; returns those."""
        added = []
        with self._lock, self._db:
            for repo in repos:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO cursors VALUES (?, ?, ?)", (repo, now, now)
                )
                if cur.rowcount:
                    added.append(repo)
        return added

    def cursor(self, repo: str) -> tuple[int, int]:
        """(baseline, since) of a repository."""
        with self._lock:
            row = self._db.execute(
                "SELECT baseline, since FROM cursors WHERE repo=?", (repo,)
            ).fetchone()
        if row is None:
            raise KeyError(repo)
        return row[0], row[1]

    def advance(self, repo: str, since: int, floor: int) -> None:
        """Move the cursor forward (never back) and forget seen ids created before `floor`."""
        with self._lock, self._db:
            self._db.execute("UPDATE cursors SET since=max(since, ?) WHERE repo=?", (since, repo))
            self._db.execute("DELETE FROM seen WHERE repo=? AND created < ?", (repo, floor))

    # --- comments -----------------------------------------------------------------------

    def is_seen(self, comment_id: int) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM seen WHERE comment_id=?", (comment_id,))
            return row.fetchone() is not None

    def record(self, comment_id: int, repo: str, created: int, command: CommandRow | None) -> bool:
        """Mark a comment seen and, when it is a command, record it: in one transaction,
        exactly once. False when it was seen before (by the poll or the webhook)."""
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (comment_id, repo, created)
            )
            if not cur.rowcount:
                return False
            if command is not None:
                marks = ",".join("?" * len(_COLUMNS))
                values = tuple(getattr(command, c) for c in _COLUMNS)
                self._db.execute(
                    f"INSERT INTO commands ({','.join(_COLUMNS)}) VALUES ({marks})", values
                )
        return True

    # --- commands -----------------------------------------------------------------------

    def _one(self, table: str, key: str, columns: tuple[str, ...], value: int) -> tuple:
        with self._lock:
            row = self._db.execute(
                f"SELECT {','.join(columns)} FROM {table} WHERE {key}=?", (value,)
            ).fetchone()
        if row is None:
            raise KeyError(value)
        return row

    def _in_phases(
        self, table: str, key: str, columns: tuple[str, ...], phases: tuple[StrEnum, ...]
    ) -> list[tuple]:
        """Rows of `table` in these phases (all when none given), by `key`."""
        query = f"SELECT {','.join(columns)} FROM {table}"
        args: tuple[str, ...] = ()
        if phases:
            query += f" WHERE phase IN ({','.join('?' * len(phases))})"
            args = tuple(p.value for p in phases)
        with self._lock:
            return self._db.execute(query + f" ORDER BY {key}", args).fetchall()

    def _change(
        self, table: str, key: str, columns: tuple[str, ...], value: int, changes: dict[str, Any]
    ) -> None:
        """Change some fields of one row in one transaction."""
        unknown = set(changes) - set(columns)
        if unknown:
            raise KeyError(f"no such field of {table}: {sorted(unknown)}")
        values = [v.value if isinstance(v, StrEnum) else v for v in changes.values()]
        sets = ",".join(f"{k}=?" for k in changes)
        with self._lock, self._db:
            cur = self._db.execute(f"UPDATE {table} SET {sets} WHERE {key}=?", (*values, value))
            if not cur.rowcount:
                raise KeyError(value)

    def command(self, comment_id: int) -> CommandRow:
        return _row(self._one("commands", "comment_id", _COLUMNS, comment_id))

    def commands(self, *phases: Phase) -> list[CommandRow]:
        """Commands in these phases (all when none given), oldest first."""
        return [_row(r) for r in self._in_phases("commands", "comment_id", _COLUMNS, phases)]

    def update(self, comment_id: int, **changes: Any) -> CommandRow:
        """Change some fields of a command in one transaction; returns the new row."""
        self._change("commands", "comment_id", _COLUMNS, comment_id, changes)
        return self.command(comment_id)

    # --- default-branch jobs ------------------------------------------------------------

    def scheduled(self, repo: str) -> int | None:
        """The start of the newest schedule period a job was planned for in `repo`."""
        with self._lock:
            row = self._db.execute(
                "SELECT scheduled FROM branch_watch WHERE repo=?", (repo,)
            ).fetchone()
        return row[0] if row else None

    def plan(
        self,
        repo: str,
        recipe: str,
        kind: str,
        reason: str,
        now: int,
        *,
        period: int | None = None,
        tags: tuple[str, ...] = (),
    ) -> JobRow | None:
        """Plan one job, exactly once, in one transaction with what planned it: for the
        schedule the period's start (`period`), for a tag the new `tags` (all marked
        known). None when this job was planned before (after a restart, say). The job's
        id is `now`, or one more than the newest id when that is not later."""
        with self._lock, self._db:
            if period is not None:
                self._db.execute(
                    "INSERT INTO branch_watch (repo, scheduled) VALUES (?, ?) "
                    "ON CONFLICT (repo) DO UPDATE SET scheduled=max(coalesce(scheduled, 0), ?)",
                    (repo, period, period),
                )
            for name in tags:
                self._db.execute("INSERT OR IGNORE INTO known_tags VALUES (?, ?)", (repo, name))
            (newest,) = self._db.execute("SELECT max(job_id) FROM jobs").fetchone()
            job_id = max(now, (newest or 0) + 1)
            cur = self._db.execute(
                "INSERT OR IGNORE INTO jobs (job_id, repo, recipe, kind, reason, phase, "
                "planned_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, repo, recipe, kind, reason, JobPhase.PLANNED.value, now),
            )
            if not cur.rowcount:
                return None
        return self.job(job_id)

    def tags_read(self, repo: str) -> bool:
        """True once the repository's tags were read (the baseline no job is planned for)."""
        with self._lock:
            row = self._db.execute(
                "SELECT tags_read FROM branch_watch WHERE repo=?", (repo,)
            ).fetchone()
        return bool(row and row[0])

    def known_tags(self, repo: str) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT name FROM known_tags WHERE repo=?", (repo,))
            return {r[0] for r in rows.fetchall()}

    def baseline_tags(self, repo: str, tags: tuple[str, ...]) -> None:
        """The tags there were when the repository's tags were first read: known, no job."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO branch_watch (repo, tags_read) VALUES (?, 1) "
                "ON CONFLICT (repo) DO UPDATE SET tags_read=1",
                (repo,),
            )
            for name in tags:
                self._db.execute("INSERT OR IGNORE INTO known_tags VALUES (?, ?)", (repo, name))

    def job(self, job_id: int) -> JobRow:
        return _job(self._one("jobs", "job_id", _JOB_COLUMNS, job_id))

    def jobs(self, *phases: JobPhase) -> list[JobRow]:
        """Jobs in these phases (all when none given), oldest first."""
        return [_job(r) for r in self._in_phases("jobs", "job_id", _JOB_COLUMNS, phases)]

    def update_job(self, job_id: int, **changes: Any) -> JobRow:
        """Change some fields of a job in one transaction; returns the new row."""
        self._change("jobs", "job_id", _JOB_COLUMNS, job_id, changes)
        return self.job(job_id)
