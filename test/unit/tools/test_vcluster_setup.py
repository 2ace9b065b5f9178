"""tools/vcluster-setup: the directory layout a virtual cluster needs."""

import os
import subprocess
import sys

import pytest

TOP = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
TOOL = os.path.join(TOP, "tools", "vcluster-setup")


def _Run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)


def test_layout_hosts_and_helpers(tmp_path):
    proc = _Run("-E", "-c", "3", "-i", "2", "-p", "127.0.9", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Virtual cluster setup is complete." in proc.stdout
    assert (tmp_path / "hosts").read_text().splitlines() == [
        "127.0.9.1 cluster",
        "127.0.9.10 node1",
        "127.0.9.11 node2",
        "127.0.9.12 node3",
        "127.0.9.100 instance1",
        "127.0.9.101 instance2",
    ]
    for name in ("node1", "node2", "node3"):
        for sub in ("var/lib/ganeti", "var/run/ganeti", "var/log/ganeti", "etc/ganeti"):
            assert (tmp_path / name / sub).is_dir()
    defaults = (tmp_path / "node2" / "etc/default/ganeti").read_text()
    assert "NODED_ARGS='--no-mlock -b 127.0.9.11'" in defaults
    for action in ("start", "stop", "restart", "status", "watcher"):
        assert os.access(tmp_path / f"{action}-all", os.X_OK)


def test_cmd_helper_runs_as_the_node(tmp_path):
    assert _Run("-E", "-c", "2", str(tmp_path)).returncode == 0
    out = subprocess.run(
        [str(tmp_path / "node2" / "cmd"), "echo $GANETI_HOSTNAME $GANETI_ROOTDIR"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["node2", str(tmp_path / "node2")]


def test_node_names_resolve_through_the_hosts_file(tmp_path):
    assert _Run("-E", "-c", "2", "-p", "127.0.9", str(tmp_path)).returncode == 0
    code = (
        "from ganeti import netutils; h = netutils.Hostname('node2');"
        "print(h.name, h.ip, netutils.Hostname.GetSysName())"
    )
    out = subprocess.run(
        [str(tmp_path / "node1" / "cmd"), f'{sys.executable} -c "{code}"'],
        capture_output=True,
        text=True,
        cwd=TOP,
        env=dict(os.environ, PYTHONPATH=TOP),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["node2", "127.0.9.11", "node1"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["-c", "0"], "Node count"),
        (["-c", "91"], "Node count"),
        (["-p", "10.0"], "Invalid network prefix"),
        (["-p", "1.2.300"], "Invalid network prefix"),
    ],
)
def test_bad_options_are_refused(tmp_path, args, message):
    proc = _Run("-E", *args, str(tmp_path))
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not (tmp_path / "node1").exists()


def test_missing_directory(tmp_path):
    proc = _Run("-E", str(tmp_path / "nope"))
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr
