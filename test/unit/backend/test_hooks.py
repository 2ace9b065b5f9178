"""Tests for ganeti.backend.hooks: run-parts style hook execution on a node."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ganeti import backend, constants, errors, pathutils, ssconf
from ganeti.backend import RPCFail, hooks

PROCS = backend.LoadAll()

_SHOW_ENV = """#!/bin/sh
echo "PATH=$PATH"
echo "FOO=$GANETI_FOO NUM=$GANETI_NUM"
echo "LEAK=${GANETI_TEST_LEAK-unset}"
pwd
read line
echo "stdin=$?" >&2
"""


def _Script(path: Path, text: str, mode: int = 0o755) -> None:
    path.write_text(text)
    path.chmod(mode)


@pytest.fixture
def hooks_dir(tmp_path: Path) -> Path:
    """A hooks base dir with instance-start-pre.d holding assorted entries."""
    pre_dir = tmp_path / "instance-start-pre.d"
    pre_dir.mkdir()
    _Script(pre_dir / "10-env", _SHOW_ENV)
    _Script(pre_dir / "20-fail", "#!/bin/sh\necho 'disk is full'\nexit 3\n")
    _Script(pre_dir / "30-no.dots", "#!/bin/sh\necho never\n")
    _Script(pre_dir / "40-noexec", "#!/bin/sh\necho never\n", mode=0o644)
    _Script(pre_dir / ".hidden", "#!/bin/sh\necho never\n")
    (pre_dir / "50-dir").mkdir()
    _Script(pre_dir / "60-badinterp", "#!/nonexistent/interpreter\n")
    return tmp_path


def test_run_hooks_statuses_order_and_env(
        hooks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANETI_TEST_LEAK", "from-noded")
    results = hooks.HooksRunner(str(hooks_dir)).RunHooks(
        "instance-start", "pre", {"GANETI_FOO": "bar", "GANETI_NUM": 3,
                                  "GANETI_NONE": None})
    names = [name for name, _, _ in results]
    assert names == [f"instance-start-pre.d/{name}" for name in
                     ["10-env", "20-fail", "30-no.dots", "40-noexec", "50-dir",
                      "60-badinterp"]]
    by_name = {name.split("/")[1]: (status, output)
               for name, status, output in results}
    assert by_name["10-env"] == (
        constants.HKR_SUCCESS,
        f"PATH={constants.HOOKS_PATH}\\nFOO=bar NUM=3\\nLEAK=unset\\n/\\nstdin=1")
    assert by_name["20-fail"] == (constants.HKR_FAIL, "disk is full")
    for skipped in ["30-no.dots", "40-noexec", "50-dir"]:
        assert by_name[skipped] == (constants.HKR_SKIP, "")
    status, output = by_name["60-badinterp"]
    assert status == constants.HKR_FAIL
    assert output.startswith("Hook script execution error:")


def test_hooks_runner_procedure(hooks_dir: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pathutils, "HOOKS_BASE_DIR", str(hooks_dir))
    results = PROCS["hooks_runner"]("instance-start", "pre", {"GANETI_FOO": "x"})
    assert results[1] == ["instance-start-pre.d/20-fail", constants.HKR_FAIL,
                          "disk is full"]
    assert PROCS["hooks_runner"]("instance-start", "post", {}) == []
    assert PROCS["hooks_runner"]("node-add", "pre", {}) == []


def test_hook_timeout_kills_script_and_children(tmp_path: Path) -> None:
    post_dir = tmp_path / "cluster-verify-post.d"
    post_dir.mkdir()
    pid_file = tmp_path / "child.pid"
    _Script(post_dir / "hang",
            f"#!/bin/sh\necho started\nsleep 60 &\necho $! > {pid_file}\nwait\n")
    start = time.monotonic()
    (result,) = hooks.HooksRunner(str(tmp_path), timeout=0.5).RunHooks(
        "cluster-verify", "post", {})
    assert time.monotonic() - start < 8
    name, status, output = result
    assert (name, status) == ("cluster-verify-post.d/hang", constants.HKR_FAIL)
    assert output.startswith("started")
    assert "timed out after 0.5 seconds" in output
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"background child {child} of the hook survived")


def test_rejections(tmp_path: Path) -> None:
    runner = hooks.HooksRunner(str(tmp_path))
    with pytest.raises(RPCFail, match="Unknown hooks phase 'PRE'"):
        runner.RunHooks("instance-start", "PRE", {})
    for hpath in ["../../tmp/evil", ".hidden", "a/b"]:
        with pytest.raises(RPCFail, match="Invalid hooks path"):
            runner.RunHooks(hpath, "pre", {})
    with pytest.raises(RPCFail, match="hooks path"):
        runner.RunHooks(None, "pre", {})
    with pytest.raises(RPCFail, match="argument 'env'"):
        runner.RunHooks("instance-start", "pre", [["GANETI_A", "1"]])
    with pytest.raises(RPCFail, match="name 'A=B'"):
        runner.RunHooks("instance-start", "pre", {"A=B": "1"})
    with pytest.raises(RPCFail, match="GANETI_LIST"):
        runner.RunHooks("instance-start", "pre", {"GANETI_LIST": [1, 2]})
    with pytest.raises(RPCFail, match="takes 3 argument"):
        PROCS["hooks_runner"]("instance-start", "pre")


def test_run_local_hooks(hooks_dir: Path, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setattr(pathutils, "DATA_DIR", str(data_dir))
    (data_dir / "ssconf_master_node").write_text("master.example.com\n")
    _, myself = ssconf.GetMasterAndMyself()
    runner = hooks.HooksRunner(str(hooks_dir))
    result = runner.RunLocalHooks([myself], "instance-start", "pre", {})
    fail_msg, offline, payload = result[myself]
    assert (fail_msg, offline) == (None, False)
    assert [status for _, status, _ in payload][:2] == [constants.HKR_SUCCESS,
                                                        constants.HKR_FAIL]
    with pytest.raises(errors.ProgrammerError, match="only run on this node"):
        runner.RunLocalHooks(["other.example.com"], "instance-start", "pre", {})
