"""Cluster bootstrap: InitCluster on a virtual node, destroy, master voting.

InitCluster runs in a subprocess: the virtual node's paths come from
GANETI_ROOTDIR, which ganeti.vcluster reads once at import.
"""

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap

import pytest

from ganeti import bootstrap
from ganeti.rpc.client import RpcResult

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = "node1.example.com"
CLUSTER = "cluster.example.com"


def _FreePort(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


@pytest.fixture
def vnode(tmp_path):
    """A virtual node root and the environment to act as that node."""
    base = tmp_path / "vc"
    root = base / NODE
    root.mkdir(parents=True)
    node_ip, cluster_ip = "127.0.93.1", "127.0.93.100"
    (base / "hosts").write_text(f"{node_ip} {NODE} node1\n"
                                f"{cluster_ip} {CLUSTER} cluster\n")
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME=NODE,
               GANETI_HOSTS_FILE=str(base / "hosts"), PYTHONPATH=TOP,
               GANETI_NODED_PORT=str(_FreePort(node_ip)))
    return {"root": root, "env": env, "ip": node_ip, "cluster_ip": cluster_ip,
            "data": root / "var/lib/ganeti"}


_INIT_SCRIPT = textwrap.dedent("""
    import json, sys
    from ganeti import bootstrap, errors
    kwargs = dict(cluster_name="cluster.example.com", mac_prefix="aa:00:00",
                  master_netmask=None, master_netdev="lo", file_storage_dir=None,
                  shared_file_storage_dir=None, gluster_storage_dir=None,
                  candidate_pool_size=10, enabled_hypervisors=["fake"],
                  enabled_disk_templates=["diskless", "file"],
                  modify_ssh_setup=False, modify_etc_hosts=False,
                  start_daemons=False)
    kwargs.update(json.loads(sys.argv[1]))
    try:
        bootstrap.InitCluster(**kwargs)
    except errors.OpPrereqError as err:
        print(json.dumps(["OpPrereqError", list(err.args)]))
        sys.exit(3)
    print(json.dumps(["ok"]))
""")


def _Init(vnode, **overrides):
    """Run InitCluster as the virtual node; return (exit code, result)."""
    proc = subprocess.run([sys.executable, "-c", _INIT_SCRIPT, json.dumps(overrides)],
                          env=vnode["env"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode in (0, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout.splitlines()[-1])


def _Mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# --- InitCluster -------------------------------------------------------------


def test_init_writes_the_cluster_files_with_ganeti_modes(vnode):
    code, result = _Init(vnode)
    assert (code, result) == (0, ["ok"])
    data = vnode["data"]
    # Modes of spec/samples/var-lib-ganeti-listing.txt.
    expected = {"client.pem": 0o440, "cluster-domain-secret": 0o640,
                "config.data": 0o640, "hmac.key": 0o440, "known_hosts": 0o644,
                "rapi.pem": 0o440, "server.pem": 0o440, "queue": 0o750,
                "rapi": 0o750, "ssconf_master_node": 0o444}
    assert {name: _Mode(data / name) for name in expected} == expected
    assert _Mode(vnode["root"] / "var/run/ganeti/socket") == 0o770
    assert len((data / "hmac.key").read_text()) == 41
    assert (data / "ssconf_master_node").read_text() == f"{NODE}\n"
    assert (data / "ssconf_node_primary_ips").read_text() == f"{NODE} {vnode['ip']}\n"
    assert (data / "ssconf_master_ip").read_text() == f"{vnode['cluster_ip']}\n"
    assert os.path.isdir(vnode["root"] / "srv/ganeti/file-storage")


def test_init_config_has_master_candidate_group_and_cert_digest(vnode):
    from ganeti.utils import x509

    assert _Init(vnode)[0] == 0
    data = vnode["data"]
    config = json.loads((data / "config.data").read_text())
    assert config["version"] == 3000000
    cluster = config["cluster"]
    (node_uuid, node), = config["nodes"].items()
    (group_uuid, group), = config["nodegroups"].items()
    assert cluster["master_node"] == node_uuid
    assert cluster["cluster_name"] == CLUSTER
    assert node["name"] == NODE and node["master_candidate"] is True
    assert node["group"] == group_uuid and group["name"] == "default"
    assert cluster["enabled_hypervisors"] == ["fake"]
    assert cluster["ipolicy"]["disk-templates"] == ["diskless", "file"]
    assert cluster["hv_state_static"] == {"fake": bootstrap.HVST_DEFAULTS}
    digest = x509.GetCertificateDigest(str(data / "client.pem"))
    assert cluster["candidate_certs"] == {node_uuid: digest}
    assert (data / "ssconf_master_candidates_certs").read_text() == \
        f"{node_uuid}={digest}\n"
    # client.pem is signed by the cluster certificate, so noded accepts it.
    assert x509.CheckCertificateSignedBy((data / "client.pem").read_text(),
                                         (data / "server.pem").read_text())


def test_second_init_is_refused_and_changes_nothing(vnode):
    assert _Init(vnode)[0] == 0
    config = vnode["data"] / "config.data"
    before = config.read_bytes()
    code, result = _Init(vnode, cluster_name="other.example.com")
    assert code == 3
    assert result == ["OpPrereqError", ["Cluster is already initialised",
                                        "wrong_state"]]
    assert config.read_bytes() == before


@pytest.mark.parametrize("overrides, message", [
    ({"enabled_hypervisors": ["nosuchhv"]},
     "Enabled hypervisors list contains invalid entries: nosuchhv"),
    ({"enabled_disk_templates": []},
     "Enabled disk templates list must contain at least one member"),
    ({"mac_prefix": "zz:00"}, "Invalid mac prefix given 'zz:00'"),
    ({"master_netdev": "nosuchdev0"}, "Invalid master netdev given (nosuchdev0)"),
    ({"master_netmask": 33}, "CIDR netmask (33) not valid for IPv4"),
    ({"cluster_name": "nosuch.invalid"}, "does not resolve"),
    ({"beparams": {"vcpus": "many"}}, "Invalid backend parameters"),
    ({"candidate_pool_size": 0}, "Invalid candidate pool size 0"),
    ({"ssh_key_type": "dsa", "ssh_key_bits": 2048},
     "Invalid SSH key size 2048 for key type dsa"),
    ({"file_storage_dir": "/etc/ganeti-files"}, "uses a forbidden prefix"),
    ({"vg_name": "xenvg"}, "volume group 'xenvg' missing"),
])
def test_bad_init_arguments_are_refused_before_anything_is_written(
        vnode, overrides, message):
    code, (kind, args) = _Init(vnode, **overrides)
    assert (code, kind) == (3, "OpPrereqError")
    assert message in args[0]
    assert not os.path.exists(vnode["root"] / "var")


def test_leftovers_of_an_old_cluster_are_refused(vnode):
    queue = vnode["data"] / "queue"
    queue.mkdir(parents=True)
    (queue / "job-7").write_text("{}")
    code, (kind, args) = _Init(vnode)
    assert (code, kind) == (3, "OpPrereqError")
    assert args == [f"{queue} contains non-directory entries like job-7. Remove"
                    " left-overs of an old cluster before initialising a new one",
                    "wrong_state"]
    assert not (vnode["data"] / "config.data").exists()


def test_init_after_destroy_succeeds(vnode):
    assert _Init(vnode)[0] == 0
    script = ("from ganeti import bootstrap; "
              "bootstrap.FinalizeClusterDestroy('uuid')")
    subprocess.run([sys.executable, "-c", script], env=vnode["env"], check=True,
                   capture_output=True, timeout=60)
    assert _Init(vnode) == (0, ["ok"])


def test_finalize_cluster_destroy_removes_the_cluster_files(vnode):
    assert _Init(vnode)[0] == 0
    pidfile = vnode["root"] / "var/run/ganeti/ganeti-noded.pid"
    pidfile.write_text("999999\n")  # a stale noded pid file must stay
    script = ("from ganeti import bootstrap; "
              "bootstrap.FinalizeClusterDestroy('uuid')")
    subprocess.run([sys.executable, "-c", script], env=vnode["env"], check=True,
                   capture_output=True, timeout=60)
    left = sorted(os.listdir(vnode["data"]))
    assert left == ["queue", "rapi"]
    assert os.listdir(vnode["data"] / "queue") == []
    assert pidfile.exists()


# --- voting ------------------------------------------------------------------


class _VotingRunner:
    """Answers master_node_name from a script: name -> vote or None (down)."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def call_master_node_name(self, nodes):
        self.asked.append(list(nodes))
        return {node: (RpcResult(fail_msg="Connection refused", node=node)
                       if self.answers[node] is None
                       else RpcResult(data=[True, self.answers[node]], node=node))
                for node in nodes}


def test_votes_leave_out_myself_and_count_unreachable_nodes_as_none():
    runner = _VotingRunner({"n2": "n1", "n3": "n1", "n4": None, "n5": "n5"})
    votes = bootstrap.GatherMasterVotes(["n1", "n2", "n3", "n4", "n5"], runner,
                                        myself="n1")
    assert runner.asked == [["n2", "n3", "n4", "n5"]]
    assert votes == [("n1", 2), ("n5", 1), (None, 1)]


def test_single_node_cluster_asks_nobody_and_is_master():
    runner = _VotingRunner({})
    assert bootstrap.GatherMasterVotes(["n1"], runner, myself="n1") == []
    assert runner.asked == []
    assert bootstrap.CheckMasterVotes([], "n1")[0] is True


@pytest.mark.parametrize("votes, agreed", [
    ([("n1", 2)], True),                        # 3 of 3
    ([("n1", 1), (None, 1)], True),             # 2 of 3: half plus one
    ([(None, 1)], False),                       # 1 of 2: the other is down
    ([("n1", 1), ("n2", 1), (None, 1)], False),  # 2 of 4, 3 needed
    ([("n1", 2), ("n2", 2)], True),             # tie of the others: 3 of 5
    ([("n2", 2)], False),                       # the others name n2
])
def test_master_needs_half_of_all_nodes_plus_one(votes, agreed):
    result, message = bootstrap.CheckMasterVotes(votes, "n1")
    assert result is agreed
    if not agreed:
        assert message.startswith("It seems we are not the master")


def test_refusal_message_names_the_other_master_and_silent_nodes():
    ok, message = bootstrap.CheckMasterVotes([("n2", 1), (None, 1)], "n1")
    assert not ok
    assert "n2 (1)" in message and "1 node(s) did not answer" in message
