"""Tests for ganeti-cleaner: expired files go, everything else stays."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

TREE = pathlib.Path(__file__).resolve().parents[2]
PROGRAM = TREE / "daemons" / "ganeti-cleaner"
OLD = time.time() - 22 * 86400
UUID = "0a1b2c3d-0000-1111-2222-333344445555"


def _Make(path: pathlib.Path, old: bool, is_dir: bool = False) -> pathlib.Path:
    if is_dir:
        path.mkdir(parents=True)
        (path / "key.pem").write_text("k")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    if old:
        os.utime(path, (OLD, OLD))
    return path


def _Tree(root: pathlib.Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if "var/log" not in str(p) and "var/lock" not in str(p)}


def _Run(root: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME=root.name,
               PYTHONPATH=str(TREE))
    return subprocess.run([sys.executable, str(PROGRAM), *args], env=env,
                          capture_output=True, text=True, timeout=30)


def _Cluster(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "node1"
    (root / "var/lock").mkdir(parents=True)
    _Make(root / "var/lib/ganeti/ssconf_master_node", False)
    return root


def test_master_mode_removes_only_expired_archived_jobs(tmp_path):
    root = _Cluster(tmp_path)
    archive = root / "var/lib/ganeti/queue/archive"
    _Make(archive / "0" / "job-1", True)
    _Make(archive / "0" / "job-2", False)
    _Make(root / "var/lib/ganeti/queue/job-3", True)
    crypto_old = _Make(root / "var/run/ganeti/crypto/x509-old", True, is_dir=True)
    before = _Tree(root)
    proc = _Run(root, "master")
    assert proc.returncode == 0, proc.stderr
    assert before - _Tree(root) == {"var/lib/ganeti/queue/archive/0/job-1"}
    assert crypto_old.exists()
    (log,) = (root / "var/log/ganeti/cleaner").iterdir()
    assert "job-1" in log.read_text()


def test_node_mode_removes_crypto_impexp_and_watcher_leftovers(tmp_path):
    root = _Cluster(tmp_path)
    run = root / "var/run/ganeti"
    data = root / "var/lib/ganeti"
    _Make(run / "crypto/x509-old", True, is_dir=True)
    _Make(run / "crypto/x509-new", False, is_dir=True)
    _Make(run / "import-export/exp-old", True, is_dir=True)
    _Make(data / f"watcher.{UUID}.data", True)
    _Make(data / f"watcher.{UUID}.instance-status", True)
    _Make(data / "watcher.pause", True)
    _Make(data / "config.data", True)
    _Make(data / "queue/archive/0/job-1", True)
    proc = _Run(root, "node")
    assert proc.returncode == 0, proc.stderr
    left = _Tree(root)
    for gone in ("var/run/ganeti/crypto/x509-old", "var/run/ganeti/import-export/"
                 "exp-old", f"var/lib/ganeti/watcher.{UUID}.data",
                 f"var/lib/ganeti/watcher.{UUID}.instance-status"):
        assert gone not in left
    for kept in ("var/run/ganeti/crypto/x509-new", "var/lib/ganeti/watcher.pause",
                 "var/lib/ganeti/config.data", "var/lib/ganeti/queue/archive/0/job-1"):
        assert kept in left


def test_outside_a_cluster_nothing_is_removed(tmp_path):
    root = tmp_path / "node1"
    (root / "var/lock").mkdir(parents=True)
    _Make(root / "var/lib/ganeti/queue/archive/0/job-1", True)
    before = _Tree(root)
    assert _Run(root, "master").returncode == 0
    assert _Tree(root) == before


def test_usage_errors(tmp_path):
    root = _Cluster(tmp_path)
    for args in ([], ["both"], ["master", "node"]):
        proc = _Run(root, *args)
        assert proc.returncode == 64
        assert "Usage: ganeti-cleaner {master|node}" in proc.stderr
