"""gnt-os against a replayed master daemon (LUXI on a real unix socket).

The OP_OS_DIAGNOSE results replayed are those behind the Ganeti 3.0.2
samples (samples/gnt-os-*.txt): the commands must print them byte for byte.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from clitestlib import RunMain

from ganeti.client import gnt_os

SAMPLES = pathlib.Path("/work/shared/spec/samples")
NODE = "ff2df26a-d9c3-4726-80d6-308cd718fb5c"
FS_DOC = ("The filesystem type to use for the root partition. This has to be a"
          " filesystem type supported by ``mke2fs``. The default is 'ext4'.")

LIST_OUT = "Name               \ndebootstrap+default\nnoop+alt\nnoop+default\n"

INFO_OUT = f"""debootstrap:
  - valid: True
  - hidden: False
  - blacklisted: False
  - API versions:
    - 5
    - 10
    - 15
    - 20
  - variants:
    - default
  - parameters:
    - filesystem: {FS_DOC}
  - trusted: True

noop:
  - valid: True
  - hidden: False
  - blacklisted: False
  - API versions:
    - 20
  - variants:
    - alt
    - default
  - parameters:
    - answer: The answer (free-form test parameter)
  - trusted: True

"""

DIAGNOSE_OUT = f"""OS: debootstrap [global status: valid]
  Variants: [default]
  Node: {NODE}, status: valid (path: /usr/share/ganeti/os/debootstrap) \
[API versions: 20, 15, 10, 5] [variants: default] [parameters: filesystem] [trusted]

OS: noop [global status: valid]
  Variants: [alt, default]
  Node: {NODE}, status: valid (path: /srv/ganeti/os/noop) [API versions: 20] \
[variants: default, alt] [parameters: answer] [trusted]

"""

INFO_ROWS = [
    ["debootstrap", True, ["default"], [["filesystem", FS_DOC]], [5, 10, 15, 20],
     False, False, {}, {}, True],
    ["noop", True, ["alt", "default"],
     [["answer", "The answer (free-form test parameter)"]], [20], False, False,
     {}, {}, True],
]


def _DiagnoseRows() -> list[list[Any]]:
    deb = [["/usr/share/ganeti/os/debootstrap", True, "", ["default"],
            [["filesystem", FS_DOC]], [20, 15, 10, 5], True]]
    noop = [["/srv/ganeti/os/noop", True, "", ["default", "alt"],
             [["answer", "The answer (free-form test parameter)"]], [20], True]]
    return [["debootstrap", True, ["default"], {NODE: deb}, False, False],
            ["noop", True, ["alt", "default"], {NODE: noop}, False, False]]


def _Reply(result: Any) -> bytes:
    return json.dumps({"success": True, "result": result}).encode()


def _JobReplies(result: Any, status: str = "success", job_id: int = 7) -> list[bytes]:
    """SubmitJob, one WaitForJobChange and the final QueryJobs of a job."""
    return [_Reply(job_id), _Reply([[status], []]),
            _Reply([[status, [status], [result]]])]


def _SubmittedOp(server: Any) -> dict[str, Any]:
    (submit,) = [req for req in server.ParsedRequests()
                 if req["method"] == "SubmitJob"]
    (op,) = submit["args"][0]
    return op


def _Sample(name: str) -> str | None:
    path = SAMPLES / name
    if not path.exists():
        return None
    return path.read_text().rsplit("[exit code: ", 1)[0]


def test_list_matches_the_sample(luxi_replay, capsys):
    server = luxi_replay(_JobReplies([["debootstrap", ["default"]],
                                      ["noop", ["alt", "default"]]]))
    code, out, err = RunMain(gnt_os, ["gnt-os", "list"], capsys)
    assert (code, out, err) == (0, LIST_OUT, "")
    op = _SubmittedOp(server)
    assert op["OP_ID"] == "OP_OS_DIAGNOSE"
    assert op["output_fields"] == ["name", "variants"] and op["names"] == []
    if _Sample("gnt-os-list.txt") is not None:
        assert _Sample("gnt-os-list.txt") == LIST_OUT


def test_list_without_headers_and_without_variants(luxi_replay, capsys):
    luxi_replay(_JobReplies([["plain", []], ["noop", ["default"]]]))
    code, out, _ = RunMain(gnt_os, ["gnt-os", "list", "--no-headers"], capsys)
    assert (code, out) == (0, "plain\nnoop+default\n")


def test_info_matches_the_sample(luxi_replay, capsys):
    server = luxi_replay(_JobReplies(INFO_ROWS))
    code, out, err = RunMain(gnt_os, ["gnt-os", "info"], capsys)
    assert (code, out, err) == (0, INFO_OUT, "")
    assert _SubmittedOp(server)["output_fields"] == gnt_os._INFO_FIELDS
    if _Sample("gnt-os-info.txt") is not None:
        assert _Sample("gnt-os-info.txt") == INFO_OUT


def test_info_of_named_and_unknown_oses(luxi_replay, capsys):
    rows = [list(row) for row in INFO_ROWS]
    rows[1][8] = {"noop+alt": {"answer": "42"}}
    rows.append(["broken", False, [], [], [], False, True, {}, {}, True])
    luxi_replay(_JobReplies(rows))
    code, out, _ = RunMain(gnt_os, ["gnt-os", "show", "broken", "nosuch",
                                    "noop+alt"], capsys)
    assert code == 0
    assert out == ("broken:\n  - valid: False\n  - hidden: True\n"
                   "  - blacklisted: False\n  - trusted: True\n\n"
                   "nosuch: \n\n"
                   "noop+alt: \n  OS-specific hypervisor parameters: \n"
                   "  OS parameters: \n    answer: 42\n\n")


def test_diagnose_matches_the_sample(luxi_replay, capsys):
    luxi_replay(_JobReplies(_DiagnoseRows()))
    code, out, err = RunMain(gnt_os, ["gnt-os", "diagnose"], capsys)
    assert (code, out, err) == (0, DIAGNOSE_OUT, "")
    if _Sample("gnt-os-diagnose.txt") is not None:
        assert _Sample("gnt-os-diagnose.txt") == DIAGNOSE_OUT


def test_diagnose_reports_bad_and_shadowed_definitions(luxi_replay, capsys):
    good = ["/srv/os/api10", True, "", [], [], [10], True]
    node_data = {
        "node-b": [good, ["/usr/os/api10", False, "bad api file", [], [], [],
                          True]],
        "node-a": [],
        "node-c": [["/srv/os/api10", False, "File 'rename' is missing", [], [],
                    [20], False]],
    }
    luxi_replay(_JobReplies([["api10", False, [], node_data, True, True]]))
    code, out, _ = RunMain(gnt_os, ["gnt-os", "diagnose"], capsys)
    assert code == 1
    assert out.splitlines() == [
        "OS: api10 [global status: partial valid] [hidden] [blacklisted]",
        "  Node: node-b, status: valid (path: /srv/os/api10) [API versions: 10]"
        " [trusted]",
        "    [hidden] path: /usr/os/api10, status: invalid - bad api file",
        "  Node: node-a, status: OS not found",
        "  Node: node-c, status: invalid - File 'rename' is missing (path:"
        " /srv/os/api10) [API versions: 20] [no variants] [no parameters]"
        " [untrusted]",
        "",
    ]


@pytest.mark.parametrize("argv, expected", [
    (["--hidden=yes"], {"hidden_os": [["add", "debian"]]}),
    (["--blacklisted", "no"], {"blacklisted_os": [["remove", "debian"]]}),
    (["-O", "dhcp=no,root_size=8"],
     {"osparams": {"debian": {"dhcp": "no", "root_size": "8"}}}),
    (["-H", "kvm:acpi=false", "-H", "fake:migration_mode=live"],
     {"os_hvp": {"debian": {"kvm": {"acpi": "false"},
                            "fake": {"migration_mode": "live"}}}}),
    (["--os-parameters-private", "password=s3cret"],
     {"osparams_private_cluster": {"debian": {"password": "s3cret"}}}),
])
def test_modify_submits_cluster_set_params(luxi_replay, capsys, argv, expected):
    server = luxi_replay(_JobReplies(None))
    code, _, err = RunMain(gnt_os, ["gnt-os", "modify", *argv, "debian"], capsys)
    assert (code, err) == (0, "")
    op = _SubmittedOp(server)
    assert op["OP_ID"] == "OP_CLUSTER_SET_PARAMS"
    changes = {key: op.get(key) for key in ("hidden_os", "blacklisted_os",
                                            "osparams", "os_hvp",
                                            "osparams_private_cluster")}
    assert {key: value for key, value in changes.items() if value} == expected


def test_modify_without_changes_is_refused(luxi_replay, capsys):
    server = luxi_replay([])
    code, out, err = RunMain(gnt_os, ["gnt-os", "modify", "debian"], capsys)
    assert code == 1 and out == ""
    assert err == ("At least one of OS parameters or hypervisor parameters must"
                   " be passed\n")
    assert server.ParsedRequests() == []


def test_modify_bad_flag_value_is_a_clear_error(capsys):
    code, _, err = RunMain(gnt_os, ["gnt-os", "modify", "--hidden=maybe", "x"],
                           capsys)
    assert code == 1 and "Invalid boolean value 'maybe'" in err
    assert "Traceback" not in err


def test_modify_needs_exactly_one_os(capsys):
    code, _, err = RunMain(gnt_os, ["gnt-os", "modify", "--hidden=yes"], capsys)
    assert code == 1 and "Traceback" not in err
