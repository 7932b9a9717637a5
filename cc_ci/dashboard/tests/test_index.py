"""The index follows the results directory without a restart and survives damaged records."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cc_ci.contract.record import RunRecord, RunStatus
from cc_ci.contract.record_read import BrokenRecord
from cc_ci.dashboard.index import Index
from cc_ci.dashboard.tests.worlds import record, stage, write_atomically, write_raw, write_run


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_new_run_appears_on_the_next_look_without_a_restart(tmp_path: Path):
    write_run(tmp_path, record("r1", "custom-html"))
    index = Index(tmp_path)
    assert set(index.snapshot().runs) == {"r1"}
    write_run(tmp_path, record("r2", "wordpress"))
    snap = index.snapshot()
    assert set(snap.runs) == {"r1", "r2"}
    assert set(snap.summaries) == {"custom-html", "wordpress"}


def test_a_running_record_is_read_again_as_soon_as_the_runner_rewrites_it(tmp_path: Path):
    clock = Clock()
    write_run(tmp_path, record("r1", "app", status="running", stages=[stage("install", "running")]))
    index = Index(tmp_path, full_rescan_s=3600, clock=clock)
    assert index.snapshot().runs["r1"].status is RunStatus.RUNNING
    write_run(tmp_path, record("r1", "app", status="failed", stages=[stage("install", "failed")]))
    assert index.snapshot().runs["r1"].status is RunStatus.FAILED  # no clock advance needed


def test_a_finished_record_changed_later_is_picked_up_by_the_periodic_rescan(tmp_path: Path):
    clock = Clock()
    write_run(tmp_path, record("r1", "app", status="passed"))
    index = Index(tmp_path, full_rescan_s=30, clock=clock)
    assert index.snapshot().runs["r1"].status is RunStatus.PASSED
    write_run(tmp_path, record("r1", "app", status="failed"))
    clock.now += 31
    assert index.snapshot().runs["r1"].status is RunStatus.FAILED


def test_an_unchanged_record_is_not_parsed_again(tmp_path: Path):
    clock = Clock()
    for i in range(5):
        write_run(tmp_path, record(f"r{i}", "app"))
    index = Index(tmp_path, full_rescan_s=30, clock=clock)
    index.snapshot()
    assert index.stats.parsed == 5
    for _ in range(3):
        clock.now += 31
        index.snapshot()
    assert index.stats.parsed == 5 and index.stats.full_rescans == 4
    write_run(tmp_path, record("r3", "app", status="failed"))
    clock.now += 31
    index.snapshot()
    assert index.stats.parsed == 6


def test_between_rescans_finished_runs_are_not_even_looked_at(tmp_path: Path):
    clock = Clock()
    write_run(tmp_path, record("r1", "app"))
    write_run(tmp_path, record("r2", "app", status="running"))
    index = Index(tmp_path, full_rescan_s=30, clock=clock)
    first = index.snapshot()
    again = index.snapshot()
    assert again is first  # nothing changed: the same snapshot, no new generation
    assert index.stats.listings == 1


def test_a_half_written_record_is_one_unreadable_entry_and_the_others_still_show(tmp_path: Path):
    write_run(tmp_path, record("r1", "app"))
    write_raw(tmp_path, "r2", b'{"schema": 1, "run_id": "r2", "recipe": "app", "sta')
    snap = Index(tmp_path).snapshot()
    assert isinstance(snap.runs["r1"], RunRecord)
    broken = snap.runs["r2"]
    assert isinstance(broken, BrokenRecord) and "half-written" in broken.reason
    assert snap.counts.unreadable == 1 and snap.counts.recipes == 1
    assert [row.broken.run_id for row in snap.rows if row.broken] == ["r2"]


def test_a_damaged_record_that_is_finished_later_replaces_its_error_at_once(tmp_path: Path):
    clock = Clock()
    write_raw(tmp_path, "r1", b"{")
    index = Index(tmp_path, full_rescan_s=3600, clock=clock)
    assert isinstance(index.snapshot().runs["r1"], BrokenRecord)
    write_atomically(tmp_path / "r1" / "run.json", json.dumps(record("r1", "app")).encode())
    snap = index.snapshot()
    assert isinstance(snap.runs["r1"], RunRecord) and snap.counts.unreadable == 0


def test_a_run_folder_whose_record_is_not_written_yet_appears_once_it_is(tmp_path: Path):
    clock = Clock()
    (tmp_path / "r1").mkdir()
    index = Index(tmp_path, full_rescan_s=3600, clock=clock)
    assert index.snapshot().runs == {}
    write_atomically(tmp_path / "r1" / "run.json", json.dumps(record("r1", "app")).encode())
    assert "r1" in index.snapshot().runs


def test_a_removed_run_disappears_with_its_recipe(tmp_path: Path):
    folder = write_run(tmp_path, record("r1", "app"))
    index = Index(tmp_path)
    assert "app" in index.snapshot().summaries
    for f in sorted(folder.rglob("*"), reverse=True):
        f.unlink()
    folder.rmdir()
    snap = index.snapshot()
    assert snap.runs == {} and snap.summaries == {} and snap.rows == ()


def test_links_are_not_followed_into_or_out_of_run_folders(tmp_path: Path):
    results = tmp_path / "results"
    outside = tmp_path / "outside"
    write_run(outside, record("r1", "app"))
    results.mkdir()
    os.symlink(outside / "r1", results / "r1")  # a linked run folder: ignored
    (results / "r2").mkdir()
    os.symlink(outside / "r1" / "run.json", results / "r2" / "run.json")  # a linked record
    snap = Index(results).snapshot()
    assert "r1" not in snap.runs
    assert isinstance(snap.runs["r2"], BrokenRecord)


def test_folders_that_are_not_run_ids_are_ignored(tmp_path: Path):
    write_run(tmp_path, record("r1", "app"))
    (tmp_path / ".tmp-xyz").mkdir()
    (tmp_path / "lost+found").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    assert set(Index(tmp_path).snapshot().runs) == {"r1"}


def test_a_results_directory_that_goes_away_leaves_an_empty_index_not_a_crash(tmp_path: Path):
    results = tmp_path / "results"
    write_run(results, record("r1", "app"))
    index = Index(results)
    assert index.snapshot().present
    moved = tmp_path / "moved"
    results.rename(moved)
    snap = index.snapshot()
    assert not snap.present and snap.runs == {} and snap.summaries == {}
    moved.rename(results)
    assert "r1" in index.snapshot().runs


def test_each_change_publishes_a_new_generation(tmp_path: Path):
    index = Index(tmp_path)
    g0 = index.snapshot().generation
    write_run(tmp_path, record("r1", "app"))
    g1 = index.snapshot().generation
    assert g1 > g0 and index.snapshot().generation == g1


def test_a_record_deleted_from_its_folder_goes_away_and_comes_back_when_rewritten(tmp_path: Path):
    clock = Clock()
    write_run(tmp_path, record("r1", "app"))
    index = Index(tmp_path, full_rescan_s=30, clock=clock)
    assert "r1" in index.snapshot().runs
    (tmp_path / "r1" / "run.json").unlink()
    clock.now += 31  # a finished run is only looked at again by the periodic rescan
    assert "r1" not in index.snapshot().runs
    write_run(tmp_path, record("r1", "app", status="failed"))
    assert index.snapshot().runs["r1"].status is RunStatus.FAILED  # watched closely meanwhile
