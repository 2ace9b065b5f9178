"""gnt-instance console: reach the console of an instance.

The console description (Ganeti's objects.InstanceConsole: instance, kind,
message, host, port, user, command, display) comes from the instance
query's "console" field, as Ganeti 3.0's client asks for it, or from
OP_INSTANCE_CONSOLE when the query has none for a running instance. By kind:

* "msg": the message is printed (the fake hypervisor has no console);
* "vnc" / "spice": where the display listens is printed;
* "ssh": the command (e.g. socat on the serial console's socket) runs on the
  primary node through ssh, with the cluster's known_hosts and host key
  alias, as Ganeti's SshRunner builds it; --show-cmd prints that ssh
  command instead of running it.

On a virtual cluster every node is this machine, so the command runs here
directly in the node's environment (GANETI_ROOTDIR/GANETI_HOSTNAME, what
Ganeti's ssh command would export); --show-cmd prints that command line.
"""

from __future__ import annotations

import logging
import posixpath
import socket
from collections.abc import Callable
from typing import Any

from ganeti import cli, constants, errors, opcodes, pathutils, ssconf, vcluster
from ganeti.cli import ToStdout
from ganeti.utils import process
from ganeti.utils.text import ShellQuote, ShellQuoteArgs

logger = logging.getLogger(__name__)

# Console kinds (Ganeti's CONS_*).
CONS_SSH = "ssh"
CONS_VNC = "vnc"
CONS_SPICE = "spice"
CONS_MESSAGE = "msg"
CONS_ALL = frozenset([CONS_SSH, CONS_VNC, CONS_SPICE, CONS_MESSAGE])

# The fields each kind needs (besides instance and kind).
_REQUIRED_FIELDS = {
    CONS_MESSAGE: ("message",),
    CONS_SSH: ("host", "user", "command"),
    CONS_VNC: ("host", "port", "display"),
    CONS_SPICE: ("host", "port"),
}

SSH = "ssh"


def CheckConsole(console: dict[str, Any]) -> None:
    """Check a console description.

    Raises:
      errors.GenericError: an unknown kind, or a field the kind needs is
        missing.
    """
    kind = console.get("kind")
    if kind not in CONS_ALL:
        raise errors.GenericError(f"Unknown console type '{kind}'")
    missing = [field for field in _REQUIRED_FIELDS[kind]
               if console.get(field) is None]
    if missing:
        raise errors.GenericError(
            f"Console description of kind '{kind}' lacks {', '.join(missing)}")


def _UsesIPv6() -> bool:
    """Whether the cluster's nodes have IPv6 primary addresses (ssconf)."""
    try:
        family = ssconf.SimpleStore().GetPrimaryIPFamily()
    except errors.GenericError:
        return False
    return family == socket.AF_INET6


def EnvironmentForHost(hostname: str) -> dict[str, str]:
    """The environment of a node of this virtual cluster ({} if not virtual).

    Ganeti's vcluster.EnvironmentForHost: the node's root below the base
    directory, and its name.
    """
    basedir = vcluster.GetBaseDirectory()
    if not basedir:
        return {}
    return {constants.ENV_ROOTDIR: posixpath.join(basedir, hostname),
            constants.ENV_HOSTNAME: hostname}


def BuildSshCmd(cluster_name: str, host: str, user: str, command: str,
                port: int | None = None, ipv6: bool = False) -> list[str]:
    """The ssh command line of an interactive console (Ganeti's SshRunner).

    Batch mode, strict host key checking against the cluster's known_hosts
    under the cluster name as host key alias, a forced tty, no escape
    character; for a virtual node the node's environment is exported first.
    """
    argv = [
        SSH,
        "-oEscapeChar=none",
        "-oHashKnownHosts=no",
        f"-oGlobalKnownHostsFile={pathutils.SSH_KNOWN_HOSTS_FILE}",
        "-oUserKnownHostsFile=/dev/null",
        "-oCheckHostIp=no",
        f"-oHostKeyAlias={cluster_name}",
    ]
    if port:
        argv.append(f"-oPort={int(port)}")
    argv += ["-oBatchMode=yes", "-oStrictHostKeyChecking=yes",
             "-6" if ipv6 else "-4", "-t", "-t", f"{user}@{host}"]
    argv += [f"export {ShellQuote(name)}={ShellQuote(value)};"
             for (name, value) in EnvironmentForHost(host).items()]
    argv.append(command)
    return argv


def _CommandText(command: Any) -> str:
    return command if isinstance(command, str) else ShellQuoteArgs(command)


def BuildLocalCmd(console: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) running an ssh console's command on this machine.

    A command given as text runs through /bin/sh, as ssh would run it.
    """
    command = console["command"]
    argv = (["/bin/sh", "-c", command] if isinstance(command, str)
            else [str(arg) for arg in command])
    return argv, EnvironmentForHost(console["host"])


def _RunConsole(console: dict[str, Any], cluster_name: str, show_command: bool,
                feedback_fn: Callable[..., None],
                runcmd_fn: Callable[..., Any]) -> None:
    """Show or run the command of an "ssh" console.

    Raises:
      errors.OpExecError: the console command failed.
    """
    if vcluster.IsVirtual():
        argv, env = BuildLocalCmd(console)
        if show_command:
            feedback_fn(ShellQuoteArgs(
                ["env"] + [f"{key}={value}" for key, value in env.items()]
                + argv))
            return
        result = runcmd_fn(argv, env=env, interactive=True)
    else:
        ssh_cmd = BuildSshCmd(cluster_name, console["host"], console["user"],
                              _CommandText(console["command"]),
                              port=console.get("port"), ipv6=_UsesIPv6())
        if show_command:
            feedback_fn(ShellQuoteArgs(ssh_cmd))
            return
        result = runcmd_fn(ssh_cmd, interactive=True)
    if result.failed:
        logger.error("Console command \"%s\" failed with reason '%s' and output"
                     " %r", result.cmd, result.fail_reason, result.output)
        raise errors.OpExecError(
            f"Connection to console of instance {console['instance']} failed,"
            " please check cluster configuration")


def DoConsole(console: dict[str, Any], show_command: bool, cluster_name: str,
              feedback_fn: Callable[..., None] = ToStdout,
              runcmd_fn: Callable[..., Any] = process.RunCmd) -> int:
    """Act on a console description (see the module doc).

    Returns:
      EXIT_SUCCESS.

    Raises:
      errors.GenericError: a malformed description.
      errors.OpExecError: the console command failed.
    """
    CheckConsole(console)
    kind = console["kind"]
    if kind == CONS_MESSAGE:
        feedback_fn(console["message"])
    elif kind == CONS_VNC:
        feedback_fn("Instance %s has VNC listening on %s:%s (display %s),"
                    " URL <vnc://%s:%s/>", console["instance"], console["host"],
                    console["port"], console["display"], console["host"],
                    console["port"])
    elif kind == CONS_SPICE:
        feedback_fn("Instance %s has SPICE listening on %s:%s",
                    console["instance"], console["host"], console["port"])
    else:
        _RunConsole(console, cluster_name, show_command, feedback_fn, runcmd_fn)
    return cli.EXIT_SUCCESS


def _QueryConsole(instance_name: str) -> tuple[str, Any, Any]:
    """(cluster name, console data, oper_state) from the master daemon.

    Raises:
      errors.OpPrereqError: the instance does not exist.
    """
    cl = cli.GetClient()
    try:
        cluster_name = cl.QueryConfigValues(["cluster_name"])[0]
        idata = cl.QueryInstances([instance_name], ["console", "oper_state"],
                                  False)
    finally:
        # No connection stays open while the console runs.
        cl.Close()
    if not idata:
        raise errors.OpPrereqError(f"Instance '{instance_name}' does not exist",
                                   errors.ECODE_NOENT)
    (console_data, oper_state) = idata[0]
    return cluster_name, console_data, oper_state


def ConnectToInstanceConsole(opts: Any, args: list[str]) -> int:
    """gnt-instance console: connect to (or show) an instance's console.

    Raises:
      errors.OpExecError: the instance is not running, or its console is
        unavailable or fails.
    """
    instance_name = args[0]
    (cluster_name, console_data, oper_state) = _QueryConsole(instance_name)
    if not console_data and oper_state:
        # The query knows the instance runs but has no console for it: ask
        # the logical unit, which asks the hypervisor.
        console_data = cli.SubmitOpCode(
            opcodes.OpInstanceConsole(instance_name=instance_name), opts=opts)
    if not console_data:
        if oper_state:
            raise errors.OpExecError(f"Console information for instance"
                                     f" {instance_name} is unavailable")
        raise errors.OpExecError(f"Instance {instance_name} is not running,"
                                 " can't get console")
    return DoConsole(console_data, opts.show_command, cluster_name)


__all__ = ["ConnectToInstanceConsole", "DoConsole", "BuildSshCmd",
           "BuildLocalCmd", "CheckConsole", "EnvironmentForHost"]
