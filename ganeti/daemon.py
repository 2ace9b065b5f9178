"""Start-up shared by Ganeti's daemons (noded, masterd, rapi).

Mirrors the GenericMain of Ganeti's lib/daemon.py: common options, logging,
daemonisation with a start-up report, the pid file, signals. The order of
start-up matters and is:

  parse options -> check_fn -> create dirs -> daemonize (unless -f)
  -> pid file (locked) -> logging -> prepare_fn (e.g. bind the port)
  -> report "started" to the waiting parent -> exec_fn (serve)
  -> remove pid file, exit 0

so that `ganeti-noded` (without -f) exits 0 only once the daemon really
listens, and exits 1 with the reason (port in use, already running...)
otherwise.

Signals: GenericMain makes SIGTERM and SIGINT raise SystemExit(0) in the
main thread, so any daemon ends cleanly and removes its pid file. A daemon
whose exec_fn runs a server calls InstallShutdownHandlers(server.Stop) to
get a graceful stop instead (finish in-flight requests, then return).
"""

from __future__ import annotations

import logging
import logging.handlers
import optparse
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn

from ganeti import constants, errors, pathutils, ssconf
from ganeti.utils import process as utils_process

EXIT_SUCCESS = 0
EXIT_FAILURE = 1

# Stack of every thread a daemon starts (one per connection in the HTTP
# server): Python frames live on the heap, so 512 KiB is plenty and keeps
# hundreds of connections cheap, also under mlockall (noded).
THREAD_STACK_SIZE = 512 * 1024

SYSLOG_NO = "no"
SYSLOG_YES = "yes"
SYSLOG_ONLY = "only"
SYSLOG_CHOICES = (SYSLOG_NO, SYSLOG_YES, SYSLOG_ONLY)
_SYSLOG_SOCKET = "/dev/log"

_MCL_CURRENT = 1
_MCL_FUTURE = 2
_MCL_ONFAULT = 4

CheckFn = Callable[[optparse.Values, list[str]], None]
PrepareFn = Callable[[optparse.Values, list[str]], Any]
ExecFn = Callable[[optparse.Values, list[str], Any], None]


# --- small helpers others use too ---------------------------------------------

def GetDaemonPort(daemon_name: str) -> int:
    """Return a daemon's TCP/UDP port.

    The services database (/etc/services) entry named like the daemon wins
    over the built-in default (constants.DAEMONS_PORTS), as in Ganeti.
    ganeti.netutils.GetDaemonPort is used when it exists.

    Raises:
      errors.ProgrammerError: the daemon has no network port.
    """
    try:
        from ganeti import netutils  # optional; written in parallel
        return netutils.GetDaemonPort(daemon_name)
    except (ImportError, AttributeError):
        pass
    if daemon_name not in constants.DAEMONS_PORTS:
        raise errors.ProgrammerError(f"Daemon {daemon_name} has no port")
    proto, default = constants.DAEMONS_PORTS[daemon_name]
    try:
        return socket.getservbyname(daemon_name, proto)
    except OSError:
        return default


def _DefaultBindAddress() -> str:
    """0.0.0.0, or :: on a cluster whose primary IPs are IPv6 (ssconf)."""
    try:
        family = ssconf.SimpleStore().GetPrimaryIPFamily()
    except errors.ConfigurationError:
        # No ssconf yet (node not in a cluster): IPv4, as Ganeti does.
        return constants.IP4_ADDRESS_ANY
    if family == constants.IP6_FAMILY:
        return constants.IP6_ADDRESS_ANY
    return constants.IP4_ADDRESS_ANY


def Mlockall() -> bool:
    """Lock the process' current and future memory in RAM (mlockall).

    noded does this so that it keeps working (e.g. for node powercycle)
    when the root disk is failing. Failure is logged, not raised.

    Returns:
      Whether the memory is locked.
    """
    try:
        import ctypes
    except ImportError:
        logging.warning("Cannot set memory lock: ctypes module not found")
        return False
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        libc = ctypes.CDLL(None, use_errno=True)
    # Everything mapped now (interpreter, libraries, loaded modules) is
    # faulted in and locked at once. Future mappings are locked as they are
    # touched (MCL_ONFAULT, Linux 4.4+): with plain MCL_FUTURE every thread
    # stack and malloc arena would be populated in full (512 KiB per
    # connection thread), pushing a busy noded far above 60 MB. Pages
    # faulted later are anonymous memory, which needs no disk to appear.
    if libc.mlockall(_MCL_CURRENT) != 0:
        err = ctypes.get_errno()
        logging.warning("Cannot set memory lock: %s", os.strerror(err))
        return False
    if libc.mlockall(_MCL_FUTURE | _MCL_ONFAULT) != 0:
        if libc.mlockall(_MCL_CURRENT | _MCL_FUTURE) != 0:
            err = ctypes.get_errno()
            logging.warning("Cannot lock future memory: %s", os.strerror(err))
    logging.debug("Memory locked in RAM (mlockall)")
    return True


def InstallShutdownHandlers(stop_fn: Callable[[], None]) -> None:
    """Call stop_fn (in the main thread) on SIGTERM and SIGINT.

    stop_fn must be quick and idempotent, such as HttpServer.Stop; a second
    signal calls it again.
    """

    def _Handler(signum: int, _frame: Any) -> None:
        logging.info("Received %s, shutting down", signal.Signals(signum).name)
        stop_fn()

    signal.signal(signal.SIGTERM, _Handler)
    signal.signal(signal.SIGINT, _Handler)


def FormatError(err: BaseException) -> str:
    """A one-line message for an exception raised at start-up.

    Ganeti errors carrying (subject, message), such as X509CertError, show
    the message; others their usual text.
    """
    if isinstance(err, errors.X509CertError) and len(err.args) == 2:
        return str(err.args[1])
    if isinstance(err, OSError) and err.strerror and err.filename:
        return f"{err.filename}: {err.strerror}"
    if len(err.args) == 1:
        return str(err.args[0])
    return str(err)


def _ExitOnSignal(signum: int, _frame: Any) -> NoReturn:
    logging.info("Received %s, exiting", signal.Signals(signum).name)
    raise SystemExit(EXIT_SUCCESS)


# --- logging ------------------------------------------------------------------

def _SyslogOption(option: optparse.Option, opt_str: str, _value: Any,
                  parser: optparse.OptionParser) -> None:
    """--syslog [no|yes|only]: a bare --syslog means "only"."""
    if parser.rargs and parser.rargs[0] in SYSLOG_CHOICES:
        value = parser.rargs.pop(0)
    elif parser.rargs and not parser.rargs[0].startswith("-"):
        raise optparse.OptionValueError(
            f"option {opt_str}: invalid choice: {parser.rargs[0]!r} (choose from"
            f" {', '.join(SYSLOG_CHOICES)})")
    else:
        value = SYSLOG_ONLY
    setattr(parser.values, option.dest, value)


def SetupLogging(logfile: str, program: str, debug: bool = False,
                 stderr_logging: bool = False, multithreaded: bool = False,
                 syslog: str = SYSLOG_NO) -> None:
    """Configure the root logger of a daemon.

    Lines look like Ganeti's: "<time>: <program> pid=<pid>[/<thread>]
    [<module>:<line>] <LEVEL> <message>". The log file is reopened when
    logrotate moves it away.

    Args:
      logfile: the daemon's log file (unless syslog is "only").
      program: the daemon's name, shown in every line.
      debug: log DEBUG messages (with module and line) too.
      stderr_logging: also log to stderr (foreground mode).
      multithreaded: show the thread name.
      syslog: "no", "yes" (file and syslog, without debug) or "only".
    """
    fmt = f"%(asctime)s: {program} pid=%(process)d"
    if multithreaded:
        fmt += "/%(threadName)s"
    if debug:
        fmt += " %(module)s:%(lineno)s"
    fmt += " %(levelname)s %(message)s"
    formatter = logging.Formatter(fmt)
    root = logging.getLogger("")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    problems = []
    if syslog in (SYSLOG_YES, SYSLOG_ONLY):
        try:
            sys_handler = logging.handlers.SysLogHandler(
                address=_SYSLOG_SOCKET,
                facility=logging.handlers.SysLogHandler.LOG_DAEMON)
            sys_handler.setFormatter(logging.Formatter(
                f"{program} pid=%(process)d: %(levelname)s %(message)s"))
            sys_handler.setLevel(logging.INFO)
            root.addHandler(sys_handler)
        except OSError as err:
            problems.append(f"cannot log to syslog ({err}), using {logfile}")
            syslog = SYSLOG_NO
    if syslog != SYSLOG_ONLY:
        try:
            file_handler = logging.handlers.WatchedFileHandler(logfile,
                                                               encoding="utf-8")
            file_handler.setFormatter(formatter)
            root.addHandler(file_handler)
        except OSError as err:
            problems.append(f"cannot open log file {logfile}: {err}")
            stderr_logging = True
    if stderr_logging:
        stderr_handler = logging.StreamHandler(sys.stderr)
        stderr_handler.setFormatter(formatter)
        root.addHandler(stderr_handler)
    for problem in problems:
        logging.warning("Logging: %s", problem)


# --- GenericMain ----------------------------------------------------------------

def _AddCommonOptions(parser: optparse.OptionParser, daemon_name: str,
                      default_ssl_cert: str | None,
                      default_ssl_key: str | None) -> None:
    """Add -f, -d, --syslog, and -p/-b and SSL options where they apply."""
    parser.add_option("-f", "--foreground", dest="fork", default=True,
                      action="store_false",
                      help="Don't detach from the current terminal")
    parser.add_option("-d", "--debug", dest="debug", default=False,
                      action="store_true", help="Enable some debug messages")
    parser.add_option("--syslog", dest="syslog", default=SYSLOG_NO,
                      action="callback", callback=_SyslogOption,
                      help="Log to syslog: 'no', 'yes' (file and syslog) or"
                      " 'only' (the default when given without a value)")
    if daemon_name in constants.DAEMONS_PORTS:
        default_port = GetDaemonPort(daemon_name)
        default_bind = _DefaultBindAddress()
        parser.add_option("-p", "--port", dest="port", type="int",
                          default=default_port,
                          help=f"Network port (default: {default_port})")
        parser.add_option("-b", "--bind", dest="bind_address", metavar="ADDRESS",
                          default=default_bind,
                          help=f"Bind address (default: '{default_bind}')")
    if default_ssl_cert is not None and default_ssl_key is not None:
        parser.add_option("--no-ssl", dest="ssl", default=True,
                          action="store_false",
                          help="Do not secure HTTP protocol with SSL")
        parser.add_option("-K", "--ssl-key", dest="ssl_key", type="string",
                          default=default_ssl_key, metavar="SSL_KEY_PATH",
                          help=f"SSL key path (default: {default_ssl_key})")
        parser.add_option("-C", "--ssl-cert", dest="ssl_cert", type="string",
                          default=default_ssl_cert, metavar="SSL_CERT_PATH",
                          help=f"SSL certificate path (default: {default_ssl_cert})")


def _CheckSslFiles(options: optparse.Values) -> None:
    """Exit with a message if an SSL file is missing."""
    if not getattr(options, "ssl", False):
        return
    for name, path in (("certificate", options.ssl_cert), ("key", options.ssl_key)):
        if not os.path.isfile(path):
            sys.stderr.write(f"SSL {name} file '{path}' was not found\n")
            sys.exit(EXIT_FAILURE)


def _EnsureDaemonDirs(daemon_name: str) -> None:
    """Create the run and log directories; exit with a message on failure."""
    for path, mode in ((pathutils.RUN_DIR, 0o775), (pathutils.LOG_DIR, 0o750),
                       (os.path.dirname(pathutils.GetLogFilename(daemon_name)),
                        0o750)):
        try:
            os.makedirs(path, mode=mode, exist_ok=True)
        except OSError as err:
            sys.stderr.write(f"Cannot create directory {path}: {err.strerror}\n")
            sys.exit(EXIT_FAILURE)


def _Fail(startup_fd: int | None, message: str) -> NoReturn:
    """Report a start-up failure (to the waiting parent or stderr), exit 1."""
    logging.error("%s", message)
    if startup_fd is not None:
        utils_process.WriteErrorToFD(startup_fd, message)
    else:
        sys.stderr.write(f"{message}\n")
    sys.exit(EXIT_FAILURE)


def _RemovePidFile(pidfile: str, pid_fd: int) -> None:
    """Remove our pid file (only if it still names us) and release its lock."""
    try:
        if utils_process.ReadPidFile(pidfile) == os.getpid():
            os.unlink(pidfile)
    except OSError as err:
        logging.warning("Cannot remove pid file %s: %s", pidfile, err)
    os.close(pid_fd)


def GenericMain(daemon_name: str, optionparser: optparse.OptionParser,
                check_fn: CheckFn | None, prepare_fn: PrepareFn | None,
                exec_fn: ExecFn, multithreaded: bool = True,
                console_logging: bool = False,
                default_ssl_cert: str | None = None,
                default_ssl_key: str | None = None,
                warn_breach: bool = False) -> NoReturn:
    """Run a daemon: options, daemonize, pid file, logging, serve, exit.

    Args:
      daemon_name: e.g. constants.NODED; names the pid and log files, and
        the services database entry for the port.
      optionparser: parser with the daemon's own options; the common ones
        (-f, -d, --syslog, -p, -b, --no-ssl, -K, -C) are added here.
      check_fn: (options, args) -> None, before daemonizing; may sys.exit.
      prepare_fn: (options, args) -> prep_data, in the daemon with the pid
        file held, before the parent is told the start worked; raise
        errors.GenericError or OSError with a clear message to fail.
      exec_fn: (options, args, prep_data) -> None, runs the daemon.
      multithreaded: the daemon uses threads (small stacks, thread names in
        the log).
      console_logging: accepted for Ganeti compatibility (unused).
      default_ssl_cert, default_ssl_key: enable --no-ssl/-K/-C.
      warn_breach: print a warning that -d may log private parameters.

    Exits with 0 after a clean stop, 1 if the daemon could not start.
    """
    del console_logging  # Ganeti's console fallback; stderr is used instead
    _AddCommonOptions(optionparser, daemon_name, default_ssl_cert, default_ssl_key)
    options, args = optionparser.parse_args()
    if warn_breach and options.debug:
        sys.stderr.write(f"WARNING: {daemon_name} in debug mode may log private"
                         " parameters (e.g. osparams_private) in clear text\n")
    _CheckSslFiles(options)
    if check_fn is not None:
        check_fn(options, args)
    _EnsureDaemonDirs(daemon_name)
    if multithreaded:
        threading.stack_size(THREAD_STACK_SIZE)
    startup_fd = None
    if options.fork:
        utils_process.CloseFDs()
        startup_fd = utils_process.Daemonize(pathutils.GetLogFilename(daemon_name))
    signal.signal(signal.SIGTERM, _ExitOnSignal)
    signal.signal(signal.SIGINT, _ExitOnSignal)
    _RunWithPidFile(daemon_name, options, args, prepare_fn, exec_fn,
                    multithreaded, startup_fd)
    logging.info("%s daemon shutdown", daemon_name)
    logging.shutdown()
    sys.exit(EXIT_SUCCESS)


def _RunWithPidFile(daemon_name: str, options: optparse.Values, args: list[str],
                    prepare_fn: PrepareFn | None, exec_fn: ExecFn,
                    multithreaded: bool, startup_fd: int | None) -> None:
    """Hold the pid file while logging is set up, the daemon prepared and run.

    A start-up failure ends the process (exit 1) after the pid file is gone.
    """
    pidfile = pathutils.GetPidFilename(daemon_name)
    try:
        pid_fd = utils_process.WritePidFile(pidfile)
    except errors.GenericError as err:
        _Fail(startup_fd, f"{daemon_name}: {err}")
    failure = None
    try:
        SetupLogging(pathutils.GetLogFilename(daemon_name), daemon_name,
                     debug=options.debug, stderr_logging=not options.fork,
                     multithreaded=multithreaded, syslog=options.syslog)
        logging.info("%s daemon startup", daemon_name)
        try:
            prep_data = _Prepare(prepare_fn, options, args)
        except _StartupFailure as err:
            failure = f"{daemon_name}: {err}"
        else:
            if startup_fd is not None:
                utils_process.CloseStartupFD(startup_fd)
                startup_fd = None
            exec_fn(options, args, prep_data)
    finally:
        _RemovePidFile(pidfile, pid_fd)
    if failure is not None:
        # Reported only now, so that the pid file is gone when the waiting
        # parent (or daemon-util) hears of the failure.
        _Fail(startup_fd, failure)


class _StartupFailure(Exception):
    """prepare_fn failed; the message says why (internal to GenericMain)."""


def _Prepare(prepare_fn: PrepareFn | None, options: optparse.Values,
             args: list[str]) -> Any:
    """Run prepare_fn.

    Raises:
      _StartupFailure: prepare_fn failed; the message is for the user.
    """
    if prepare_fn is None:
        return None
    try:
        return prepare_fn(options, args)
    except (errors.GenericError, OSError) as err:
        raise _StartupFailure(FormatError(err)) from err
    except Exception as err:  # noqa: BLE001  (start-up boundary of a daemon)
        logging.exception("Unexpected error during start-up")
        raise _StartupFailure(f"unexpected error: {err}") from err
