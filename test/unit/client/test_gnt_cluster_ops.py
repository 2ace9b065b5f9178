"""gnt-cluster modify, rename, master-failover, master IP, search-tags,
command, copyfile and renew-crypto: what the commands send and print.

The master daemon's side is played by clitestlib's LUXI replay server on a
real socket; the operator's answers to questions are scripted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from clitestlib import RunMain

from ganeti import cli, defaults, errors
from ganeti.client import gnt_cluster, gnt_cluster_ssh
from ganeti.utils import x509

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _Reply(result: Any) -> bytes:
    return json.dumps({"success": True, "result": result}).encode()


def _JobReplies(job_id: int, result: Any) -> list[bytes]:
    """SubmitJob, WaitForJobChange and QueryJobs answers of one finished job."""
    return [_Reply(job_id), _Reply([["success"], []]),
            _Reply([["success", ["success"], [result]]])]


def _Run(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    return RunMain(gnt_cluster, ["gnt-cluster"] + argv, capsys)


def _SubmittedOp(server: Any) -> dict[str, Any]:
    request = server.ParsedRequests()[0]
    assert request["method"] == "SubmitJob"
    (op,) = request["args"][0]
    return op


@pytest.fixture
def answers(monkeypatch):
    """Script the operator's answers; the questions asked are recorded."""
    asked: list[str] = []
    replies: list[bool] = []

    def _Ask(text, choices=None):
        asked.append(text)
        return replies.pop(0) if replies else False

    monkeypatch.setattr(cli, "AskUser", _Ask)
    return asked, replies


# --- modify -------------------------------------------------------------------


def test_modify_needs_a_parameter(luxi_replay, capsys):
    server = luxi_replay([])
    code, _, err = _Run(["modify"], capsys)
    assert code == 1
    assert err == "Please give at least one of the parameters.\n"
    assert server.requests == []


def test_modify_builds_the_opcode(luxi_replay, capsys):
    server = luxi_replay([_Reply(17)])
    code, _, err = _Run(["modify", "--submit", "-C", "5", "--max-running-jobs", "3",
                         "-H", "fake:migration_mode=live", "-B", "vcpus=2",
                         "--reserved-lvs", "xenvg/a,xenvg/b", "--uid-pool",
                         "1000-1009", "--enabled-data-collectors", "drbd=false",
                         "--data-collector-interval", "lv=2.5",
                         "--ipolicy-vcpu-ratio", "3", "--user-shutdown", "yes"],
                        capsys)
    assert (code, err) == (0, "JobID: 17\n")  # on stderr, as Ganeti
    op = _SubmittedOp(server)
    assert op["OP_ID"] == "OP_CLUSTER_SET_PARAMS"
    assert op["candidate_pool_size"] == 5 and op["max_running_jobs"] == 3
    assert op["hvparams"] == {"fake": {"migration_mode": "live"}}
    assert op["beparams"] == {"vcpus": 2}
    assert op["reserved_lvs"] == ["xenvg/a", "xenvg/b"]
    assert op["uid_pool"] == [[1000, 1009]]
    assert op["enabled_data_collectors"] == {"drbd": False}
    assert op["data_collector_interval"] == {"lv": 2500000}
    assert op["ipolicy"] == {"vcpu-ratio": 3.0}
    assert op["enabled_user_shutdown"] is True
    # What was not given is not sent as a change.
    assert op["vg_name"] is None and op["mac_prefix"] is None
    assert op["compression_tools"] is None and op["ndparams"] is None


def test_modify_resets(luxi_replay, capsys):
    server = luxi_replay([_Reply(3)])
    code, _, _ = _Run(["modify", "--submit", "--reserved-lvs", "",
                       "--compression-tools", ""], capsys)
    assert code == 0
    op = _SubmittedOp(server)
    assert op["reserved_lvs"] == []
    assert op["compression_tools"] == defaults.COMPRESSION_TOOLS


@pytest.mark.parametrize("argv, message", [
    (["-B", "vcpus=many"], "is not a valid integer"),
    (["--master-netmask", "wide"], "expects an int parameter"),
    (["--data-collector-interval", "lv=0"], "not above zero"),
    (["--uid-pool", "9-1"], "Invalid user-id range"),
])
def test_modify_bad_values_send_nothing(argv, message, luxi_replay, capsys):
    server = luxi_replay([])
    code, _, err = _Run(["modify"] + argv, capsys)
    assert code == 1
    assert message in err
    assert server.requests == []


def test_modify_vg_without_lvm_prints_a_note(luxi_replay, capsys):
    luxi_replay([_Reply(4)])
    code, out, _ = _Run(["modify", "--submit", "--vg-name", "xenvg",
                         "--enabled-disk-templates", "diskless"], capsys)
    assert code == 0
    assert "did not enable any of the following lvm-based" in out


# --- rename, master IP, redist-conf, search-tags ------------------------------


def test_rename_asks_first(luxi_replay, answers, capsys):
    asked, _ = answers
    server = luxi_replay([_Reply(["cluster.example.com"])])
    code, _, _ = _Run(["rename", "new.example.com"], capsys)
    assert code == 1
    assert "from 'cluster.example.com' to 'new.example.com'" in asked[0]
    assert len(server.requests) == 1


def test_rename(luxi_replay, capsys):
    server = luxi_replay([_Reply(["cluster.example.com"])]
                         + _JobReplies(5, "new.example.com"))
    code, out, _ = _Run(["rename", "-f", "new"], capsys)
    assert code == 0
    assert out == "Cluster renamed from 'cluster.example.com' to 'new.example.com'\n"
    submit = server.ParsedRequests()[1]
    assert submit["args"][0][0]["OP_ID"] == "OP_CLUSTER_RENAME"
    assert submit["args"][0][0]["name"] == "new"


def test_deactivate_master_ip(luxi_replay, answers, capsys):
    server = luxi_replay(_JobReplies(6, None))
    assert _Run(["deactivate-master-ip"], capsys)[0] == 1
    assert server.requests == []
    assert _Run(["deactivate-master-ip", "--yes"], capsys)[0] == 0
    assert _SubmittedOp(server)["OP_ID"] == "OP_CLUSTER_DEACTIVATE_MASTER_IP"


def test_activate_master_ip(luxi_replay, capsys):
    server = luxi_replay(_JobReplies(7, None))
    assert _Run(["activate-master-ip"], capsys)[0] == 0
    assert _SubmittedOp(server)["OP_ID"] == "OP_CLUSTER_ACTIVATE_MASTER_IP"


def test_redist_conf(luxi_replay, capsys):
    server = luxi_replay([_Reply(8)])
    assert _Run(["redist-conf", "--submit"], capsys) == (0, "", "JobID: 8\n")
    assert _SubmittedOp(server)["OP_ID"] == "OP_CLUSTER_REDIST_CONF"


def test_search_tags(luxi_replay, capsys):
    server = luxi_replay(_JobReplies(9, [["/nodes/node1", "web"],
                                         ["/cluster", "web-prod"]]))
    code, out, _ = _Run(["search-tags", "^web"], capsys)
    assert (code, out) == (0, "/cluster web-prod\n/nodes/node1 web\n")
    assert _SubmittedOp(server)["pattern"] == "^web"


def test_search_tags_without_match(luxi_replay, capsys):
    luxi_replay(_JobReplies(10, []))
    assert _Run(["search-tags", "nothing"], capsys) == (1, "", "")


# --- master-failover ---------------------------------------------------------------


def test_failover_without_voting_asks(answers, capsys, monkeypatch):
    from ganeti import failover

    asked, replies = answers
    calls = []
    monkeypatch.setattr(failover, "MasterFailover",
                        lambda no_voting: calls.append(no_voting) or (0, []))
    assert _Run(["master-failover", "--no-voting"], capsys)[0] == 1
    assert "two masters" in asked[0] and calls == []
    assert _Run(["master-failover", "--no-voting", "--yes-do-it"], capsys)[0] == 0
    assert calls == [True] and len(asked) == 1


def test_failover_refused_without_majority(capsys, monkeypatch):
    from ganeti import failover

    monkeypatch.setattr(failover, "MajorityHealthy",
                        lambda ignore_offline: (False, ["node1", "node3"]))
    code, _, err = _Run(["master-failover"], capsys)
    assert code == 1
    assert "these did not: node1, node3" in err and "--no-voting" in err


def test_failover_prints_warnings(capsys, monkeypatch):
    from ganeti import failover

    monkeypatch.setattr(failover, "MajorityHealthy", lambda ignore: (True, []))
    monkeypatch.setattr(failover, "MasterFailover",
                        lambda no_voting: (1, ["Could not stop node1"]))
    assert _Run(["master-failover"], capsys) == (1, "", "Could not stop node1\n")


def test_failover_refusal_is_a_clear_error(capsys, monkeypatch):
    from ganeti import failover

    def _Refuse(no_voting):
        raise errors.OpPrereqError("configuration of this node is older",
                                   errors.ECODE_STATE)

    monkeypatch.setattr(failover, "MajorityHealthy", lambda ignore: (True, []))
    monkeypatch.setattr(failover, "MasterFailover", _Refuse)
    code, _, err = _Run(["masterfailover"], capsys)
    assert code == 1
    assert "configuration of this node is older" in err
    assert "Traceback" not in err


# --- command, copyfile --------------------------------------------------------------


def test_command_output_format(capsys):
    opts = type("Opts", (), {"show_machine_names": False})()
    gnt_cluster_ssh._PrintCommandResult(opts, "node1", 0, "a\nb")
    opts.show_machine_names = True
    gnt_cluster_ssh._PrintCommandResult(opts, "node2", 2, "a\nb\n")
    assert capsys.readouterr().out == (
        f"{'-' * 48}\nnode: node1\na\nb\nreturn code = 0\n"
        f"{'-' * 48}\nnode2: a\nnode2: b\nreturn code = 2\n")


def test_copyfile_of_missing_file(capsys, tmp_path):
    code, _, err = _Run(["copyfile", str(tmp_path / "absent")], capsys)
    assert code == 1
    assert "No such filename" in err


def test_remote_path_on_a_real_node():
    assert gnt_cluster_ssh.RemotePath("/etc/ganeti/x y") == "'/etc/ganeti/x y'"


def test_remote_path_on_a_virtual_node(tmp_path):
    root = tmp_path / "node1"
    root.mkdir()
    code = ("from ganeti.client import gnt_cluster_ssh as s\n"
            f"print(s.RemotePath({str(root / 'var/lib/ganeti/f')!r}))\n"
            "try:\n    s.RemotePath('/tmp/elsewhere')\n"
            "except s.errors.OpPrereqError as err:\n    print(err.args[0])\n")
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME="node1",
               PYTHONPATH=TOP)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert out[0] == '"${GANETI_ROOTDIR:-}"/var/lib/ganeti/f'
    assert "only files below the node root" in out[1]


# --- renew-crypto ---------------------------------------------------------------


def test_renew_crypto_needs_something_to_renew(luxi_replay, capsys):
    server = luxi_replay([])
    code, _, err = _Run(["renew-crypto", "-f"], capsys)
    assert code == 1 and "Nothing to renew" in err
    assert server.requests == []


@pytest.mark.parametrize("argv, message", [
    (["--new-rapi-certificate", "--rapi-certificate", "/x"], "Only one of the"),
    (["--new-cluster-domain-secret", "--cluster-domain-secret", "/x"],
     "Only one of the"),
    (["--spice-certificate", "/x"], "Both --spice-certificate"),
    (["--rapi-certificate", "/nonexistent.pem"], "Unable to load X509"),
])
def test_renew_crypto_option_errors(argv, message, luxi_replay, capsys):
    server = luxi_replay([])
    code, _, err = _Run(["renew-crypto", "-f"] + argv, capsys)
    assert code == 1 and message in err
    assert server.requests == []


def test_renew_crypto_asks_first(luxi_replay, answers, capsys):
    asked, _ = answers
    server = luxi_replay([])
    assert _Run(["renew-crypto", "--new-cluster-certificate"], capsys)[0] == 1
    assert "stopped and started again" in asked[0]
    assert server.requests == []


def test_read_and_verify_cert(tmp_path):
    pem = tmp_path / "rapi.pem"
    x509.GenerateSelfSignedSslCert(str(pem), 1, "cluster")
    assert "BEGIN CERTIFICATE" in gnt_cluster_ssh.ReadAndVerifyCert(str(pem), True)
    cert_only = tmp_path / "cert.pem"
    text = pem.read_text()
    cert_only.write_text(text[text.index("-----BEGIN CERTIFICATE"):])
    gnt_cluster_ssh.ReadAndVerifyCert(str(cert_only))
    with pytest.raises(errors.X509CertError, match="private key"):
        gnt_cluster_ssh.ReadAndVerifyCert(str(cert_only), True)
