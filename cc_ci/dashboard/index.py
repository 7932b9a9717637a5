"""The in-memory index of the results directory, kept fresh without a restart.

Each run folder's run.json is parsed once and cached under its (mtime, size, inode); it is
read again only when one of those changes. A refresh (done before each request) is cheap:

* one stat of the results directory: when its mtime moved, a run folder was added or
  removed, so the folder is listed again;
* one stat per *live* run: folders with no run.json yet, runs still running, and unreadable
  records (the ones the runner is still writing);
* every `full_rescan_s` seconds, one stat per run, which picks up any other change (a
  finished record rewritten in place, say).

Summaries are recomputed only for the recipes whose runs changed; every refresh that
changed something publishes a new immutable `Snapshot` with a higher generation.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cc_ci.contract.names import RUN_ID_RE
from cc_ci.contract.record import RECORD_FILE, RunRecord, RunStatus
from cc_ci.contract.record_read import (
    BrokenRecord,
    RecordError,
    decode_record,
    read_record_file,
    recipe_hint,
)
from cc_ci.dashboard.eventlog import log
from cc_ci.dashboard.summary import Counts, RecipeSummary, Row, counts, overview_rows, summarize

Item = RunRecord | BrokenRecord


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the results directory held at one refresh. Never changes once published."""

    generation: int
    runs: Mapping[str, Item]
    summaries: Mapping[str, RecipeSummary]
    rows: tuple[Row, ...]
    counts: Counts
    present: bool = True
    """False when the results directory is missing."""


@dataclass(slots=True)
class _Entry:
    key: tuple[int, int, int] | None = None
    item: Item | None = None

    @property
    def live(self) -> bool:
        """Worth a stat on every refresh: not written yet, still running, or unreadable."""
        return (
            self.item is None
            or isinstance(self.item, BrokenRecord)
            or self.item.status is RunStatus.RUNNING
        )


@dataclass(slots=True)
class _Stats:
    parsed: int = 0
    full_rescans: int = 0
    listings: int = 0


class Index:
    def __init__(
        self,
        results_dir: Path,
        *,
        full_rescan_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(os.path.realpath(results_dir))
        self.full_rescan_s = full_rescan_s
        self.stats = _Stats()
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._live: set[str] = set()  # run ids whose entry is live (see _Entry.live)
        self._dir_mtime: int | None = None
        self._last_full = float("-inf")
        self._summaries: dict[str, RecipeSummary] = {}
        self._snapshot = Snapshot(0, {}, {}, (), counts([], 0), present=False)

    def snapshot(self) -> Snapshot:
        """The index after a refresh: what the directory holds now."""
        with self._lock:
            self._refresh()
            return self._snapshot

    # --- the refresh -----------------------------------------------------------------------

    def _refresh(self) -> None:
        try:
            dir_mtime = os.stat(self.root).st_mtime_ns
        except OSError:
            if self._snapshot.present or self._entries:
                log("results_dir_missing", path=self.root)
                self._entries.clear()
                self._live.clear()
                self._dir_mtime = None
                self._publish(set(self._summaries), present=False)
            return
        now = self._clock()
        full = now - self._last_full >= self.full_rescan_s
        changed: set[str | None] = set()  # recipes whose summaries must be recomputed
        if full or dir_mtime != self._dir_mtime:
            self._dir_mtime = dir_mtime  # taken before listing: a later change shows next time
            self._relist(changed)
        if full:
            self.stats.full_rescans += 1
            self._last_full = now
            to_check = list(self._entries)
        else:
            to_check = list(self._live)
        for run_id in to_check:
            self._check(run_id, changed)
        if changed or not self._snapshot.present:
            self._publish(changed, present=True)

    def _relist(self, changed: set[str | None]) -> None:
        self.stats.listings += 1
        names = set()
        with os.scandir(self.root) as it:
            for entry in it:
                if RUN_ID_RE.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                    names.add(entry.name)
        for gone in self._entries.keys() - names:
            _note(self._entries.pop(gone).item, changed)
            self._live.discard(gone)
        for new in names - self._entries.keys():
            self._entries[new] = _Entry()
            self._live.add(new)

    def _check(self, run_id: str, changed: set[str | None]) -> None:
        entry = self._entries[run_id]
        path = self.root / run_id / RECORD_FILE
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            if entry.key is not None or entry.item is not None:
                _note(entry.item, changed)
                entry.key, entry.item = None, None
            self._live.add(run_id)
            return
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if key == entry.key:
            return
        _note(entry.item, changed)
        entry.key = key
        entry.item = self._load(run_id, path, st)
        _note(entry.item, changed)
        if entry.live:
            self._live.add(run_id)
        else:
            self._live.discard(run_id)

    def _load(self, run_id: str, path: Path, st: os.stat_result) -> Item:
        self.stats.parsed += 1
        seen = datetime.fromtimestamp(st.st_mtime, UTC)
        if not stat.S_ISREG(st.st_mode):
            return BrokenRecord(run_id, None, "run.json is not a regular file", seen)
        try:
            raw = read_record_file(path)
        except OSError as e:
            return BrokenRecord(run_id, None, f"run.json cannot be read: {e.strerror}", seen)
        try:
            return decode_record(raw, run_id)
        except RecordError as e:
            log("record_unreadable", run_id=run_id, reason=e)
            return BrokenRecord(run_id, recipe_hint(raw), str(e), seen)

    def _publish(self, changed: set[str | None], *, present: bool) -> None:
        runs = {run_id: e.item for run_id, e in self._entries.items() if e.item is not None}
        if changed:
            ok_runs: dict[str, list[RunRecord]] = {r: [] for r in changed if r is not None}
            broken_runs: dict[str, list[BrokenRecord]] = {r: [] for r in ok_runs}
            for item in runs.values():
                if item.recipe in ok_runs:
                    if isinstance(item, BrokenRecord):
                        broken_runs[item.recipe].append(item)
                    else:
                        ok_runs[item.recipe].append(item)
            for recipe, ok in ok_runs.items():
                broken = broken_runs[recipe]
                if ok or broken:
                    self._summaries[recipe] = summarize(recipe, ok, broken)
                else:
                    self._summaries.pop(recipe, None)
        unreadable = [i for i in runs.values() if isinstance(i, BrokenRecord)]
        summaries = dict(self._summaries)
        self._snapshot = Snapshot(
            generation=self._snapshot.generation + 1,
            runs=runs,
            summaries=summaries,
            rows=overview_rows(summaries.values(), unreadable),
            counts=counts(list(summaries.values()), len(unreadable)),
            present=present,
        )


def _note(item: Item | None, changed: set[str | None]) -> None:
    """Remember that `item` appeared or went away: its recipe (None: no recipe) changed."""
    if item is not None:
        changed.add(item.recipe)
