"""Tests for ganeti.utils.process with real subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ganeti import constants, errors
from ganeti.utils import process

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _WaitGone(pid: int, timeout: float = 5.0) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if not process.IsProcessAlive(pid):
            return True
        time.sleep(0.02)
    return False


# --- RunCmd ------------------------------------------------------------------

def test_runcmd_captures_stdout_stderr_and_exit_code():
    result = process.RunCmd(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_code, result.signal) == (3, None)
    assert result.stdout == "out\n" and result.stderr == "err\n"
    assert result.output == "out\nerr\n"
    assert result.failed and result.fail_reason == "exited with exit code 3"
    assert result.cmd == "sh -c 'echo out; echo err >&2; exit 3'"


def test_runcmd_success_has_no_fail_reason():
    result = process.RunCmd(["true"])
    assert not result.failed and result.exit_code == 0 and result.fail_reason == ""


def test_runcmd_string_runs_through_shell():
    result = process.RunCmd("echo $((6 * 7)) | tr 4 X")
    assert result.stdout == "X2\n"


def test_runcmd_reports_signal():
    result = process.RunCmd(["sh", "-c", "kill -KILL $$"])
    assert result.exit_code is None and result.signal == signal.SIGKILL
    assert result.failed and result.fail_reason == "terminated by signal 9"


def test_runcmd_env_added_or_reset(monkeypatch):
    monkeypatch.setenv("GANETI_TEST_OUTER", "outer")
    added = process.RunCmd(["sh", "-c", "echo $GANETI_TEST_OUTER $EXTRA $LC_ALL"],
                           env={"EXTRA": "x"})
    assert added.stdout == "outer x C\n"
    reset = process.RunCmd(["/usr/bin/env"], env={"EXTRA": "y"}, reset_env=True)
    assert sorted(reset.stdout.splitlines()) == ["EXTRA=y", "LC_ALL=C"]


def test_runcmd_cwd_and_stdin_default_devnull(tmp_path):
    result = process.RunCmd(["sh", "-c", "pwd; cat"], cwd=str(tmp_path))
    assert result.stdout == f"{tmp_path}\n"


def test_runcmd_input_fd(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("hello\n")
    with open(src, "rb") as fh:
        result = process.RunCmd(["cat"], input_fd=fh)
    assert result.stdout == "hello\n"


def test_runcmd_output_file_appends_both_streams(tmp_path):
    log = tmp_path / "cmd.log"
    log.write_text("old\n")
    result = process.RunCmd("echo a; echo b >&2", output=str(log))
    assert result.stdout == "" and result.output_logfile == str(log)
    assert log.read_text() == "old\na\nb\n"


def test_runcmd_noclose_fds_and_postfork():
    read_fd, write_fd = os.pipe()
    seen = []
    try:
        result = process.RunCmd([sys.executable, "-c",
                                 f"import os; os.write({write_fd}, b'via-fd\\n')"],
                                noclose_fds=[write_fd], postfork_fn=seen.append)
        os.close(write_fd)
        assert os.read(read_fd, 100) == b"via-fd\n"
    finally:
        os.close(read_fd)
    assert not result.failed
    assert len(seen) == 1 and seen[0] > 0


def test_runcmd_timeout_kills_child_and_grandchildren(tmp_path):
    pidfile = tmp_path / "grandchild"
    start = time.time()
    result = process.RunCmd(
        f"sleep 30 & echo $! > {pidfile}; echo started; wait", timeout=0.5)
    assert time.time() - start < 3
    assert result.failed and result.timed_out
    assert result.signal == signal.SIGTERM
    assert result.fail_reason == (
        "timed out after 0.5 seconds, terminated by signal 15")
    assert result.stdout == "started\n"
    assert _WaitGone(int(pidfile.read_text()))


def test_runcmd_timeout_escalates_to_sigkill():
    result = process.RunCmd("trap '' TERM; sleep 30; true", timeout=0.3,
                            _linger_timeout=0.3)
    assert result.timed_out and result.signal == signal.SIGKILL


def test_runcmd_missing_program_raises_command_error(tmp_path):
    with pytest.raises(errors.CommandError, match="No such file"):
        process.RunCmd([str(tmp_path / "missing")])


def test_runcmd_not_executable_raises_command_error(tmp_path):
    script = tmp_path / "noexec"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    if os.access(script, os.X_OK):
        pytest.skip("running as a user that can execute anything")
    with pytest.raises(errors.CommandError, match="Permission denied"):
        process.RunCmd([str(script)])


def test_runcmd_bad_cwd_raises_command_error(tmp_path):
    with pytest.raises(errors.CommandError):
        process.RunCmd(["true"], cwd=str(tmp_path / "nodir"))


# --- pid files and processes -----------------------------------------------------

def test_is_process_alive_distinguishes_zombies():
    assert process.IsProcessAlive(os.getpid())
    assert not process.IsProcessAlive(0) and not process.IsProcessAlive(-5)
    child = subprocess.Popen(["true"])
    assert _WaitZombie(child.pid)
    assert not process.IsProcessAlive(child.pid)
    child.wait()
    assert not process.IsProcessAlive(child.pid)


def _WaitZombie(pid: int) -> bool:
    end = time.time() + 5
    while time.time() < end:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        time.sleep(0.01)
    return False


def test_read_pid_file(tmp_path):
    path = tmp_path / "d.pid"
    assert process.ReadPidFile(str(path)) == 0
    path.write_text("garbage\n")
    assert process.ReadPidFile(str(path)) == 0
    path.write_text("1234\n")
    assert process.ReadPidFile(str(path)) == 1234


def test_write_pid_file_locks_against_a_second_instance(tmp_path):
    path = str(tmp_path / "d.pid")
    fd = process.WritePidFile(path)
    try:
        assert process.ReadPidFile(path) == os.getpid()
        # flock locks belong to the open file, so even we can't take it twice.
        with pytest.raises(errors.PidFileLockError, match="already running"):
            process.WritePidFile(path)
        checker = subprocess.run(
            [sys.executable, "-c",
             "import sys; from ganeti.utils import process\n"
             "try:\n process.WritePidFile(sys.argv[1])\n"
             "except Exception as e: print(type(e).__name__)", path],
            capture_output=True, text=True, cwd=REPO_ROOT, check=True)
        assert checker.stdout.strip() == "PidFileLockError"
    finally:
        os.close(fd)
    os.close(process.WritePidFile(path))
    process.RemovePidFile(path)
    process.RemovePidFile(path)
    assert not os.path.exists(path)


def test_kill_process_terminates_and_reaps_child():
    child = subprocess.Popen(["sleep", "30"])
    process.KillProcess(child.pid, waitpid=True, timeout=5)
    assert not process.IsProcessAlive(child.pid)
    child.poll()


def test_kill_process_escalates_to_sigkill():
    child = subprocess.Popen(
        [sys.executable, "-c", "import signal, time\n"
         "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
         "print('ready', flush=True)\ntime.sleep(30)"],
        stdout=subprocess.PIPE)
    assert child.stdout.readline() == b"ready\n"
    process.KillProcess(child.pid, timeout=0.3)
    assert child.wait(timeout=5) == -signal.SIGKILL
    child.stdout.close()


def test_kill_process_rejects_bad_pid():
    with pytest.raises(errors.ProgrammerError):
        process.KillProcess(0)


def test_close_fds_keeps_only_requested(tmp_path):
    script = textwrap.dedent("""
        import os
        from ganeti.utils import process
        fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(4)]
        process.CloseFDs([fds[2]])
        alive = []
        for fd in fds:
            try:
                os.fstat(fd)
                alive.append(fds.index(fd))
            except OSError:
                pass
        print(alive)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                            text=True, cwd=REPO_ROOT, check=True)
    assert result.stdout == "[2]\n"


# --- daemons -----------------------------------------------------------------------

_DAEMON_SCRIPT = textwrap.dedent("""
    import os, sys
    from ganeti.utils import process
    log, marker, mode = sys.argv[1:4]
    sid_before = os.getsid(0)
    fd = process.Daemonize(log)
    print("daemon", os.getpid(), os.getsid(0) != sid_before, os.getcwd())
    with open(marker, "w") as fh:
        fh.write(str(os.getpid()))
    if mode == "fail":
        process.WriteErrorToFD(fd, "Cannot bind port 1811: Address in use")
    else:
        process.CloseStartupFD(fd)
""")


@pytest.mark.parametrize("mode", ["ok", "fail"])
def test_daemonize_reports_startup_to_caller(tmp_path, mode):
    log, marker = tmp_path / "d.log", tmp_path / "pid"
    result = subprocess.run(
        [sys.executable, "-c", _DAEMON_SCRIPT, str(log), str(marker), mode],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=10,
        env={**os.environ, "PYTHONPATH": REPO_ROOT})
    daemon_pid = int(marker.read_text())
    assert _WaitGone(daemon_pid)
    if mode == "ok":
        assert result.returncode == 0 and result.stderr == ""
    else:
        assert result.returncode == 1
        assert result.stderr == ("Error when starting daemon process: Cannot bind"
                                 " port 1811: Address in use\n")
    assert result.stdout == ""
    assert log.read_text() == f"daemon {daemon_pid} True /\n"
    assert oct(log.stat().st_mode & 0o777) == oct(0o600)


def test_start_daemon_detaches_and_holds_pid_file(tmp_path):
    pidfile, out = str(tmp_path / "d.pid"), tmp_path / "d.out"
    pid = process.StartDaemon(
        ["sh", "-c", "echo hello $GANETI_TEST_VAR; pwd; exec sleep 30"],
        env={"GANETI_TEST_VAR": "v"}, cwd=str(tmp_path), output=str(out),
        pidfile=pidfile)
    try:
        assert process.ReadPidFile(pidfile) == pid
        assert process.IsProcessAlive(pid)
        assert os.getsid(pid) == pid
        with pytest.raises(errors.PidFileLockError):
            process.WritePidFile(pidfile)
        with pytest.raises(errors.CommandError, match="already running"):
            process.StartDaemon(["sleep", "30"], pidfile=pidfile)
        end = time.time() + 5
        while out.read_text().count("\n") < 2 and time.time() < end:
            time.sleep(0.02)
        assert out.read_text() == f"hello v\n{tmp_path}\n"
    finally:
        os.kill(pid, signal.SIGKILL)
    assert _WaitGone(pid)
    os.close(process.WritePidFile(pidfile))


def test_start_daemon_missing_program(tmp_path):
    with pytest.raises(errors.CommandError, match="No such file"):
        process.StartDaemon([str(tmp_path / "missing")])


# --- RunParts ----------------------------------------------------------------------

def _Script(path, body: str, mode: int = 0o755) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(mode)


def test_run_parts_runs_matching_executables_in_order(tmp_path):
    _Script(tmp_path / "20-fail", "echo broken >&2; exit 1")
    _Script(tmp_path / "10_ok", "echo ok $GANETI_X; echo $PATH")
    _Script(tmp_path / "30.bak", "exit 0")
    _Script(tmp_path / "40plain", "exit 0", mode=0o644)
    _Script(tmp_path / ".hidden", "exit 0")
    (tmp_path / "50dir").mkdir()
    results = process.RunParts(str(tmp_path), reset_env=True,
                               env={"GANETI_X": "1", "PATH": constants.HOOKS_PATH})
    assert results == [
        ("10_ok", constants.HKR_SUCCESS, f"ok 1\\n{constants.HOOKS_PATH}"),
        ("20-fail", constants.HKR_FAIL, "broken"),
        ("30.bak", constants.HKR_SKIP, ""),
        ("40plain", constants.HKR_SKIP, ""),
        ("50dir", constants.HKR_SKIP, ""),
    ]


def test_run_parts_missing_dir_and_timeout(tmp_path):
    assert process.RunParts(str(tmp_path / "none")) == []
    _Script(tmp_path / "slow", "echo begin; exec sleep 30")
    [(name, status, output)] = process.RunParts(str(tmp_path), timeout=0.3)
    assert (name, status) == ("slow", constants.HKR_FAIL)
    assert output.startswith("begin\ntimed out after 0.3 seconds")
