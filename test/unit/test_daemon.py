"""Tests of ganeti.daemon (GenericMain) and daemons/daemon-util.

GenericMain is exercised through a tiny daemon program written to tmp_path,
run as a real process in a virtual node root (GANETI_ROOTDIR), in the
foreground and detached. daemon-util is run against the real ganeti-noded.
Every process started here is stopped by its pid.
"""

import logging
import optparse
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from ganeti import constants, daemon
from ganeti.utils import x509

_TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_DAEMON_UTIL = os.path.join(_TREE, "daemons", "daemon-util")

# A daemon as masterd or rapi would write one: prepare may fail on request,
# exec serves until SIGTERM.
_TEST_DAEMON = """
import optparse, os, sys, threading
from ganeti import daemon, errors

def Prepare(options, args):
    if os.environ.get("TESTD_FAIL"):
        raise errors.GenericError("cannot bind: " + os.environ["TESTD_FAIL"])
    return threading.Event()

def Exec(options, args, stop):
    daemon.InstallShutdownHandlers(stop.set)
    while not stop.wait(0.05):
        pass

parser = optparse.OptionParser()
daemon.GenericMain("ganeti-testd", parser, None, Prepare, Exec)
"""


@pytest.fixture
def node_env(tmp_path):
    root = tmp_path / "node1"
    root.mkdir()
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME="node1",
               PYTHONPATH=_TREE)
    return root, env


@pytest.fixture
def testd(tmp_path, node_env):
    """Run the test daemon; kill whatever it left running at the end."""
    root, env = node_env
    script = tmp_path / "testd.py"
    script.write_text(_TEST_DAEMON)
    pidfile = root / "var" / "run" / "ganeti" / "ganeti-testd.pid"
    procs = []

    def _Run(*args, extra_env=None, wait=True):
        run_env = dict(env, **(extra_env or {}))
        proc = subprocess.Popen([sys.executable, str(script), *args], env=run_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        if wait:
            out, err = proc.communicate(timeout=30)
            return proc.returncode, out, err
        return proc

    yield _Run, root, pidfile
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _KillPidFile(pidfile)


def _KillPidFile(pidfile):
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _WaitFor(cond, timeout=15):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def _Alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_foreground_daemon_stops_on_sigterm_and_removes_pidfile(testd):
    run, root, pidfile = testd
    proc = run("-f", "-d", wait=False)
    _WaitFor(pidfile.exists)
    _WaitFor(lambda: pidfile.read_text().strip() == str(proc.pid))
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert not pidfile.exists()
    log = (root / "var" / "log" / "ganeti" / "ganeti-testd.log").read_text()
    assert f"ganeti-testd pid={proc.pid}/MainThread" in log
    assert "INFO ganeti-testd daemon startup" in log
    assert "Received SIGTERM" in log
    assert "ganeti-testd daemon shutdown" in err  # -f also logs to stderr


def test_detached_daemon_reports_success_once_prepared(testd):
    run, _, pidfile = testd
    code, out, err = run()
    assert (code, err) == (0, "")
    pid = int(pidfile.read_text())
    assert _Alive(pid)
    # A second instance is refused while the first holds the pid file.
    code, _, err = run("-f")
    assert code == 1
    assert "already running" in err and str(pid) in err
    os.kill(pid, signal.SIGTERM)
    _WaitFor(lambda: not _Alive(pid))
    assert not pidfile.exists()


def test_detached_daemon_failure_is_reported_by_the_parent(testd):
    run, root, pidfile = testd
    code, _, err = run(extra_env={"TESTD_FAIL": "port 1811 in use"})
    assert code == 1
    assert "cannot bind: port 1811 in use" in err
    assert not pidfile.exists()
    log = (root / "var" / "log" / "ganeti" / "ganeti-testd.log").read_text()
    assert "cannot bind: port 1811 in use" in log


def test_foreground_failure_exits_1_with_message(testd):
    run, _, pidfile = testd
    code, _, err = run("-f", extra_env={"TESTD_FAIL": "nope"})
    assert code == 1
    assert "cannot bind: nope" in err
    assert not pidfile.exists()


def test_common_options():
    parser = optparse.OptionParser()
    daemon._AddCommonOptions(parser, constants.NODED, "/c.pem", "/k.pem")
    opts, args = parser.parse_args([])
    assert (opts.fork, opts.debug, opts.syslog, opts.ssl) == (True, False, "no", True)
    assert opts.port == daemon.GetDaemonPort(constants.NODED)
    assert (opts.ssl_cert, opts.ssl_key) == ("/c.pem", "/k.pem")
    opts, args = parser.parse_args(["-f", "-d", "--syslog", "-p", "99", "-b", "::1",
                                    "--no-ssl", "x"])
    assert (opts.fork, opts.debug, opts.syslog, opts.port, opts.bind_address,
            opts.ssl, args) == (False, True, "only", 99, "::1", False, ["x"])
    opts, _ = parser.parse_args(["--syslog", "yes", "-f"])
    assert opts.syslog == "yes"
    with pytest.raises(SystemExit):
        parser.parse_args(["--syslog", "sometimes"])


def test_daemons_without_port_have_no_network_options():
    parser = optparse.OptionParser()
    daemon._AddCommonOptions(parser, constants.MASTERD, None, None)
    opts, _ = parser.parse_args([])
    assert not hasattr(opts, "port") and not hasattr(opts, "ssl")


def test_daemon_port_defaults_to_services_or_constant():
    try:
        expected = socket.getservbyname(constants.NODED, "tcp")
    except OSError:
        expected = constants.DEFAULT_NODED_PORT
    assert daemon.GetDaemonPort(constants.NODED) == expected


def test_setup_logging_format(tmp_path):
    root = logging.getLogger("")
    saved = (list(root.handlers), root.level)
    logfile = tmp_path / "x.log"
    try:
        daemon.SetupLogging(str(logfile), "ganeti-x", debug=True, multithreaded=True)
        logging.getLogger("ganeti.test").debug("hello %s", "world")
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    line = logfile.read_text()
    assert f": ganeti-x pid={os.getpid()}/MainThread test_daemon:" in line
    assert line.rstrip().endswith("DEBUG hello world")


def test_mlockall_locks_memory_in_a_child():
    code = ("from ganeti import daemon\n"
            "ok = daemon.Mlockall()\n"
            "lck = [l for l in open('/proc/self/status') if l.startswith('VmLck')]\n"
            "print(ok, int(lck[0].split()[1]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=30, env=dict(os.environ, PYTHONPATH=_TREE))
    ok, locked_kb = out.stdout.split()
    # Without CAP_IPC_LOCK the lock may fail: then it is a warning, not fatal.
    if ok == "True":
        assert int(locked_kb) > 1000
    else:
        assert "Cannot set memory lock" in out.stderr


# --- daemon-util ----------------------------------------------------------------

def _Util(env, *args):
    return subprocess.run([_DAEMON_UTIL, *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_daemon_util_names(node_env):
    _, env = node_env
    for name in ("ganeti-noded", "ganeti-masterd", "ganeti-rapi"):
        assert _Util(env, "is-daemon-name", name).returncode == 0
    assert _Util(env, "is-daemon-name", "ganeti-nosuchd").returncode == 1
    result = _Util(env, "start", "sshd")
    assert result.returncode == 1 and "unknown daemon 'sshd'" in result.stderr
    assert _Util(env, "frobnicate", "ganeti-noded").returncode == 1
    assert _Util(env).returncode == 1


def test_daemon_util_start_check_stop_noded(node_env, tmp_path):
    root, env = node_env
    data_dir = root / "var" / "lib" / "ganeti"
    data_dir.mkdir(parents=True)
    x509.GenerateSelfSignedSslCert(str(data_dir / "server.pem"), 1, "c.example.com")
    pidfile = root / "var" / "run" / "ganeti" / "ganeti-noded.pid"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
        sock.listen()
        # The port is taken: start fails and says why.
        result = _Util(env, "start", "ganeti-noded", "--no-mlock", "-b", "127.0.0.1",
                       "-p", port)
        assert result.returncode == 1
        assert "Address already in use" in result.stderr
    try:
        assert _Util(env, "check", "ganeti-noded").returncode == 1
        args = ["--no-mlock", "-b", "127.0.0.1", "-p", port]
        assert _Util(env, "start", "ganeti-noded", *args).returncode == 0
        pid = int(pidfile.read_text())
        assert _Alive(pid)
        assert _Util(env, "check", "ganeti-noded").returncode == 0
        again = _Util(env, "start", "ganeti-noded", *args)
        assert again.returncode == 0 and "already running" in again.stdout
        assert _Util(env, "stop", "ganeti-noded").returncode == 0
        assert not _Alive(pid)
        assert not pidfile.exists()
        assert _Util(env, "check", "ganeti-noded").returncode == 1
        assert _Util(env, "stop", "ganeti-noded").returncode == 0
    finally:
        _KillPidFile(pidfile)


def test_daemon_util_ignores_stale_pidfile(node_env):
    root, env = node_env
    run_dir = root / "var" / "run" / "ganeti"
    run_dir.mkdir(parents=True)
    # Our own pid: alive, but not holding the pid file's lock.
    (run_dir / "ganeti-noded.pid").write_text(f"{os.getpid()}\n")
    assert _Util(env, "check", "ganeti-noded").returncode == 1
    assert _Util(env, "stop", "ganeti-noded").returncode == 0
    assert _Alive(os.getpid())
