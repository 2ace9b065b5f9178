"""Tests for ganeti.watcher.state: the watcher's per-group state files."""

from __future__ import annotations

import json
import os

import pytest

from ganeti.watcher import state


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _Open(path, clock=None):
    lock = state.OpenStateFile(str(path))
    assert lock is not None
    return state.WatcherState(lock, now_fn=clock or Clock())


def test_counts_survive_save_and_reopen(tmp_path):
    path = tmp_path / "watcher.g.data"
    notepad = _Open(path)
    notepad.RecordRestartAttempt("inst1")
    notepad.RecordRestartAttempt("inst1")
    notepad.SetNodeBootID("node1", "boot-a")
    notepad.Save(str(path))
    notepad.Close()
    data = json.loads(path.read_text())
    assert data["instance"]["inst1"]["restart_count"] == 2
    assert data["node"] == {"node1": {"bootid": "boot-a"}}
    again = _Open(path)
    assert again.NumberOfRestartAttempts("inst1") == 2
    assert again.NumberOfRestartAttempts("other") == 0
    assert again.GetNodeBootID("node1") == "boot-a"
    assert state.ReadRestartCounts(str(path)) == {"inst1": 2}
    again.Close()


def test_second_opener_is_refused_even_after_save(tmp_path):
    path = tmp_path / "watcher.g.data"
    notepad = _Open(path)
    assert state.OpenStateFile(str(path)) is None
    notepad.RecordRestartAttempt("x")
    notepad.Save(str(path))  # replaces the file: the new one must be locked
    assert state.OpenStateFile(str(path)) is None
    notepad.Close()
    lock = state.OpenStateFile(str(path))
    assert lock is not None
    lock.Close()
    assert [p.name for p in tmp_path.iterdir()] == ["watcher.g.data"]


def test_obsolete_and_expired_records_are_forgotten(tmp_path):
    clock = Clock()
    notepad = _Open(tmp_path / "s", clock)
    notepad.RecordRestartAttempt("gone")
    notepad.RecordRestartAttempt("old")
    clock.now += state.RETRY_EXPIRATION - 10
    notepad.RecordRestartAttempt("recent")
    clock.now += 20
    notepad.MaintainInstanceList(["old", "recent"])
    assert notepad.NumberOfRestartAttempts("gone") == 0
    assert notepad.NumberOfRestartAttempts("old") == 0
    assert notepad.NumberOfRestartAttempts("recent") == 1
    notepad.Close()


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"instance": 3}'])
def test_bad_state_file_counts_as_empty(tmp_path, content):
    path = tmp_path / "s"
    path.write_text(content)
    notepad = _Open(path)
    assert notepad.NumberOfRestartAttempts("a") == 0
    notepad.RecordRestartAttempt("a")
    notepad.Save(str(path))
    notepad.Close()
    assert json.loads(path.read_text())["instance"]["a"]["restart_count"] == 1


def test_unchanged_state_is_not_rewritten(tmp_path):
    path = tmp_path / "s"
    notepad = _Open(path)
    notepad.Save(str(path))
    notepad.Close()
    assert path.read_text() == ""


def test_instance_status_files_merge_newest_wins(tmp_path):
    pattern = str(tmp_path / "watcher.%s.instance-status")
    old = pattern % "g1"
    new = pattern % "g2"
    state.WriteInstanceStatus(old, [("b", "running"), ("a", "ERROR_down")])
    state.WriteInstanceStatus(new, [("a", "running")])

    os.utime(old, (1, 1))
    merged = str(tmp_path / "instance-status")
    state.MergeInstanceStatus(merged, pattern)
    assert (tmp_path / "instance-status").read_text() == "a running\nb running\n"
    assert state.ReadInstanceStatus(str(tmp_path / "missing")) == []
