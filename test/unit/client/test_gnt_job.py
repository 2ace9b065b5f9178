"""gnt-job against captured exchanges with Ganeti 3.0.2 and its sample outputs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from clitestlib import (
    LoadCapture,
    ReadSample,
    RunMain,
    SampleOutput,
)

from ganeti import errors
from ganeti.client import gnt_job

_JOB_FIELDS = {
    "id": ("ID", "number"), "status": ("Status", "text"),
    "priority": ("Priority", "number"), "summary": ("Summary", "other"),
    "received_ts": ("Received", "other"), "start_ts": ("Start", "other"),
    "end_ts": ("End", "other"),
}


def _Reply(result: Any) -> bytes:
    return json.dumps({"success": True, "result": result}).encode()


def _FieldDefs(names: list[str]) -> list[dict[str, str]]:
    return [{"name": name, "title": _JOB_FIELDS[name][0],
             "kind": _JOB_FIELDS[name][1], "doc": "doc"} for name in names]


@pytest.mark.parametrize("capture_name", [
    "luxi-job-list.txt", "luxi-job-list-o.txt", "luxi-job-info.txt",
    "luxi-job-info-missing.txt",
])
def test_commands_replay_the_captured_exchange(capture_name, luxi_replay,
                                               capsys, utc):
    capture = LoadCapture(capture_name)
    server = luxi_replay(capture.replies)
    code, out, err = RunMain(gnt_job, capture.command, capsys)
    assert server.ParsedRequests() == [json.loads(msg) for msg in capture.requests]
    assert code == capture.exit_code
    assert (out + err).rstrip("\n") == capture.output.rstrip("\n")


def _RowsOfSample(name: str) -> tuple[list[str], list[list[str]]]:
    """Header titles and the cells of each line of a gnt-job list sample."""
    body, _ = SampleOutput(name)
    lines = body.splitlines()
    titles = lines[0].split()
    rows = []
    for line in lines[1:]:
        # Cells are separated by single spaces after padding; timestamps
        # ("[1795236201, 990657]") contain a space of their own.
        rows.append(re.findall(r"\[[^\]]*\]|\S+", line))
    return titles, rows


def test_list_default_fields_match_sample(luxi_replay, capsys):
    _, rows = _RowsOfSample("gnt-job-list.txt")
    data = [[[0, int(job_id)], [0, status], [0, [summary]]]
            for job_id, status, summary in rows]
    server = luxi_replay([_Reply({"fields": _FieldDefs(["id", "status", "summary"]),
                                  "data": data})])
    code, out, _ = RunMain(gnt_job, ["gnt-job", "list"], capsys)
    expected, expected_code = SampleOutput("gnt-job-list.txt")
    assert (code, out) == (expected_code, expected)
    assert server.ParsedRequests()[0]["args"] == [
        "job", ["id", "status", "summary"], None]


def test_list_with_output_fields_matches_sample(luxi_replay, capsys):
    fields = ["id", "status", "priority", "summary", "received_ts", "start_ts",
              "end_ts"]
    _, rows = _RowsOfSample("gnt-job-list-o.txt")
    data = [[[0, int(row[0])], [0, row[1]], [0, int(row[2])], [0, [row[3]]]]
            + [[0, json.loads(cell)] for cell in row[4:]] for row in rows]
    luxi_replay([_Reply({"fields": _FieldDefs(fields), "data": data})])
    code, out, _ = RunMain(gnt_job, ["gnt-job", "list", "-o", ",".join(fields)],
                           capsys)
    expected, expected_code = SampleOutput("gnt-job-list-o.txt")
    assert (code, out) == (expected_code, expected)


def test_list_options_build_the_filter(luxi_replay, capsys):
    server = luxi_replay([_Reply({"fields": _FieldDefs(["id"]), "data": []})])
    code, out, _ = RunMain(gnt_job, ["gnt-job", "list", "--running", "--no-headers",
                                     "-o", "+priority", "7", "9"], capsys)
    assert (code, out) == (0, "")
    assert server.ParsedRequests()[0]["args"] == [
        "job", ["id", "status", "summary", "priority"],
        ["&", ["|", ["==", "id", 7], ["==", "id", 9]],
         ["|", ["==", "status", "running"]]]]


def test_list_rejects_non_numeric_job_ids(luxi_replay, capsys):
    luxi_replay([])
    code, _, err = RunMain(gnt_job, ["gnt-job", "list", "abc"], capsys)
    assert code == 1
    assert "error type: wrong_input" in err and "'abc' is not a number" in err


def _LuxidOpcode(data: dict[str, Any]) -> dict[str, Any]:
    """An opcode as luxid's "ops" field shows it: unset optional parameters
    (null in the job file) are left out, the common comment/depends kept."""
    return {key: value for key, value in data.items()
            if value is not None or key in ("comment", "depends")}


def _InfoRow(job: dict[str, Any]) -> list[list[Any]]:
    """The Query "job" row of the info fields for a job file's content."""
    ops = job["ops"]
    values = [job["id"], "success", [_LuxidOpcode(op["input"]) for op in ops],
              [op["result"] for op in ops], [op["status"] for op in ops],
              [op["log"] for op in ops], [op["start_timestamp"] for op in ops],
              [op["exec_timestamp"] for op in ops],
              [op["end_timestamp"] for op in ops], job["received_timestamp"],
              job["start_timestamp"], job["end_timestamp"]]
    return [[0, value] for value in values]


def test_info_matches_sample_of_job_file(luxi_replay, capsys, utc):
    job = json.loads(ReadSample("queue-job-1298.json"))
    server = luxi_replay([_Reply({"fields": [], "data": [_InfoRow(job)]})])
    code, out, _ = RunMain(gnt_job, ["gnt-job", "info", "1298"], capsys)
    expected, expected_code = SampleOutput("gnt-job-info.txt")
    assert (code, out) == (expected_code, expected)
    assert server.ParsedRequests()[0]["args"][2] == ["|", ["==", "id", 1298]]


def test_info_alias_show_and_bad_id(luxi_replay, capsys):
    luxi_replay([])
    code, _, err = RunMain(gnt_job, ["gnt-job", "show", "x1"], capsys)
    assert code == 1
    assert err.startswith("Failure: prerequisites not met for this operation:")
    assert "Invalid job ID passed" in err


def test_arg_count_errors_exit_1(capsys):
    code, _, err = RunMain(gnt_job, ["gnt-job", "wait"], capsys)
    assert (code, err) == (1, "Error: Command wait expects 1 argument(s)\n")
    code, _, err = RunMain(gnt_job, ["gnt-job", "watch", "1", "2"], capsys)
    assert (code, err) == (1, "Error: Command watch expects 1 argument(s)\n")


class _FakeClient:
    """A LUXI client answering cancel/priority/archive calls from tables."""

    def __init__(self, query_data: list[Any] | None = None) -> None:
        self.calls: list[tuple] = []
        self.query_data = query_data or []

    def Query(self, what: str, fields: list[str], qfilter: Any) -> Any:
        self.calls.append(("Query", what, fields, qfilter))
        return {"fields": _FieldDefs(fields), "data": self.query_data}

    def CancelJob(self, job_id: int, kill: bool = False) -> list[Any]:
        self.calls.append(("CancelJob", job_id, kill))
        return [job_id != 13, f"Dequeued job {job_id}"]

    def ChangeJobPriority(self, job_id: int, priority: int) -> list[Any]:
        self.calls.append(("ChangeJobPriority", job_id, priority))
        return [True, f"Priority of job {job_id} changed to {priority}"]


def _Opts(**kwargs: Any) -> Any:
    values = {"status_filter": None, "force": False, "kill": False,
              "yes_do_it": False, "priority": None}
    values.update(kwargs)
    return type("Opts", (), values)()


def test_cancel_by_id_reports_each_job_and_failures():
    cl = _FakeClient()
    out: list[str] = []
    code = gnt_job.CancelJobs(_Opts(), ["12", "13"], cl=cl, _stdout_fn=out.append)
    assert code == 1
    assert out == ["Dequeued job 12", "Dequeued job 13"]
    assert cl.calls == [("CancelJob", 12, False), ("CancelJob", 13, False)]


def test_cancel_needs_ids_or_status_but_not_both():
    with pytest.raises(errors.OpPrereqError, match="never both"):
        gnt_job.CancelJobs(_Opts(), [], cl=_FakeClient())
    with pytest.raises(errors.OpPrereqError, match="never both"):
        gnt_job.CancelJobs(_Opts(status_filter=frozenset(["queued"])), ["1"],
                           cl=_FakeClient())


def test_cancel_kill_needs_yes_do_it():
    with pytest.raises(errors.OpPrereqError, match="--yes-do-it"):
        gnt_job.CancelJobs(_Opts(kill=True), ["1"], cl=_FakeClient())


def test_cancel_pending_shows_jobs_and_asks():
    data = [[[0, 5], [0, "queued"], [0, ["TEST_DELAY(10.0)"]]]]
    cl = _FakeClient(data)
    out: list[str] = []
    questions: list[str] = []

    def _Ask(text: str) -> bool:
        questions.append(text)
        return False

    code = gnt_job.CancelJobs(_Opts(status_filter=gnt_job.JOBS_PENDING), [], cl=cl,
                              _stdout_fn=out.append, _ask_fn=_Ask)
    assert code == gnt_job.cli.EXIT_CONFIRMATION
    assert out == ["ID Status Summary", " 5 queued TEST_DELAY(10.0)"]
    assert questions == ["Cancel job(s) listed above?"]
    assert cl.calls == [("Query", "job", ["id", "status", "summary"],
                         ["|", ["==", "status", "canceling"],
                          ["==", "status", "queued"], ["==", "status", "waiting"]])]


def test_cancel_pending_with_force_and_kill():
    cl = _FakeClient([[[0, 5], [0, "waiting"], [0, ["X"]]]])
    out: list[str] = []
    code = gnt_job.CancelJobs(_Opts(status_filter=gnt_job.JOBS_PENDING, force=True,
                                    kill=True, yes_do_it=True), [], cl=cl,
                              _stdout_fn=out.append)
    assert (code, out) == (0, ["Dequeued job 5"])
    assert cl.calls[-1] == ("CancelJob", 5, True)


def test_cancel_status_without_jobs_fails():
    with pytest.raises(errors.OpPrereqError, match="No jobs with the requested"):
        gnt_job.CancelJobs(_Opts(status_filter=frozenset(["waiting"])), [],
                           cl=_FakeClient([]))


def test_change_priority(capsys):
    cl = _FakeClient()
    out: list[str] = []
    assert gnt_job.ChangePriority(_Opts(priority=10), ["4"], cl=cl,
                                  _stdout_fn=out.append) == 0
    assert cl.calls == [("ChangeJobPriority", 4, 10)]
    assert gnt_job.ChangePriority(_Opts(), ["4"], cl=cl) == 1
    assert capsys.readouterr().err == "--priority option must be given.\n"


@pytest.mark.parametrize(("age", "sent"), [("all", -1), ("1d", 86400),
                                           ("2h", 7200), ("30", 30)])
def test_autoarchive_parses_the_age(age, sent, luxi_replay, capsys):
    server = luxi_replay([_Reply([3, 1])])
    code, out, _ = RunMain(gnt_job, ["gnt-job", "autoarchive", age], capsys)
    assert (code, out) == (0, "Archived 3 jobs, 1 unchecked left\n")
    assert server.ParsedRequests()[0]["args"][0] == sent


def test_autoarchive_rejects_bad_age(luxi_replay, capsys):
    luxi_replay([])
    code, _, err = RunMain(gnt_job, ["gnt-job", "autoarchive", "3x"], capsys)
    assert code == 1 and "Invalid time specification '3x'" in err


def test_archive_reports_failures(luxi_replay, capsys):
    luxi_replay([_Reply(True), _Reply(False)])
    code, _, err = RunMain(gnt_job, ["gnt-job", "archive", "1", "2"], capsys)
    assert (code, err) == (1, "Failed to archive job with ID '2'\n")


def test_watch_prints_log_and_fails_like_the_job(luxi_replay, capsys, utc):
    encoded = ["OpExecError", ["Could not start instance"]]
    luxi_replay([
        _Reply([["running"], [[1, [1795236203, 77968], "message", "* starting"]]]),
        _Reply([["error"], []]),
        _Reply([["error", ["error"], [encoded]]]),
    ])
    code, out, err = RunMain(gnt_job, ["gnt-job", "watch", "42"], capsys)
    assert code == 1
    assert out == ("Output from job 42 follows\n--------------------------\n"
                   "Sat Nov 21 04:43:23 2026 * starting\n")
    assert err == ("Job 42 failed: Failure: command execution error:\n"
                   "Could not start instance\n")


def test_wait_is_silent(luxi_replay, capsys):
    luxi_replay([_Reply([["success"], [[1, [1, 0], "message", "hello"]]]),
                 _Reply([["success"], []]),
                 _Reply([["success", ["success"], [True]]])])
    assert RunMain(gnt_job, ["gnt-job", "wait", "3"], capsys) == (0, "", "")
