"""Tests for ganeti.backend.cluster_node: leaving the cluster, demotion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ganeti import backend, errors, netutils, pathutils, vcluster
from ganeti.backend import RPCFail

PROCS = backend.LoadAll()

pytestmark = pytest.mark.skipif(vcluster.IsVirtual(),
                                reason="tests expect a non-virtual node")

_REROOTED = ["DATA_DIR", "RUN_DIR", "CRYPTO_KEYS_DIR", "CLUSTER_CONF_FILE",
             "NODED_CERT_FILE", "NODED_CLIENT_CERT_FILE", "RAPI_CERT_FILE",
             "CONFD_HMAC_KEY", "SPICE_CERT_FILE", "SPICE_CACERT_FILE",
             "CLUSTER_DOMAIN_SECRET_FILE", "QUEUE_DIR", "JOB_QUEUE_ARCHIVE_DIR",
             "JOB_QUEUE_LOCK_FILE", "JOB_QUEUE_DRAIN_FILE"]


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A node root below tmp_path with the files of a cluster member."""
    for name in _REROOTED:
        monkeypatch.setattr(pathutils, name, str(tmp_path) + getattr(pathutils, name))
    data = Path(pathutils.DATA_DIR)
    for path in (data, Path(pathutils.CRYPTO_KEYS_DIR), Path(pathutils.QUEUE_DIR),
                 Path(pathutils.JOB_QUEUE_ARCHIVE_DIR) / "0"):
        path.mkdir(parents=True, exist_ok=True)
    for name in ("config.data", "ssconf_master_node", "ssconf_node_list",
                 "server.pem", "client.pem", "rapi.pem", "hmac.key",
                 "known_hosts", "cluster-domain-secret"):
        (data / name).write_text(f"{name}\n")
    (data / "ssconf_master_node").write_text("master.example.com\n")
    (data / "rapi").mkdir()
    (data / "rapi" / "users").write_text("admin\n")
    Path(pathutils.CRYPTO_KEYS_DIR, "x509-key").write_text("key")
    queue = Path(pathutils.QUEUE_DIR)
    for name in ("job-1", "serial", "lock"):
        (queue / name).write_text(name)
    (Path(pathutils.JOB_QUEUE_ARCHIVE_DIR) / "0" / "job-0").write_text("old")
    return data


def test_leave_cluster_removes_cluster_files_then_quits(node: Path) -> None:
    with pytest.raises(errors.QuitGanetiException) as err:
        PROCS["node_leave_cluster"](False)
    assert err.value.args == (True, "Shutdown scheduled")
    assert sorted(os.listdir(node)) == ["queue", "rapi"]
    assert os.listdir(pathutils.CRYPTO_KEYS_DIR) == []
    # The queue's lock file stays; jobs and archive are gone.
    assert sorted(os.listdir(pathutils.QUEUE_DIR)) == ["archive", "lock"]
    assert not list(Path(pathutils.JOB_QUEUE_ARCHIVE_DIR).rglob("job-*"))


def test_leave_cluster_bad_argument_removes_nothing(node: Path) -> None:
    with pytest.raises(RPCFail, match="Invalid argument 'modify_ssh_setup'"):
        PROCS["node_leave_cluster"]("yes")
    assert (node / "config.data").exists() and (node / "server.pem").exists()


def test_demote_removes_config_and_keeps_a_backup(node: Path) -> None:
    PROCS["node_demote_from_mc"]()
    assert not (node / "config.data").exists()
    backups = [name for name in os.listdir(node)
               if name.startswith("config.data.backup-")]
    assert len(backups) == 1
    assert (node / backups[0]).read_text() == "config.data\n"
    # Without config.data there is nothing to do, and no error.
    PROCS["node_demote_from_mc"]()


def test_demote_refused_on_the_master(node: Path) -> None:
    (node / "ssconf_master_node").write_text(
        netutils.Hostname.GetSysName() + "\n")
    with pytest.raises(RPCFail, match="ssconf status shows I'm the master node"):
        PROCS["node_demote_from_mc"]()
    assert (node / "config.data").exists()


def test_demote_refused_while_masterd_runs(node: Path) -> None:
    Path(pathutils.RUN_DIR).mkdir(parents=True, exist_ok=True)
    Path(pathutils.GetPidFilename("ganeti-masterd")).write_text(f"{os.getpid()}\n")
    with pytest.raises(RPCFail, match="The master daemon is running"):
        PROCS["node_demote_from_mc"]()
    assert (node / "config.data").exists()


def test_demote_without_ssconf(node: Path) -> None:
    (node / "ssconf_master_node").unlink()
    with pytest.raises(RPCFail, match="Cannot tell whether this node is the"
                       " master"):
        PROCS["node_demote_from_mc"]()
    assert (node / "config.data").exists()
