"""Path virtualisation for virtual clusters (GANETI_ROOTDIR/GANETI_HOSTNAME)."""

import os
import subprocess
import sys

import pytest

from ganeti import constants, errors, vcluster

ROOT = "/tmp/vc/node1.example.com"
ROOT2 = "/tmp/vc/node2.example.com"


def test_add_node_prefix():
    assert vcluster.AddNodePrefix("/var/lib/ganeti", ROOT) == ROOT + "/var/lib/ganeti"
    assert vcluster.AddNodePrefix("/var/lib/ganeti", "") == "/var/lib/ganeti"
    with pytest.raises(errors.ProgrammerError):
        vcluster.AddNodePrefix("relative/path", ROOT)


def test_virtual_path_travels_between_nodes():
    local = ROOT + "/var/lib/ganeti/config.data"
    wire = vcluster.MakeVirtualPath(local, ROOT)
    assert wire == constants.VIRTUAL_PATH_PREFIX + "/var/lib/ganeti/config.data"
    assert (
        vcluster.LocalizeVirtualPath(wire, ROOT2)
        == ROOT2 + "/var/lib/ganeti/config.data"
    )


def test_etc_hosts_is_never_virtualised():
    assert vcluster.MakeVirtualPath("/etc/hosts", ROOT) == "/etc/hosts"
    assert vcluster.LocalizeVirtualPath("/etc/hosts", ROOT2) == "/etc/hosts"


def test_non_virtual_paths_unchanged():
    assert vcluster.MakeVirtualPath("/var/lib/ganeti/x", "") == "/var/lib/ganeti/x"
    assert vcluster.LocalizeVirtualPath("/var/lib/ganeti/x", "") == "/var/lib/ganeti/x"


def test_path_outside_root_is_refused():
    with pytest.raises(errors.ProgrammerError):
        vcluster.MakeVirtualPath("/srv/other", ROOT)


def test_virtual_path_on_non_virtual_node_is_refused():
    with pytest.raises(errors.ProgrammerError):
        vcluster.LocalizeVirtualPath(constants.VIRTUAL_PATH_PREFIX + "/x", "")


def _RunWithEnv(env_extra: dict, code: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (constants.ENV_ROOTDIR, constants.ENV_HOSTNAME)
    }
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        ),
    )


def test_pathutils_honour_the_node_root():
    proc = _RunWithEnv(
        {"GANETI_ROOTDIR": ROOT, "GANETI_HOSTNAME": "node1.example.com"},
        "from ganeti import pathutils as p; print(p.DATA_DIR);"
        "print(p.QUERY_SOCKET); print(p.OS_SEARCH_PATH[0]);"
        "print(p.GetLogFilename('ganeti-noded'))",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [
        ROOT + "/var/lib/ganeti",
        ROOT + "/var/run/ganeti/socket/ganeti-query",
        "/srv/ganeti/os",  # OS search path is shared, never prefixed
        ROOT + "/var/log/ganeti/node-daemon.log",
    ]


@pytest.mark.parametrize(
    "env",
    [
        {"GANETI_ROOTDIR": ROOT},
        {"GANETI_HOSTNAME": "node1.example.com"},
        {"GANETI_ROOTDIR": ROOT, "GANETI_HOSTNAME": "node2.example.com"},
        {"GANETI_ROOTDIR": "relative/node1", "GANETI_HOSTNAME": "node1"},
    ],
)
def test_inconsistent_environment_is_a_configuration_error(env):
    proc = _RunWithEnv(env, "import ganeti.vcluster")
    assert proc.returncode != 0
    assert "ConfigurationError" in proc.stderr


def test_shared_paths_outside_the_root_may_travel_unchanged():
    assert vcluster.MakeVirtualPath("/srv/shared", ROOT, allow_outside=True) == (
        "/srv/shared")
    assert vcluster.MakeVirtualPath(ROOT + "/srv/x", ROOT, allow_outside=True) == (
        constants.VIRTUAL_PATH_PREFIX + "/srv/x")
