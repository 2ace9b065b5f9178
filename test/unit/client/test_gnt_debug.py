"""gnt-debug against captured exchanges with Ganeti 3.0.2."""

from __future__ import annotations

import json
from typing import Any

import pytest
from clitestlib import LoadCapture, MaskReason, RunMain, SampleOutput

from ganeti.client import gnt_debug


def _Reply(result: Any) -> bytes:
    return json.dumps({"success": True, "result": result}).encode()


@pytest.mark.parametrize("capture_name", ["luxi-debug-delay.txt",
                                          "luxi-debug-delay-zero.txt"])
def test_delay_sends_what_ganeti_sends(capture_name, luxi_replay, capsys):
    capture = LoadCapture(capture_name)
    server = luxi_replay(capture.replies)
    code, out, err = RunMain(gnt_debug, capture.command, capsys)
    sent = server.ParsedRequests()
    assert MaskReason(sent) == MaskReason([json.loads(msg)
                                           for msg in capture.requests])
    (submit,) = [req for req in sent if req["method"] == "SubmitJob"]
    (reason,) = submit["args"][0][0]["reason"]
    assert reason[:2] == ["gnt:client:gnt-debug", "delay"]
    assert isinstance(reason[2], int) and reason[2] > 1.6e18
    assert code == capture.exit_code
    assert (out + err).rstrip("\n") == capture.output.rstrip("\n")


def test_delay_zero_output_matches_sample(luxi_replay, capsys):
    luxi_replay(LoadCapture("luxi-debug-delay-zero.txt").replies)
    code, out, err = RunMain(gnt_debug, ["gnt-debug", "delay", "0"], capsys)
    assert (code, out + err) == SampleOutput("gnt-debug-delay-zero.txt")[::-1]


def test_delay_submit_prints_job_id(luxi_replay, capsys):
    server = luxi_replay([_Reply(77)])
    code, out, err = RunMain(gnt_debug, ["gnt-debug", "delay", "--submit",
                                         "--priority", "low", "-n", "node2",
                                         "--node", "node3", "-r", "2", "1.5"],
                             capsys)
    assert (code, out, err) == (0, "", "JobID: 77\n")
    (op,) = server.ParsedRequests()[0]["args"][0]
    assert (op["duration"], op["priority"], op["on_nodes"], op["repeat"]) == (
        1.5, 10, ["node2", "node3"], 2)


def test_delay_print_jobid_with_submit(luxi_replay, capsys):
    luxi_replay([_Reply(78)])
    code, out, err = RunMain(gnt_debug, ["gnt-debug", "delay", "--submit",
                                         "--print-jobid", "1"], capsys)
    assert (code, out, err) == (0, "78\n", "JobID: 78\n")


def test_delay_rejects_a_bad_duration(capsys):
    code, out, err = RunMain(gnt_debug, ["gnt-debug", "delay", "soon"], capsys)
    assert code == 1 and out == ""
    assert "Invalid duration 'soon'" in err


def test_delay_user_reason_comes_first(luxi_replay, capsys):
    server = luxi_replay([_Reply(5)])
    RunMain(gnt_debug, ["gnt-debug", "delay", "--submit", "--reason", "testing",
                        "1"], capsys)
    (op,) = server.ParsedRequests()[0]["args"][0]
    assert [entry[:2] for entry in op["reason"]] == [
        ["gnt:user", "testing"], ["gnt:client:gnt-debug", "delay"]]


_LOCK_FIELDS = [
    {"name": "name", "title": "Name", "kind": "other", "doc": "Lock name"},
    {"name": "mode", "title": "Mode", "kind": "other", "doc": "Mode"},
    {"name": "owner", "title": "Owner", "kind": "other", "doc": "Owners"},
    {"name": "pending", "title": "Pending", "kind": "other", "doc": "Pending"},
]

_LOCK_DATA = [
    [[0, "cluster/BGL"], [0, "shared"], [0, ["job/12", "job/3"]],
     [0, [["exclusive", ["job/14"]], ["shared", ["job/15", "job/16"]]]]],
    [[0, "instance/web1"], [0, None], [0, []], [0, []]],
]


def test_locks_table(luxi_replay, capsys):
    server = luxi_replay([_Reply({"fields": _LOCK_FIELDS, "data": _LOCK_DATA})])
    code, out, _ = RunMain(gnt_debug, ["gnt-debug", "locks"], capsys)
    assert code == 0
    assert out == (
        "Name          Mode   Owner        Pending\n"
        "cluster/BGL   shared job/12,job/3 exclusive:job/14, shared:job/15,job/16\n"
        "instance/web1 -      -            -\n")
    assert server.ParsedRequests()[0]["args"] == [
        "lock", ["name", "mode", "owner", "pending"], None]


def test_locks_interval_repeats(luxi_replay, capsys):
    reply = _Reply({"fields": _LOCK_FIELDS[:1], "data": [_LOCK_DATA[0][:1]]})
    luxi_replay([reply, reply])
    sleeps: list[float] = []

    def _Sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise StopIteration

    opts = type("Opts", (), {"output": "name", "separator": None,
                             "no_headers": True, "verbose": False,
                             "interval": 3})()
    with pytest.raises(StopIteration):
        gnt_debug.ListLocks(opts, [], _sleep_fn=_Sleep)
    assert capsys.readouterr().out == "cluster/BGL\n\ncluster/BGL\n\n"
    assert sleeps == [3, 3]
