"""Running external programs, pid files and daemonisation.

Mirrors Ganeti's lib/utils/process.py, built on subprocess instead of a
hand-written fork/exec loop:

- RunCmd starts every child in its own session (start_new_session), so a
  timeout can signal the whole process group and also reach the child's own
  children. On timeout the group gets SIGTERM, then SIGKILL if it is still
  there after a linger period (Ganeti's CHILD_LINGER_TIMEOUT, 5 s).
- StartDaemon never forks this (possibly multi-threaded) interpreter:
  forking a threaded process and running Python before exec can deadlock on
  locks held by other threads. It runs a tiny helper interpreter instead,
  which starts the daemon in a new session and exits, so the daemon is
  re-parented to init and never becomes our zombie.
- Daemonize is meant for a daemon's own start-up (single-threaded, before
  any thread exists) and does the classic double fork; see its docstring
  for the start-up report protocol.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import IO

from ganeti import constants, errors
from ganeti.utils import retry as utils_retry
from ganeti.utils import text as utils_text

logger = logging.getLogger(__name__)

# Seconds a timed-out child may linger after SIGTERM before it gets SIGKILL.
CHILD_LINGER_TIMEOUT = 5.0

_PLUGIN_NAME_RE = re.compile(constants.EXT_PLUGIN_MASK)


class RunResult:
    """The outcome of RunCmd.

    Attributes:
      exit_code: the exit status, or None if the process died by a signal.
      signal: the terminating signal number, or None.
      stdout, stderr: captured output ("" when redirected or interactive).
      output: stdout followed by stderr (not interleaved).
      cmd: the command as a shell-quoted string (for messages).
      failed: whether the command did not exit with status 0.
      fail_reason: e.g. "exited with exit code 1", "terminated by signal 9",
        "timed out after 2 seconds, terminated by signal 15"; "" on success.
      timed_out: whether RunCmd had to stop the command because of a timeout.
      output_logfile: the file output was redirected to, or None.
    """

    def __init__(self, exit_code: int | None, signal_: int | None, stdout: str,
                 stderr: str, cmd: str, timeout: float | None = None,
                 timed_out: bool = False, output_logfile: str | None = None):
        self.exit_code = exit_code
        self.signal = signal_
        self.stdout = stdout
        self.stderr = stderr
        self.cmd = cmd
        self.timed_out = timed_out
        self.output_logfile = output_logfile
        self.failed = timed_out or signal_ is not None or exit_code != 0
        reasons = []
        if timed_out:
            reasons.append(f"timed out after {timeout:g} seconds")
        if exit_code is not None and exit_code != 0:
            reasons.append(f"exited with exit code {exit_code}")
        elif signal_ is not None:
            reasons.append(f"terminated by signal {signal_}")
        self.fail_reason = ", ".join(reasons)
        if self.failed:
            logger.debug("Command '%s' failed (%s); output: %s",
                         cmd, self.fail_reason, self.output)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:
        return (f"<RunResult cmd={self.cmd!r} exit_code={self.exit_code}"
                f" signal={self.signal} failed={self.failed}>")


def _BuildCmdEnvironment(env: dict[str, str] | None,
                         reset_env: bool) -> dict[str, str]:
    # LC_ALL=C so that tools print the untranslated output we parse.
    cmd_env = {} if reset_env else os.environ.copy()
    cmd_env["LC_ALL"] = "C"
    if env:
        cmd_env.update(env)
    return cmd_env


def _CmdToString(cmd: list[str] | str) -> str:
    return cmd if isinstance(cmd, str) else utils_text.ShellQuoteArgs(cmd)


def _SignalGroup(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the child's process group (its session leader is the child)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        # The group is gone and its id reused by someone else's process.
        pass


def _Decode(data: bytes | None) -> str:
    return "" if not data else data.decode("utf-8", errors="replace")


def _WaitChild(proc: subprocess.Popen[bytes], timeout: float | None,
               linger: float) -> tuple[bytes | None, bytes | None, bool]:
    """Collect a child's output, enforcing timeout on its process group.

    Returns:
      (stdout, stderr, timed_out).
    """
    try:
        out, err = proc.communicate(timeout=timeout)
        return out, err, False
    except subprocess.TimeoutExpired:
        pass
    _SignalGroup(proc, signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=linger)
    except subprocess.TimeoutExpired:
        _SignalGroup(proc, signal.SIGKILL)
        out, err = proc.communicate()
    # Leftovers of the group that ignored SIGTERM must not outlive the call.
    _SignalGroup(proc, signal.SIGKILL)
    return out, err, True


def RunCmd(cmd: list[str] | str, env: dict[str, str] | None = None,
           output: str | None = None, cwd: str = "/", reset_env: bool = False,
           interactive: bool = False, timeout: float | None = None,
           noclose_fds: list[int] | None = None,
           input_fd: int | IO[bytes] | None = None,
           postfork_fn: Callable[[int], None] | None = None,
           _linger_timeout: float = CHILD_LINGER_TIMEOUT) -> RunResult:
    """Run a command and wait for it.

    Args:
      cmd: an argument list, or a string run through "/bin/sh -c".
      env: variables added to the environment (replacing it with reset_env).
        LC_ALL is always "C" unless env sets it.
      output: append stdout and stderr to this file instead of capturing.
      cwd: working directory of the command.
      reset_env: start from an empty environment.
      interactive: inherit our stdin/stdout/stderr (no capture).
      timeout: seconds after which the command's process group is stopped.
      noclose_fds: file descriptors the child keeps open.
      input_fd: the child's stdin (default /dev/null).
      postfork_fn: called with the child's pid right after it was started.
      _linger_timeout: seconds between SIGTERM and SIGKILL on timeout.

    Returns:
      a RunResult; a failing command is a result, not an exception.

    Raises:
      errors.CommandError: the command could not be started at all (program
        missing or not executable, bad cwd, unwritable output file).
      errors.ProgrammerError: interactive combined with output or input_fd.
    """
    if interactive and (output is not None or input_fd is not None):
        raise errors.ProgrammerError(
            "Parameters 'output'/'input_fd' and 'interactive' can't be combined")
    strcmd = _CmdToString(cmd)
    args = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    logger.debug("RunCmd %s", strcmd)
    try:
        proc, out_fh = _StartChild(args, _BuildCmdEnvironment(env, reset_env),
                                   output, cwd, interactive, noclose_fds,
                                   input_fd)
    except OSError as err:
        reason = err.strerror or str(err)
        raise errors.CommandError(f"Can't execute '{strcmd}': {reason}") from err
    try:
        if postfork_fn is not None:
            postfork_fn(proc.pid)
        out, err_out, timed_out = _WaitChild(proc, timeout, _linger_timeout)
    except BaseException:
        _SignalGroup(proc, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        if out_fh is not None:
            out_fh.close()
    status = proc.returncode
    exit_code, signal_ = (None, -status) if status < 0 else (status, None)
    return RunResult(exit_code, signal_, _Decode(out), _Decode(err_out), strcmd,
                     timeout=timeout, timed_out=timed_out, output_logfile=output)


def _StartChild(args: list[str], cmd_env: dict[str, str], output: str | None,
                cwd: str, interactive: bool, noclose_fds: list[int] | None,
                input_fd: int | IO[bytes] | None,
                ) -> tuple[subprocess.Popen[bytes], IO[bytes] | None]:
    """Start the child of RunCmd; returns it and the output file to close."""
    out_fh = None
    if interactive:
        stdin = stdout = stderr = None
    else:
        stdin = subprocess.DEVNULL if input_fd is None else input_fd
        if output is None:
            stdout, stderr = subprocess.PIPE, subprocess.PIPE
        else:
            out_fh = open(output, "ab")  # closed by RunCmd
            stdout, stderr = out_fh, subprocess.STDOUT
    try:
        proc = subprocess.Popen(
            args, stdin=stdin, stdout=stdout, stderr=stderr, env=cmd_env,
            cwd=cwd, close_fds=True, pass_fds=tuple(noclose_fds or ()),
            start_new_session=not interactive)
    except BaseException:
        if out_fh is not None:
            out_fh.close()
        raise
    return proc, out_fh


def IsProcessAlive(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return True
    # The state letter follows the command name, which is in parentheses and
    # may itself contain spaces and parentheses.
    fields = stat[stat.rfind(")") + 1:].split()
    return not fields or fields[0] not in ("Z", "X")


def ReadPidFile(pidfile: str) -> int:
    """Return the pid stored in pidfile, or 0 if it is missing or unreadable."""
    try:
        with open(pidfile, encoding="ascii") as fh:
            data = fh.read(64)
    except OSError as err:
        if err.errno != errno.ENOENT:
            logger.warning("Can't read pid file %s: %s", pidfile, err)
        return 0
    except UnicodeDecodeError:
        data = ""
    try:
        pid = int(data.strip())
    except ValueError:
        logger.warning("Can't parse pid file %s", pidfile)
        return 0
    return pid if pid > 0 else 0


def WritePidFile(pidfile: str) -> int:
    """Write our pid into pidfile and keep it locked for our lifetime.

    The lock (flock, exclusive) lives as long as the returned descriptor is
    open; it is close-on-exec, so programs we start do not inherit it.

    Returns:
      the descriptor holding the lock; keep it open.

    Raises:
      errors.PidFileLockError: another process holds the lock.
      errors.GenericError: the file could not be opened or written.
    """
    try:
        fd = os.open(pidfile, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise errors.GenericError(
            f"Can't open pid file {pidfile}: {err.strerror}") from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        os.close(fd)
        other = ReadPidFile(pidfile)
        who = f" (pid {other})" if other else ""
        raise errors.PidFileLockError(
            f"Can't lock pid file {pidfile}: the process is already"
            f" running{who}") from err
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        os.fsync(fd)
    except OSError as err:
        os.close(fd)
        raise errors.GenericError(
            f"Can't write pid file {pidfile}: {err.strerror}") from err
    return fd


def RemovePidFile(pidfile: str) -> None:
    """Remove a pid file at daemon shutdown (a missing one is fine)."""
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.warning("Can't remove pid file %s: %s", pidfile, err)


def _SendSignal(pid: int, sig: int, waitpid: bool) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    if waitpid:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def KillProcess(pid: int, signal_: int = signal.SIGTERM, timeout: float = 30,
                waitpid: bool = False) -> None:
    """Signal a process and wait for it to go, then SIGKILL it if needed.

    Args:
      pid: the process (must be positive).
      signal_: the first signal to send.
      timeout: seconds to wait before SIGKILL; 0 or less: don't wait.
      waitpid: the process is our child: reap it, so it leaves no zombie.

    Raises:
      errors.ProgrammerError: pid is not positive.
    """
    if pid <= 0:
        raise errors.ProgrammerError(f"Invalid pid given '{pid}'")
    if not IsProcessAlive(pid):
        return
    _SendSignal(pid, signal_, waitpid)
    if timeout <= 0:
        return

    def _CheckGone() -> None:
        if waitpid:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:
                pass
        if IsProcessAlive(pid):
            raise utils_retry.RetryAgain()

    try:
        utils_retry.Retry(_CheckGone, (0.01, 1.5, 0.1), timeout)
    except utils_retry.RetryTimeout:
        logger.warning("Process %s survived signal %s, sending SIGKILL",
                       pid, signal_)
        _SendSignal(pid, signal.SIGKILL, waitpid)
        if waitpid:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def CloseFDs(noclose_fds: list[int] | None = None) -> None:
    """Close every descriptor from 3 up, except those in noclose_fds."""
    max_fd = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if max_fd == resource.RLIM_INFINITY or max_fd > 1 << 20:
        max_fd = 1 << 20
    start = 3
    for keep in sorted(fd for fd in set(noclose_fds or ()) if fd >= 3):
        os.closerange(start, keep)
        start = keep + 1
    os.closerange(start, max_fd)


def _RedirectStdio(logfile: str) -> None:
    null_fd = os.open(os.devnull, os.O_RDONLY)
    log_fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    for fd in (null_fd, log_fd):
        if fd > 2:
            os.close(fd)


def _WaitForDaemonReport(read_fd: int) -> int:
    """In the original parent: relay the daemon's start-up report.

    Returns:
      the exit code for the parent: 0 on success, 1 if an error came back.
    """
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    message = b"".join(chunks).decode("utf-8", errors="replace")
    if not message:
        return 0
    sys.stderr.write(f"Error when starting daemon process: {message}\n")
    sys.stderr.flush()
    return 1


def Daemonize(logfile: str) -> int:
    """Detach this process into a daemon (double fork).

    The process calling this is split in three: the original process waits
    for the daemon's start-up report and then exits (os._exit) with 0 if the
    daemon reported success, or prints "Error when starting daemon process:
    <message>" to stderr and exits with 1; the intermediate child exits at
    once; the grandchild (the daemon) returns from this function. It runs in
    a new session, in "/", with umask 077, stdin on /dev/null and
    stdout/stderr appended to logfile.

    Start-up report: the daemon calls WriteErrorToFD(fd, message) if it
    cannot start (e.g. its port is in use), or CloseStartupFD(fd) once it
    is ready (e.g. after binding its port). A daemon that dies without
    reporting looks like a success to the caller, so the daemon should wrap
    its preparation in try/except.

    Call this before any thread is started.

    Args:
      logfile: file receiving the daemon's stdout and stderr.

    Returns:
      in the daemon: the write end of the start-up report pipe.
    """
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() != 0:
        os.close(write_fd)
        os._exit(_WaitForDaemonReport(read_fd))
    os.close(read_fd)
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    os.chdir("/")
    os.umask(0o077)
    _RedirectStdio(logfile)
    return write_fd


def WriteErrorToFD(fd: int, err: str) -> None:
    """Report a daemon start-up failure through Daemonize's pipe and close it."""
    message = (err or "Unknown error").encode("utf-8", errors="replace")
    try:
        while message:
            message = message[os.write(fd, message):]
    except OSError as werr:
        logger.error("Can't report start-up error to parent: %s", werr)
    finally:
        os.close(fd)


def CloseStartupFD(fd: int) -> None:
    """Report a successful daemon start-up through Daemonize's pipe."""
    try:
        os.close(fd)
    except OSError:
        pass


# Runs in a fresh, single-threaded interpreter (python -I): opens the pid
# file and the output, starts the daemon in a new session, prints its pid and
# exits without waiting, so init adopts the daemon. Errors go to stderr.
_START_DAEMON_HELPER = r"""
import fcntl, json, os, subprocess, sys
req = json.loads(sys.argv[1])
keep = []
if req["pidfile"]:
    lock_fd = os.open(req["pidfile"], os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("pid file %s is locked: the daemon is already running"
                 % req["pidfile"])
    keep.append(lock_fd)
out_path = req["output"] or os.devnull
out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
try:
    proc = subprocess.Popen(req["cmd"], stdin=subprocess.DEVNULL, stdout=out_fd,
                            stderr=out_fd, cwd=req["cwd"], close_fds=True,
                            pass_fds=keep, start_new_session=True)
except OSError as err:
    sys.exit("%s: %s" % (req["cmd"][0], err.strerror or err))
if keep:
    os.ftruncate(keep[0], 0)
    os.write(keep[0], b"%d\n" % proc.pid)
print(proc.pid)
"""


def StartDaemon(cmd: list[str] | str, env: dict[str, str] | None = None,
                cwd: str = "/", output: str | None = None,
                pidfile: str | None = None) -> int:
    """Start a detached process (new session, adopted by init).

    Args:
      cmd: argument list, or a string run through "/bin/sh -c".
      env: variables added to our environment (LC_ALL is set to "C").
      cwd: the daemon's working directory.
      output: file receiving its stdout and stderr (default /dev/null).
      pidfile: file that gets the daemon's pid and stays flock-ed by it for
        its lifetime (like WritePidFile).

    Returns:
      the daemon's pid.

    Raises:
      errors.CommandError: the daemon could not be started (program missing,
        bad cwd, output not writable, pid file locked by a running daemon).
    """
    args = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    request = {"cmd": args, "cwd": cwd, "output": output, "pidfile": pidfile}
    strcmd = _CmdToString(cmd)
    try:
        helper = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _START_DAEMON_HELPER,
             json.dumps(request)],
            env=_BuildCmdEnvironment(env, False), stdin=subprocess.DEVNULL,
            capture_output=True, check=False, close_fds=True)
    except OSError as err:
        raise errors.CommandError(
            f"Can't start daemon '{strcmd}': {err.strerror}") from err
    stdout = _Decode(helper.stdout).strip()
    if helper.returncode != 0 or not stdout.isdigit():
        detail = _Decode(helper.stderr).strip().splitlines()
        reason = detail[-1] if detail else f"helper exited with {helper.returncode}"
        raise errors.CommandError(f"Can't start daemon '{strcmd}': {reason}")
    return int(stdout)


def _IsExecutableFile(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def RunParts(dir_name: str, env: dict[str, str] | None = None,
             reset_env: bool = False, timeout: float | None = None,
             ) -> list[tuple[str, int, str]]:
    """Run the executables of a directory in name order (run-parts style).

    Only names matching constants.EXT_PLUGIN_MASK that are executable regular
    files are run; others are reported as skipped. Hidden files (".name")
    are ignored entirely, and a missing directory gives an empty list.

    Args:
      dir_name: the directory.
      env: environment for the scripts (see RunCmd).
      reset_env: start the scripts from an empty environment.
      timeout: per-script timeout in seconds (None: no limit).

    Returns:
      (name, status, output) per entry: status constants.HKR_SKIP (output ""),
      HKR_SUCCESS or HKR_FAIL (output: the script's stdout+stderr, stripped
      and SafeEncode-d, or why it could not be run).
    """
    try:
        names = sorted(n for n in os.listdir(dir_name) if not n.startswith("."))
    except OSError as err:
        if err.errno != errno.ENOENT:
            logger.warning("RunParts: skipping %s (cannot list: %s)", dir_name, err)
        return []
    results: list[tuple[str, int, str]] = []
    for name in names:
        path = os.path.join(dir_name, name)
        if not (_PLUGIN_NAME_RE.match(name) and _IsExecutableFile(path)):
            results.append((name, constants.HKR_SKIP, ""))
            continue
        try:
            result = RunCmd([path], env=env, reset_env=reset_env, timeout=timeout)
        except errors.CommandError as err:
            results.append((name, constants.HKR_FAIL,
                            f"Hook script execution error: {err}"))
            continue
        status = constants.HKR_FAIL if result.failed else constants.HKR_SUCCESS
        output = utils_text.SafeEncode(result.output.strip())
        if result.timed_out:
            output = f"{output}\n{result.fail_reason}".strip()
        results.append((name, status, output))
    return results

