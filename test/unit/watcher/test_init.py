"""Tests for ganeti.watcher: restart limit, boot ids, options and the lock."""

from __future__ import annotations

import fcntl
import os
import pathlib
import subprocess
import sys
import time

import pytest

from ganeti import errors, watcher
from ganeti.watcher import state

TREE = pathlib.Path(__file__).resolve().parents[3]
PROGRAM = TREE / "daemons" / "ganeti-watcher"


@pytest.fixture
def notepad(tmp_path):
    lock = state.OpenStateFile(str(tmp_path / "watcher.g.data"))
    pad = state.WatcherState(lock)
    yield pad
    pad.Close()


def _Inst(name, status="ERROR_down", nodes=("node1",), disks_active=True):
    return watcher.Instance(name=name, status=status, autostart=True,
                            disks_active=disks_active, nodes=tuple(nodes))


def test_restart_limit_then_success_resets(notepad, caplog):
    tried = []

    def _Restart(_client, name):
        tried.append(name)
        raise errors.OpExecError("still broken")

    insts = {"i1": _Inst("i1"), "ok": _Inst("ok", status="running")}
    for _ in range(watcher.MAXTRIES + 3):
        watcher.CheckInstances(None, notepad, insts, restart_fn=_Restart)
    assert tried == ["i1"] * watcher.MAXTRIES
    assert notepad.NumberOfRestartAttempts("i1") == watcher.MAXTRIES + 1
    assert "giving up" in caplog.text
    assert "retries exhausted" in caplog.text
    insts["i1"] = _Inst("i1", status="running")
    watcher.CheckInstances(None, notepad, insts, restart_fn=_Restart)
    assert notepad.NumberOfRestartAttempts("i1") == 0


def test_helpless_and_admin_down_instances_are_not_restarted(notepad):
    tried = []
    insts = {n: _Inst(n, status=s) for n, s in [("a", "ERROR_nodedown"),
                                                ("b", "ERROR_nodeoffline"),
                                                ("c", "ADMIN_down")]}
    started = watcher.CheckInstances(None, notepad, insts,
                                     restart_fn=lambda _c, n: tried.append(n))
    assert tried == [] and started == set()


def test_disks_activated_only_after_boot_id_change(notepad):
    activated = []
    insts = {"a": _Inst("a", status="running", nodes=("n1",)),
             "b": _Inst("b", status="running", nodes=("n2",)),
             "c": _Inst("c", status="running", nodes=("n1",), disks_active=False),
             "d": _Inst("d", nodes=("n1",))}

    def _Check(nodes, started=frozenset()):
        activated.clear()
        watcher.CheckDisks(None, notepad, nodes, insts, set(started),
                           activate_fn=lambda _c, names: activated.extend(names))
        return list(activated)

    nodes = {"n1": ("boot1", False), "n2": ("boot2", False), "n3": (None, True)}
    assert _Check(nodes, {"d"}) == ["a", "b"]  # first run: nothing known yet
    assert _Check(nodes) == []
    nodes["n1"] = ("boot1-rebooted", False)
    assert _Check(nodes, {"d"}) == ["a"]
    assert notepad.GetNodeBootID("n1") == "boot1-rebooted"


def test_options():
    opts = watcher.ParseOptions(["-d", "--job-age", "2h", "--wait-children"])
    assert (opts.debug, opts.job_age, opts.wait_children) == (True, 7200, True)
    assert watcher.ParseOptions([]).job_age == 6 * 3600
    with pytest.raises(SystemExit):
        watcher.ParseOptions(["extra"])
    with pytest.raises(SystemExit):
        watcher.ParseOptions(["--job-age", "soon"])


def _Env(root: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME=root.name,
               PYTHONPATH=str(TREE))
    return env


def _Root(tmp_path) -> pathlib.Path:
    root = tmp_path / "node1"
    for sub in ("var/lock", "var/log/ganeti", "var/lib/ganeti", "var/run/ganeti"):
        (root / sub).mkdir(parents=True)
    return root


def _Run(root, *args):
    return subprocess.run([sys.executable, str(PROGRAM), *args], env=_Env(root),
                          capture_output=True, text=True, timeout=30)


def test_second_watcher_exits_cleanly_while_one_runs(tmp_path):
    root = _Root(tmp_path)
    with open(root / "var/lock/ganeti-watcher.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = _Run(root)
    assert proc.returncode == 0, proc.stderr
    log = (root / "var/log/ganeti/watcher.log").read_text()
    assert "Another watcher is already running" in log


def test_outside_a_cluster_and_paused_watcher_do_nothing(tmp_path):
    root = _Root(tmp_path)
    proc = _Run(root)
    assert proc.returncode == 0, proc.stderr
    assert "not part of a cluster" in (root / "var/log/ganeti/watcher.log").read_text()
    (root / "var/lib/ganeti/watcher.pause").write_text(f"{int(time.time()) + 600}\n")
    proc = _Run(root, "-d")
    assert proc.returncode == 0
    assert "Pause has been set, exiting" in proc.stderr
    proc = _Run(root, "--bogus")
    assert proc.returncode == 2 and "no such option" in proc.stderr
