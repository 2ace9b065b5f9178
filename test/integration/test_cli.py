"""The gnt-* commands end to end, run through a virtual node's cmd helper.

The cluster is made the way an operator makes it: tools/vcluster-setup -c 3,
then `node1/cmd gnt-cluster init ... cluster`. Outputs are compared with the
real Ganeti 3.0.2 outputs in /work/shared/spec/samples (labels in the same
order; values where they do not depend on the machine). The last test
destroys the cluster; the fixture then stops whatever is left by pid and
fails if `daemon-util stop-all` missed a process.
"""

import json
import os
import re

import pytest

pytest.importorskip("ganeti.jqueue")

from support import cluster  # noqa: E402

from ganeti import opcodes  # noqa: E402

SAMPLES = "/work/shared/spec/samples"
_LABEL_RE = re.compile(r"^(\s*(?:- )?)([^:]*):")
_EXIT_RE = re.compile(r"^\[exit code: (\d+)\]$")


@pytest.fixture(scope="module")
def vc(tmp_path_factory):
    with cluster.RunningCluster(tmp_path_factory.mktemp("cli"), count=3) as running:
        yield running


def _Sample(name):
    """A sample's output and exit code (the trailing "[exit code: N]" line)."""
    path = os.path.join(SAMPLES, name)
    if not os.path.exists(path):
        pytest.skip(f"sample {path} not available")
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    match = _EXIT_RE.match(lines[-1])
    assert match, f"{name} does not end with its exit code"
    return "\n".join(lines[:-1]) + "\n", int(match.group(1))


def _Labels(text, max_indent=None):
    """(indent, label) of each "label: value" line; (indent, None) otherwise."""
    result = []
    for line in text.splitlines():
        match = _LABEL_RE.match(line)
        indent = match.group(1) if match else line[:len(line) - len(line.lstrip())]
        if max_indent is not None and len(indent) > max_indent:
            continue
        result.append((indent, match.group(2) if match else None))
    return result


def _Ok(proc):
    assert proc.returncode == 0, f"rc {proc.returncode}: {proc.stdout}{proc.stderr}"
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc.stdout


def _SubmitDelay(vc, *args):
    """gnt-debug delay --submit ARGS; returns the job id it printed."""
    proc = vc.Cmd(["gnt-debug", "delay", "--submit", *args])
    assert proc.returncode == 0, proc.stderr
    # Ganeti prints the id through JobSubmittedException, on stderr.
    match = re.fullmatch(r"JobID: (\d+)\n", proc.stderr)
    assert match and proc.stdout == "", (proc.stdout, proc.stderr)
    return int(match.group(1))


# --- gnt-cluster ---------------------------------------------------------------

def test_getmaster(vc):
    assert _Ok(vc.Cmd(["gnt-cluster", "getmaster"])) == "node1\n"
    sample, code = _Sample("gnt-cluster-getmaster.txt")
    assert code == 0 and len(sample.splitlines()) == 1


def test_version_has_the_labels_and_protocol_numbers_of_ganeti(vc):
    out = _Ok(vc.Cmd(["gnt-cluster", "version"]))
    sample, code = _Sample("gnt-cluster-version.txt")
    assert code == 0
    assert _Labels(out) == _Labels(sample)
    # The interface numbers a 3.0 peer checks are the same; the VCS line
    # names this implementation.
    assert out.splitlines()[1:5] == sample.splitlines()[1:5]


def test_info_has_the_structure_of_ganeti(vc):
    out = _Ok(vc.Cmd(["gnt-cluster", "info"]))
    sample, code = _Sample("gnt-cluster-info.txt")
    assert code == 0
    assert _Labels(out) == _Labels(sample)
    values = dict(line.split(": ", 1) for line in out.splitlines()[:9]
                  if ": " in line)
    assert values["Cluster name"] == "cluster"
    assert values["Master node"] == "node1"
    assert values["Default hypervisor"] == "fake"


# --- gnt-debug and gnt-job -----------------------------------------------------

def test_delay_waits_for_the_job_and_prints_nothing(vc):
    proc = vc.Cmd(["gnt-debug", "delay", "0.1"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_submitted_job_shows_in_list_info_and_watch(vc):
    job_id = _SubmitDelay(vc, "0.01")
    with vc.Client() as client:
        assert cluster.WaitJob(client, job_id) == "success"
    out = _Ok(vc.Cmd(["gnt-job", "list"]))
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "Status", "Summary"]
    assert [str(job_id), "success", "TEST_DELAY(1.0e-2)"] in \
        [line.split() for line in lines[1:]]
    watch = _Ok(vc.Cmd(["gnt-job", "watch", str(job_id)]))
    assert watch.splitlines()[:2] == [f"Output from job {job_id} follows", "-" * 25]


def test_job_info_has_the_structure_of_ganeti(vc):
    job_id = _SubmitDelay(vc, "0.01")
    with vc.Client() as client:
        assert cluster.WaitJob(client, job_id) == "success"
    out = _Ok(vc.Cmd(["gnt-job", "info", str(job_id)]))
    sample, _ = _Sample("gnt-job-info.txt")
    # Job and opcode levels (the input fields and log are per opcode).
    assert _Labels(out, max_indent=6) == _Labels(sample, max_indent=6)
    assert out.startswith(f"- Job ID: {job_id}\n  Status: success\n")
    # The opcode's input is the one the real gnt-debug sends
    # (spec/samples/luxi-debug-delay.txt).
    fields = {label for indent, label in _Labels(out) if len(indent) == 8}
    assert fields == set(_SampleDelayOpcode())


def _SampleDelayOpcode():
    """The OP_TEST_DELAY the real gnt-debug submitted, from the LUXI capture."""
    path = os.path.join(SAMPLES, "luxi-debug-delay.txt")
    if not os.path.exists(path):
        pytest.skip(f"sample {path} not available")
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith('{"method": "SubmitJob"'):
                return json.loads(line)["args"][0][0]
    raise AssertionError("no SubmitJob in luxi-debug-delay.txt")


def test_list_with_filter_and_fields(vc):
    good = _SubmitDelay(vc, "0.01")
    with vc.Client() as client:
        bad = client.SubmitJob([opcodes.OpTestDelay(duration=0.0)])
        assert cluster.WaitJob(client, good) == "success"
        assert cluster.WaitJob(client, bad) == "error"
    out = _Ok(vc.Cmd(["gnt-job", "list", "--filter", 'status == "success"']))
    rows = [line.split() for line in out.splitlines()[1:]]
    assert rows and all(row[1] == "success" for row in rows)
    assert str(good) in [row[0] for row in rows]
    assert str(bad) not in [row[0] for row in rows]
    fields = "id,status,priority,summary,received_ts,start_ts,end_ts"
    out = _Ok(vc.Cmd(["gnt-job", "list", "-o", fields]))
    sample, _ = _Sample("gnt-job-list-o.txt")
    assert out.splitlines()[0].split() == sample.splitlines()[0].split()


def test_unknown_job_info_is_reported_as_ganeti_does(vc):
    out = _Ok(vc.Cmd(["gnt-job", "info", "99999"]))
    assert out == "- Job ID 99999 not found\n"


def test_archive_and_autoarchive(vc):
    job_id = _SubmitDelay(vc, "0.01")
    with vc.Client() as client:
        assert cluster.WaitJob(client, job_id) == "success"
    _Ok(vc.Cmd(["gnt-job", "archive", str(job_id)]))
    assert not (vc.QueueDir() / f"job-{job_id}").exists()
    archived = vc.QueueDir() / "archive" / str(job_id // 10000) / f"job-{job_id}"
    assert archived.exists()
    ids = [line.split()[0] for line in
           _Ok(vc.Cmd(["gnt-job", "list", "--no-headers"])).splitlines()]
    assert str(job_id) not in ids and ids  # the other jobs are still listed
    out = _Ok(vc.Cmd(["gnt-job", "autoarchive", "all"]))
    match = re.fullmatch(r"Archived (\d+) jobs, 0 unchecked left\n", out)
    assert match and int(match.group(1)) == len(ids)
    assert _Ok(vc.Cmd(["gnt-job", "list", "--no-headers"])) == ""


def test_locks_shows_the_lock_a_job_holds(vc):
    out = _Ok(vc.Cmd(["gnt-debug", "locks"]))
    lines = out.splitlines()
    assert lines[0].split() == ["Name", "Mode", "Owner", "Pending"]
    names = [line.split()[0] for line in lines[1:]]
    assert "cluster/BGL" in names and "node/[lockset]" in names
    # A delay job without --no-locks holds the master node exclusively.
    job_id = _SubmitDelay(vc, "--interruptible", "30")
    with vc.Client() as client:
        cluster.DelaySocket(client, job_id)
        try:
            held = _Ok(vc.Cmd(["gnt-debug", "locks", "--no-headers"]))
        finally:
            cluster.InterruptDelay(client, job_id)
        assert cluster.WaitJob(client, job_id) == "success"
    modes = {line.split()[0]: line.split()[1] for line in held.splitlines()}
    node_locks = [name for name in modes
                  if name.startswith("node/") and name != "node/[lockset]"]
    assert [modes[name] for name in node_locks] == ["exclusive"]


@pytest.mark.parametrize("args", [
    ["gnt-debug", "delay", "abc"],
    ["gnt-debug", "delay"],
    ["gnt-debug", "delay", "-r", "x", "1"],
    ["gnt-job", "info", "abc"],
    ["gnt-job", "archive"],
    ["gnt-job", "nosuchcommand"],
    ["gnt-cluster", "getmaster", "extra"],
])
def test_wrong_arguments_fail_cleanly(vc, args):
    proc = vc.Cmd(args)
    assert proc.returncode != 0
    assert proc.stderr.strip() or proc.stdout.strip()
    assert "Traceback" not in proc.stdout + proc.stderr
    if args[-1] == "abc":
        assert "abc" in proc.stderr


def test_zero_delay_fails_as_in_ganeti(vc):
    proc = vc.Cmd(["gnt-debug", "delay", "0"])
    sample, code = _Sample("gnt-debug-delay-zero.txt")
    assert (proc.returncode, proc.stdout + proc.stderr) == (code, sample)


# --- the end: destroy --------------------------------------------------------------

def test_destroy_needs_yes_do_it_then_stops_masterd(vc):
    masterd = vc.Pid("ganeti-masterd")
    refused = vc.Cmd(["gnt-cluster", "destroy"])
    assert refused.returncode == 1
    assert "--yes-do-it" in refused.stderr and "Traceback" not in refused.stderr
    assert vc.Pid("ganeti-masterd") == masterd
    _Ok(vc.Cmd(["gnt-cluster", "destroy", "--yes-do-it"]))
    assert cluster.WaitGone(masterd)
    assert not (vc.Root() / "var/lib/ganeti/config.data").exists()
    assert not (vc.Root() / cluster.QUERY_SOCKET).exists()
    gone = vc.Cmd(["gnt-cluster", "getmaster"], timeout=60)
    assert gone.returncode != 0 and "Traceback" not in gone.stderr
